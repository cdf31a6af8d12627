/**
 * Loosenings (table.ts) gathered into one `guards:` section on top of the rules a policy inherits.
 *
 * A list a policy sets replaces the inherited one (rules-compile.ts), so a list entry is written
 * together with everything the base already had; flags are set, the OOM floor lowered, and binds
 * added (a path seen both read-only and writable is allowed writable). Each entry keeps the tags of
 * what asked for it, so `dockgate learn` can say how often and by whom.
 */
import type { GuardRules } from '../guards/rules.js'
import type { GuardKey, Loosening } from './table.js'

/** The inherited entries of each list key (policy spelling). null: no list (no allowlist in force). */
const LISTS: Readonly<Record<GuardKey, (r: GuardRules) => readonly string[] | null>> = {
  'container.capabilities': (r) => r.container.capabilities.map((c) => c.replace(/^CAP_/, '')),
  'container.namespaces.network': (r) => r.container.namespaces.network.patterns,
  'container.namespaces.pid': (r) => r.container.namespaces.pid.patterns,
  'container.namespaces.ipc': (r) => r.container.namespaces.ipc.patterns,
  'container.namespaces.uts': (r) => r.container.namespaces.uts.patterns,
  'container.namespaces.userns': (r) => r.container.namespaces.userns.patterns,
  'container.namespaces.cgroupns': (r) => r.container.namespaces.cgroupns.patterns,
  'container.namespaces.cgroup': (r) => r.container.namespaces.cgroup.patterns,
  'container.volumes_from': (r) => r.container.volumesFrom.patterns,
  'container.devices': (r) => r.container.devices.patterns,
  'container.device_cgroup_rules': (r) => r.container.deviceCgroupRules,
  'container.security_opt': (r) => r.container.securityOpt,
  'container.sysctls': (r) => r.container.sysctls.patterns,
  'container.cgroup_parents': (r) => r.container.cgroupParents.patterns,
  'container.runtimes': (r) => r.container.runtimes,
  'container.group_add': (r) => r.container.groupAdd.patterns,
  'container.ulimits': (r) => r.container.ulimits.patterns,
  'container.annotations': (r) => r.container.annotations.patterns,
  'container.log_drivers': (r) => r.container.logDrivers.patterns,
  'container.images': (r) => r.container.images?.patterns ?? null,
  'exec.users': (r) => r.exec.users?.patterns ?? null,
  'volumes.drivers': (r) => r.volumes.drivers.patterns,
  'volumes.local_types': (r) => r.volumes.localTypes,
  'plugins.allow': (r) => r.plugins.allow.patterns,
  'images.pull': (r) => r.images.pull?.patterns ?? null,
  'build.outputs': (r) => r.build.outputs,
  'networks.drivers': (r) => r.networks.drivers.patterns,
  'networks.parent': (r) => r.networks.parent.patterns,
}

const MINS: Readonly<Record<GuardKey, (r: GuardRules) => number>> = {
  'container.oom_score_adj_min': (r) => r.container.oomScoreAdjMin,
}

export interface BindValue {
  readonly path: string
  readonly read_only: boolean
}

/** One value of the section: a flag, a list entry, a bind, or the OOM floor. */
export interface SectionEntry<T> {
  readonly key: GuardKey
  readonly value: boolean | string | number | BindValue
  /** Already in the inherited rules: written only because the list is replaced as a whole. */
  readonly inherited: boolean
  /** What asked for it (empty for inherited entries). */
  readonly tags: readonly T[]
}

interface Mutable<T> {
  key: GuardKey
  value: boolean | string | number | BindValue
  inherited: boolean
  tags: T[]
}

export class GuardsSection<T> {
  readonly #base: GuardRules
  /** key → entries, in the order first asked for. */
  readonly #keys = new Map<GuardKey, Mutable<T>[]>()

  constructor(base: GuardRules) {
    this.#base = base
  }

  add(l: Loosening, tag: T): void {
    switch (l.kind) {
      case 'flag':
        this.#one(l.key, true, tag)
        return
      case 'min': {
        const floor = MINS[l.key]?.(this.#base) ?? 0
        const entries = this.#list(l.key)
        const current = entries[0]
        if (current === undefined) entries.push({ key: l.key, value: Math.min(floor, l.value), inherited: false, tags: [tag] })
        else {
          current.value = Math.min(Number(current.value), l.value)
          current.tags.push(tag)
        }
        return
      }
      case 'item': {
        const entries = this.#list(l.key)
        const found = entries.find((e) => e.value === l.item)
        if (found === undefined) entries.push({ key: l.key, value: l.item, inherited: false, tags: [tag] })
        else found.tags.push(tag)
        return
      }
      case 'bind': {
        const entries = this.#list('container.binds')
        const found = entries.find((e) => !e.inherited && typeof e.value === 'object' && e.value.path === l.path)
        if (found === undefined) entries.push({ key: 'container.binds', value: { path: l.path, read_only: l.readOnly }, inherited: false, tags: [tag] })
        else {
          const v = found.value as BindValue
          found.value = { path: v.path, read_only: v.read_only && l.readOnly }
          found.tags.push(tag)
        }
      }
    }
  }

  #one(key: GuardKey, value: boolean, tag: T): void {
    const entries = this.#list(key)
    if (entries.length === 0) entries.push({ key, value, inherited: false, tags: [tag] })
    else entries[0]!.tags.push(tag)
  }

  /** The entries of a key, seeded with the inherited ones the first time a list key is touched. */
  #list(key: GuardKey): Mutable<T>[] {
    let entries = this.#keys.get(key)
    if (entries !== undefined) return entries
    entries = []
    const base = key === 'container.binds'
      ? this.#base.container.binds.map((b): BindValue => ({ path: b.path, read_only: b.readOnly }))
      : LISTS[key]?.(this.#base) ?? []
    for (const value of base) entries.push({ key, value, inherited: true, tags: [] })
    this.#keys.set(key, entries)
    return entries
  }

  /** Keys in the order first asked for, each with its entries (inherited ones first). */
  entries(): ReadonlyArray<readonly [GuardKey, readonly SectionEntry<T>[]]> {
    return [...this.#keys].map(([k, list]) => [k, list.filter((e) => e.inherited).concat(list.filter((e) => !e.inherited))] as const)
  }

  get empty(): boolean {
    return this.#keys.size === 0
  }

  /** The section as a policy file holds it (snake_case keys), for compileGuardRules or YAML. */
  toRaw(): Record<string, unknown> {
    const raw: Record<string, unknown> = {}
    for (const [key, entries] of this.entries()) {
      const path = key.split('.')
      let at = raw
      for (const part of path.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>
      const last = path[path.length - 1]!
      at[last] = LISTS[key] !== undefined || key === 'container.binds' ? entries.map((e) => e.value) : entries[0]?.value
    }
    return raw
  }
}
