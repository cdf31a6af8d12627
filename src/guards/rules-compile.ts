/**
 * compileGuardRules: a policy's raw `guards:` section (already schema-checked by the loader) on
 * top of the rules it inherits, compiled once and frozen. See rules.ts for what each key means.
 */
import { ALL_CAPABILITIES, KNOWN_CAPABILITIES, normalizeCapability } from './caps.js'
import { ANY_GLOB, globList, NO_GLOBS, type GlobList } from './glob.js'
import type { BindRule, ContainerRules, GuardRules, PluginRules } from './rules.js'
import { guardRulesSchema } from './rules-schema.js'
import { canonicalSecurityOpt } from './security-opt.js'
import { canonicalUserGlob } from './users.js'

/** Freezes an object graph (the compiled rules are shared by every request). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

export interface GuardRulesProblem {
  /** JSON path inside the `guards:` section, e.g. `['container', 'binds', 0, 'path']`. */
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

type Path = ReadonlyArray<string | number>
type Raw = Readonly<Record<string, unknown>>

/** Reads one section of the raw policy, inheriting every key it does not set from `base`. */
class SectionReader {
  constructor(
    private readonly raw: Raw | undefined,
    readonly path: Path,
    private readonly problems: GuardRulesProblem[],
  ) {}

  problem(path: Path, message: string): void {
    this.problems.push({ path, message })
  }

  has(key: string): boolean {
    return this.raw !== undefined && Object.hasOwn(this.raw, key) && this.raw[key] !== undefined
  }

  sub(key: string): SectionReader {
    const v = this.raw?.[key]
    if (v !== undefined && !isRecord(v)) this.problem([...this.path, key], 'must be a mapping')
    return new SectionReader(isRecord(v) ? v : undefined, [...this.path, key], this.problems)
  }

  bool(key: string, base: boolean): boolean {
    if (!this.has(key)) return base
    const v = this.raw?.[key]
    if (typeof v === 'boolean') return v
    this.problem([...this.path, key], 'must be true or false')
    return base
  }

  integer(key: string, base: number, min: number, max: number): number {
    if (!this.has(key)) return base
    const v = this.raw?.[key]
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v
    this.problem([...this.path, key], `must be an integer from ${min} to ${max}`)
    return base
  }

  /** A list of non-empty strings, or undefined when the key is not set (inherit). */
  strings(key: string): string[] | undefined {
    if (!this.has(key)) return undefined
    const v = this.raw?.[key]
    if (!Array.isArray(v)) {
      this.problem([...this.path, key], 'must be a list of strings')
      return []
    }
    const out: string[] = []
    v.forEach((item, i) => {
      if (typeof item === 'string' && item !== '') out.push(item)
      else this.problem([...this.path, key, i], 'must be a non-empty string')
    })
    return out
  }

  globs(key: string, base: GlobList, canonical: (s: string) => string = (s) => s): GlobList {
    const list = this.strings(key)
    if (list === undefined) return base
    return globList(list.map(canonical), (i, message) => this.problem([...this.path, key, i], message))
  }

  optionalGlobs(key: string, base: GlobList | null): GlobList | null {
    const list = this.strings(key)
    if (list === undefined) return base
    return globList(list, (i, message) => this.problem([...this.path, key, i], message))
  }

  raw_(key: string): unknown {
    return this.raw?.[key]
  }
}

