/**
 * Seen audit records → what the learned policy holds: the policy to extend (the preset the records
 * were made under), the operations to allow that it does not already allow for those very
 * requests, the narrowest guard loosenings (loosen/), and what stays refused and why.
 */
import { allOperations } from '../endpoints.js'
import { DEFAULT_GUARD_RULES } from '../guards/rules.js'
import { compareVersions } from '../guards/version.js'
import type { Violation } from '../guards/types.js'
import { GuardsSection } from '../loosen/section.js'
import { loosen, loosenings } from '../loosen/table.js'
import { loadPolicy, type CompiledPolicy } from '../policy/compile.js'
import { decide } from '../policy/decide.js'
import { listPresets } from '../policy/presets.js'
import type { HttpMethod, Operation } from '../types.js'
import type { SeenRecord } from './records.js'

/** What asked for a guard entry: the record, and its violation. */
export interface Seen {
  readonly record: SeenRecord
  readonly violation: Violation
}

/** A refusal that stays: nothing in `guards:` or `rules:` can let it through. */
export interface NotLearned {
  readonly what: string
  readonly why: string
  readonly records: SeenRecord[]
}

export interface Learned {
  /** The policy the records were made under. */
  readonly policy: string
  /** The preset extended, when that policy is one. */
  readonly extends: string | undefined
  /** That preset, compiled. */
  readonly base: CompiledPolicy | undefined
  /** Why nothing is extended and what that means, when the policy is not a usable preset. */
  readonly baseNote: string | undefined
  /** Operations to allow (not already allowed by the extended preset for the requests seen), in table order. */
  readonly operations: ReadonlyArray<readonly [Operation, SeenRecord[]]>
  readonly section: GuardsSection<Seen>
  /** The lowest API version seen below the inherited floor, with its records. */
  readonly floor: { readonly version: string; readonly records: SeenRecord[] } | undefined
  readonly notLearned: readonly NotLearned[]
  /** Every record learned from. */
  readonly records: readonly SeenRecord[]
}

/** Codes whose refusal no policy changes: the request itself could not be read, or targets dockgate. */
const UNLOOSENABLE_CODE = /^DG_REQ_|^DG_DENY_SELF$|^DG_DENY_IDENTITY$|^DG_LIMIT_|^DG_INTERNAL$/

function basePolicy(name: string): { policy: CompiledPolicy | undefined; extends: string | undefined; note: string | undefined } {
  if (name === 'full') {
    return { policy: undefined, extends: undefined, note: 'the records were made under "full", which checks no bodies: only the operations are learned; run under a guarded preset in audit-only mode to learn the guards' }
  }
  if (listPresets().includes(name)) return { policy: loadPolicy(name), extends: name, note: undefined }
  return {
    policy: undefined,
    extends: undefined,
    note: `the records were made under "${name}", which is not a preset: requests it allowed show no violations, so loosenings of its own guards: section that they relied on are not seen here; the rules below start from nothing`,
  }
}

/** Operations by id, once. */
function operationsById(): ReadonlyMap<string, Operation> {
  return new Map(allOperations().map((o) => [o.id, o]))
}

/**
 * Builds what the learned policy holds from records that were all made under one policy (the
 * caller checks that). Throws nothing: what cannot be learned is listed in notLearned.
 */
export function learnFrom(records: readonly SeenRecord[], policyName: string): Learned {
  const base = basePolicy(policyName)
  const section = new GuardsSection<Seen>(base.policy?.guards ?? DEFAULT_GUARD_RULES)
  const byId = operationsById()
  const ops = new Map<string, SeenRecord[]>()
  const notLearned = new Map<string, NotLearned>()
  let floor: { version: string; records: SeenRecord[] } | undefined
  const inheritedFloor = (base.policy?.guards ?? DEFAULT_GUARD_RULES).apiVersionFloor
  const stays = (what: string, why: string, r: SeenRecord): void => {
    const key = `${what}\n${why}`
    const entry = notLearned.get(key) ?? { what, why, records: [] }
    entry.records.push(r)
    notLearned.set(key, entry)
  }

  for (const r of records) {
    const op = byId.get(r.operation)
    if (op === undefined) {
      stays(`${r.method} ${r.path}`, 'not an Engine API operation dockgate knows', r)
      continue
    }
    if (!op.alwaysAllowed) {
      const allowed = base.policy !== undefined && decide(base.policy, { method: r.method as HttpMethod, path: r.path, operation: op }).allow
      if (!allowed) ops.set(op.id, [...(ops.get(op.id) ?? []), r])
    }
    if (r.code !== undefined && UNLOOSENABLE_CODE.test(r.code) && r.violations.length === 0) {
      stays(`${op.id} (${r.method} ${r.path})`, `refused with ${r.code}, which no policy changes`, r)
    }
    if (r.rule?.split(',').includes('guards.api_version_floor') === true || r.code === 'DG_DENY_API_VERSION') {
      if (r.version !== undefined && compareVersions(r.version, inheritedFloor) < 0) {
        if (floor === undefined || compareVersions(r.version, floor.version) < 0) floor = { version: r.version, records: [...(floor?.records ?? [])] }
        floor.records.push(r)
      } else if (r.version === undefined) {
        stays(`${op.id} (${r.method} ${r.path})`, 'an API version below the floor; the record does not say which (lower guards.api_version_floor yourself)', r)
      }
    }
    for (const v of r.violations) {
      const outcome = loosen(v)
      for (const l of loosenings(outcome)) section.add(l, { record: r, violation: v })
      if ('cannot' in outcome) stays(`${op.id} ${v.field}=${v.value} (guard ${v.guard})`, outcome.cannot, r)
    }
  }
  const order = allOperations()
  return {
    policy: policyName,
    extends: base.extends,
    base: base.policy,
    baseNote: base.note,
    operations: order.filter((o) => ops.has(o.id)).map((o) => [o, ops.get(o.id)!] as const),
    section,
    floor,
    notLearned: [...notLearned.values()],
    records,
  }
}