function isRecord(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Normalises a bind path glob: absolute, no `.`/`..` segments, no `//`, no trailing `/`. */
function bindGlob(raw: string): string | { problem: string } {
  if (!raw.startsWith('/')) return { problem: 'must be an absolute path glob (start with "/")' }
  const segments = raw.split('/').filter((s) => s !== '')
  if (segments.some((s) => s === '.' || s === '..')) return { problem: 'must not contain "." or ".." segments' }
  return '/' + segments.join('/')
}

function compileBinds(r: SectionReader, base: readonly BindRule[]): readonly BindRule[] {
  if (!r.has('binds')) return base
  const raw = r.raw_('binds')
  if (!Array.isArray(raw)) {
    r.problem([...r.path, 'binds'], 'must be a list of { path, read_only }')
    return []
  }
  const out: BindRule[] = []
  raw.forEach((item: unknown, i) => {
    const at = [...r.path, 'binds', i]
    if (!isRecord(item) || typeof item.path !== 'string') {
      r.problem(at, 'must be { path: glob, read_only: bool }')
      return
    }
    const readOnly = item.read_only === undefined ? false : item.read_only
    if (typeof readOnly !== 'boolean') {
      r.problem([...at, 'read_only'], 'must be true or false')
      return
    }
    const path = bindGlob(item.path)
    if (typeof path !== 'string') {
      r.problem([...at, 'path'], `${path.problem}: ${JSON.stringify(item.path)}`)
      return
    }
    const list = globList([path], (_, message) => r.problem([...at, 'path'], message))
    if (list.patterns.length === 1) out.push({ path, readOnly, matches: list.matches })
  })
  return out
}

function compileCapabilities(r: SectionReader, base: readonly string[]): readonly string[] {
  const list = r.strings('capabilities')
  if (list === undefined) return base
  const out: string[] = []
  list.forEach((raw, i) => {
    const cap = normalizeCapability(raw)
    if (cap === undefined || (cap !== ALL_CAPABILITIES && !KNOWN_CAPABILITIES.has(cap))) {
      r.problem([...r.path, 'capabilities', i], `unknown capability ${JSON.stringify(raw)}`)
    } else out.push(cap)
  })
  return out
}

function compileContainer(r: SectionReader, base: ContainerRules): ContainerRules {
  const ns = r.sub('namespaces')
  return {
    privileged: r.bool('privileged', base.privileged),
    capabilities: compileCapabilities(r, base.capabilities),
    namespaces: {
      network: ns.globs('network', base.namespaces.network),
      pid: ns.globs('pid', base.namespaces.pid),
      ipc: ns.globs('ipc', base.namespaces.ipc),
      uts: ns.globs('uts', base.namespaces.uts),
      userns: ns.globs('userns', base.namespaces.userns),
      cgroupns: ns.globs('cgroupns', base.namespaces.cgroupns),
      cgroup: ns.globs('cgroup', base.namespaces.cgroup),
    },
    binds: compileBinds(r, base.binds),
    volumesFrom: r.globs('volumes_from', base.volumesFrom),
    devices: compileDevices(r, base.devices),
    deviceCgroupRules: r.strings('device_cgroup_rules')?.map(canonicalCgroupRule) ?? base.deviceCgroupRules,
    deviceRequests: r.bool('device_requests', base.deviceRequests),
    securityOpt: r.strings('security_opt')?.map(canonicalSecurityOpt) ?? base.securityOpt,
    sysctls: r.globs('sysctls', base.sysctls),
    cgroupParents: r.globs('cgroup_parents', base.cgroupParents),
    runtimes: r.strings('runtimes') ?? base.runtimes,
    groupAdd: r.globs('group_add', base.groupAdd, canonicalUserGlob),
    oomScoreAdjMin: r.integer('oom_score_adj_min', base.oomScoreAdjMin, -1000, 1000),
    oomKillDisable: r.bool('oom_kill_disable', base.oomKillDisable),
    ulimits: r.globs('ulimits', base.ulimits),
    unlimitedPids: r.bool('unlimited_pids', base.unlimitedPids),
    annotations: r.globs('annotations', base.annotations),
    logDrivers: r.globs('log_drivers', base.logDrivers),
    images: r.optionalGlobs('images', base.images),
  }
}

function compileDevices(r: SectionReader, base: GlobList): GlobList {
  const list = r.strings('devices')
  if (list === undefined) return base
  const kept: string[] = []
  list.forEach((raw, i) => {
    const path = bindGlob(raw)
    if (typeof path === 'string') kept.push(path)
    else r.problem([...r.path, 'devices', i], `${path.problem}: ${JSON.stringify(raw)}`)
  })
  return globList(kept, (i, message) => r.problem([...r.path, 'devices', i], message))
}

/** Device cgroup rules compare with single spaces (`c 189:* rmw`). */
export function canonicalCgroupRule(raw: string): string {
  return raw.trim().split(/\s+/).join(' ')
}

function compilePlugins(r: SectionReader, base: PluginRules): PluginRules {
  if (!r.has('allow')) return base
  const v = r.raw_('allow')
  if (v === true) return { allow: ANY_GLOB }
  if (v === false) return { allow: NO_GLOBS }
  return { allow: r.globs('allow', NO_GLOBS) }
}

/**
 * Keys the schema does not know, at any depth (the loader's schema check normally catches them
 * first; this keeps compileGuardRules strict when called on its own).
 */
function reportUnknownKeys(raw: unknown, schema: unknown, path: Path, problems: GuardRulesProblem[]): void {
  if (!isRecord(schema)) return
  if (Array.isArray(raw)) {
    raw.forEach((item: unknown, i) => reportUnknownKeys(item, schema.items, [...path, i], problems))
    return
  }
  const properties = schema.properties
  if (!isRecord(raw) || !isRecord(properties)) return
  for (const [key, value] of Object.entries(raw)) {
    if (!Object.hasOwn(properties, key)) problems.push({ path: [...path, key], message: `unknown key "${key}"` })
    else reportUnknownKeys(value, properties[key], [...path, key], problems)
  }
}

/**
 * Applies a (schema-valid) `guards:` section on top of `base` (the rules inherited via extends):
 * every key the section sets replaces the base's value for that key (lists are replaced, not
 * merged); unset keys are inherited. Unusable entries (a bad glob, an unknown capability, a
 * relative bind path) are left out and reported, with their path inside `guards:`; the caller
 * must refuse the policy when `problems` is not empty.
 */
export function compileGuardRules(raw: unknown, base: GuardRules): { rules: GuardRules; problems: GuardRulesProblem[] } {
  const problems: GuardRulesProblem[] = []
  if (raw === undefined || raw === null) return { rules: base, problems }
  if (!isRecord(raw)) return { rules: base, problems: [{ path: [], message: 'must be a mapping' }] }
  const top = new SectionReader(raw, [], problems)
  let floor = base.apiVersionFloor
  if (top.has('api_version_floor')) {
    const v = raw.api_version_floor
    if (typeof v === 'string' && /^[0-9]+(\.[0-9]+)*$/.test(v)) floor = v
    else top.problem(['api_version_floor'], 'must be a version like "1.24"')
  }
  const volumes = top.sub('volumes')
  const images = top.sub('images')
  const build = top.sub('build')
  const networks = top.sub('networks')
  const exec = top.sub('exec')
  const rules: GuardRules = {
    apiVersionFloor: floor,
    container: compileContainer(top.sub('container'), base.container),
    exec: {
      privileged: exec.bool('privileged', base.exec.privileged),
      users: exec.has('users') ? exec.globs('users', NO_GLOBS, canonicalUserGlob) : base.exec.users,
    },
    volumes: {
      drivers: volumes.globs('drivers', base.volumes.drivers),
      localTypes: volumes.strings('local_types') ?? base.volumes.localTypes,
      bindOptions: volumes.bool('bind_options', base.volumes.bindOptions),
    },
    plugins: compilePlugins(top.sub('plugins'), base.plugins),
    images: { fromSrc: images.bool('from_src', base.images.fromSrc), import: images.bool('import', base.images.import), pull: images.optionalGlobs('pull', base.images.pull) },
    build: {
      remote: build.bool('remote', base.build.remote),
      networkHost: build.bool('network_host', base.build.networkHost),
      outputs: build.strings('outputs') ?? base.build.outputs,
      push: build.bool('push', base.build.push),
      grpc: build.bool('grpc', base.build.grpc),
      fetchUrls: build.bool('fetch_urls', base.build.fetchUrls),
    },
    swarm: { allow: top.sub('swarm').bool('allow', base.swarm.allow) },
    networks: {
      drivers: networks.globs('drivers', base.networks.drivers),
      parent: networks.globs('parent', base.networks.parent),
      configFrom: networks.bool('config_from', base.networks.configFrom),
    },
    archive: { write: top.sub('archive').bool('write', base.archive.write) },
  }
  reportUnknownKeys(raw, guardRulesSchema, [], problems)
  return { rules: deepFreeze(rules), problems }
}
