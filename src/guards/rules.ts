/**
 * The `guards:` section of a policy: what each body guard may let through.
 *
 * Every guard is closed by default (DEFAULT_GUARD_RULES) and loosened only by its own narrow key:
 * there is no switch that turns guards off (the `full` preset is the only way, and says so at
 * start). Keys are snake_case in the policy file and camelCase here. compileGuardRules runs once at
 * policy load: globs are compiled, names canonicalised, and the result deep-frozen.
 *
 * Policy example:
 *
 * ```yaml
 * guards:
 *   container:
 *     capabilities: [NET_BIND_SERVICE]
 *     binds: [{ path: "/srv/data/**", read_only: true }]
 *     namespaces: { network: [host] }
 *     sysctls: ["net.ipv4.ip_unprivileged_port_start"]
 *     images: ["busybox:*", "ghcr.io/acme/**"]
 *   exec: { users: ["1000", "1000:1000"] }
 *   volumes: { drivers: [local] }
 * ```
 */
import { ALL_CAPABILITIES, KNOWN_CAPABILITIES, normalizeCapability } from './caps.js'
import { ANY_GLOB, globList, NO_GLOBS, type GlobList } from './glob.js'
import { canonicalSecurityOpt } from './security-opt.js'
import { canonicalUserGlob } from './users.js'

/** A bind-mount allowance: host paths matching `path`, optionally read-only only. */
export interface BindRule {
  /** The glob as written (normalised: no `//`, no trailing `/`). */
  readonly path: string
  /** When true the mount must be read-only (`:ro` in Binds, `ReadOnly: true` in Mounts). */
  readonly readOnly: boolean
  matches(hostPath: string): boolean
}

/** Namespace modes allowed beyond the safe defaults, per namespace (`host`, `container:<glob>`). */
export interface NamespaceRules {
  /** `HostConfig.NetworkMode`, `NetworkingConfig.EndpointsConfig` keys, service network targets. Safe: anything but `host` and `container:*`. */
  readonly network: GlobList
  /** `HostConfig.PidMode`. Safe: empty. */
  readonly pid: GlobList
  /** `HostConfig.IpcMode`. Safe: empty, `private`, `shareable`, `none`. */
  readonly ipc: GlobList
  /** `HostConfig.UTSMode`. Safe: empty. */
  readonly uts: GlobList
  /** `HostConfig.UsernsMode`. Safe: empty (the daemon's remapping applies). */
  readonly userns: GlobList
  /** `HostConfig.CgroupnsMode`. Safe: empty, `private`. */
  readonly cgroupns: GlobList
  /** `HostConfig.Cgroup` (join another container's cgroup). Safe: empty. */
  readonly cgroup: GlobList
}

/** `guards.container`: ContainerCreate, ContainerUpdate and the service task template. */
export interface ContainerRules {
  /** `privileged` (default false): allow `HostConfig.Privileged: true`. */
  readonly privileged: boolean
  /**
   * `capabilities` (default []): capabilities `CapAdd`, the legacy `Capabilities` field and a
   * service's `CapabilityAdd` may name, in any spelling Docker accepts (`NET_BIND_SERVICE`,
   * `cap_net_bind_service`). `ALL` allows every one. Stored canonical (`CAP_NET_BIND_SERVICE`).
   */
  readonly capabilities: readonly string[]
  /** `namespaces` (default: all empty): extra namespace modes, e.g. `{ network: [host], pid: ["container:sidecar-*"] }`. */
  readonly namespaces: NamespaceRules
  /**
   * `binds` (default []): host paths that `Binds`, `Mounts` of type bind and service bind mounts
   * may use, as `{ path: glob, read_only: bool }`. The glob is matched against the normalised
   * absolute host path (paths with `..` are always refused). Symlinks on the host are not resolved.
   */
  readonly binds: readonly BindRule[]
  /** `volumes_from` (default []): container names (globs) `VolumesFrom` may inherit mounts from. */
  readonly volumesFrom: GlobList
  /** `devices` (default []): host device paths (globs) `Devices[].PathOnHost` may name. */
  readonly devices: GlobList
  /** `device_cgroup_rules` (default []): exact `DeviceCgroupRules` entries allowed (`"c 189:* rmw"`). */
  readonly deviceCgroupRules: readonly string[]
  /** `device_requests` (default false): allow `DeviceRequests` (`--gpus`). */
  readonly deviceRequests: boolean
  /**
   * `security_opt` (default []): `SecurityOpt` entries allowed beyond the safe ones
   * (`no-new-privileges`, `seccomp=builtin`, `apparmor=docker-default`), canonical `key=value`:
   * `seccomp=unconfined`, `seccomp=custom` (any inline profile), `apparmor=unconfined`,
   * `label=disable`, `label=type:…`, `no-new-privileges=false`, `systempaths=unconfined` (also
   * allows client-supplied `MaskedPaths`/`ReadonlyPaths`), `writable-cgroups=true`. Service
   * `Privileges` map onto the same spellings.
   */
  readonly securityOpt: readonly string[]
  /** `sysctls` (default []): sysctl names (globs, dotted form: `net.ipv4.*`) `Sysctls` may set. */
  readonly sysctls: GlobList
  /** `cgroup_parents` (default []): `CgroupParent` values (globs) allowed. */
  readonly cgroupParents: GlobList
  /** `runtimes` (default [runc]): `HostConfig.Runtime` values allowed (empty means the daemon default). */
  readonly runtimes: readonly string[]
  /** `group_add` (default []): supplementary groups (globs; numeric ids without leading zeros) `GroupAdd` may add. */
  readonly groupAdd: GlobList
  /**
   * `oom_score_adj_min` (default 0): lowest `OomScoreAdj` allowed. A negative score shields the
   * container from the OOM killer at the host's expense; a positive one only hurts itself.
   */
  readonly oomScoreAdjMin: number
  /** `oom_kill_disable` (default false): allow `OomKillDisable: true`. */
  readonly oomKillDisable: boolean
  /** `ulimits` (default []): ulimit names (globs) `Ulimits` may set; e.g. `rtprio` enables realtime scheduling. */
  readonly ulimits: GlobList
  /** `unlimited_pids` (default false): allow a negative `PidsLimit` (no limit, escaping the daemon's default). */
  readonly unlimitedPids: boolean
  /** `annotations` (default []): OCI annotation keys (globs) `HostConfig.Annotations` may set (runtimes such as kata read them). */
  readonly annotations: GlobList
  /**
   * `images` (default: any): image references (globs) `Config.Image`, image mounts and service
   * images may use, matched against `name:tag` in familiar (`busybox:latest`) and full
   * (`docker.io/library/busybox:latest`) spelling, or `name@digest`. null = no allowlist.
   */
  readonly images: GlobList | null
}

/** `guards.exec`: ContainerExec. */
export interface ExecRules {
  /** `privileged` (default false): allow `Privileged: true` exec. */
  readonly privileged: boolean
  /**
   * `users` (default: any): allowed `User` values (globs over canonical `user[:group]`: `00` and
   * `root` read as `0`). When set, an empty User (the image's default, often root) is refused.
   */
  readonly users: GlobList | null
}

/** `guards.volumes`: VolumeCreate, `HostConfig.VolumeDriver`, volume mounts with driver options. */
export interface VolumeRules {
  /** `drivers` (default [local]): volume drivers (globs) allowed. */
  readonly drivers: GlobList
  /** `local_types` (default [tmpfs]): local-driver `type=` values allowed (e.g. `nfs`). */
  readonly localTypes: readonly string[]
  /**
   * `bind_options` (default false): allow local-driver options that mount host paths
   * (`type=none`/`bind`, `o=bind`/`rbind`, a `device` that is a host path). Prefer `container.binds`.
   */
  readonly bindOptions: boolean
}

/** `guards.plugins`: PluginPull, PluginUpgrade, PluginCreate, PluginSet, PluginEnable, service plugin tasks. */
export interface PluginRules {
  /** `allow` (default false): true, or plugin references (globs) that may be installed and managed. */
  readonly allow: GlobList
}

/** `guards.images`: ImageCreate. */
export interface ImageRules {
  /** `from_src` (default false): allow `fromSrc=<URL>` (the engine fetches the URL: SSRF). `fromSrc=-` is always allowed. */
  readonly fromSrc: boolean
  /** `pull` (default: any): references (globs, as container.images) `fromImage` and `repo` may name. */
  readonly pull: GlobList | null
}

/** `guards.build`: ImageBuild query. */
export interface BuildRules {
  /** `remote` (default false): allow `remote=` (the engine fetches a URL or git repository). */
  readonly remote: boolean
  /** `network_host` (default false): allow `networkmode=host`. `container:<id>` is never allowed. */
  readonly networkHost: boolean
}

/** `guards.swarm`: SwarmInit, SwarmJoin. */
export interface SwarmRules {
  /** `allow` (default false): allow initialising or joining a swarm (a joined cluster can schedule tasks here). */
  readonly allow: boolean
}

/** `guards.networks`: NetworkCreate. */
export interface NetworkRules {
  /** `drivers` (default [bridge, overlay]): network drivers (globs) allowed; macvlan/ipvlan reach the LAN. */
  readonly drivers: GlobList
  /** `parent` (default []): host interfaces (globs) the `parent` option may name. */
  readonly parent: GlobList
  /** `config_from` (default false): allow `ConfigFrom` (options and IPAM from a config-only network). */
  readonly configFrom: boolean
}

/** `guards.archive`: PutContainerArchive. */
export interface ArchiveRules {
  /** `write` (default false): allow writing files into containers. */
  readonly write: boolean
}

/** The compiled, frozen loosening rules of a policy's `guards:` section. */
export interface GuardRules {
  /** `api_version_floor` (default "1.24"): lowest API version accepted in a `/vX.Y/` prefix (enforced by the pipeline). */
  readonly apiVersionFloor: string
  readonly container: ContainerRules
  readonly exec: ExecRules
  readonly volumes: VolumeRules
  readonly plugins: PluginRules
  readonly images: ImageRules
  readonly build: BuildRules
  readonly swarm: SwarmRules
  readonly networks: NetworkRules
  readonly archive: ArchiveRules
}

// ---------------------------------------------------------------------------------------------
// Schema

const bool = { type: 'boolean' } as const
const strings = { type: 'array', items: { type: 'string', minLength: 1 } } as const
const section = (properties: Record<string, unknown>): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: false,
  properties,
})

/** JSON-schema fragment for the policy file's `guards:` key (additionalProperties: false everywhere). */
export const guardRulesSchema: Record<string, unknown> = section({
  api_version_floor: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$' },
  container: section({
    privileged: bool,
    capabilities: strings,
    namespaces: section({
      network: strings,
      pid: strings,
      ipc: strings,
      uts: strings,
      userns: strings,
      cgroupns: strings,
      cgroup: strings,
    }),
    binds: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path'],
        properties: { path: { type: 'string', minLength: 1 }, read_only: bool },
      },
    },
    volumes_from: strings,
    devices: strings,
    device_cgroup_rules: strings,
    device_requests: bool,
    security_opt: strings,
    sysctls: strings,
    cgroup_parents: strings,
    runtimes: strings,
    group_add: strings,
    oom_score_adj_min: { type: 'integer', minimum: -1000, maximum: 1000 },
    oom_kill_disable: bool,
    ulimits: strings,
    unlimited_pids: bool,
    annotations: strings,
    images: strings,
  }),
  exec: section({ privileged: bool, users: strings }),
  volumes: section({ drivers: strings, local_types: strings, bind_options: bool }),
  plugins: section({ allow: { anyOf: [bool, strings] } }),
  images: section({ from_src: bool, pull: strings }),
  build: section({ remote: bool, network_host: bool }),
  swarm: section({ allow: bool }),
  networks: section({ drivers: strings, parent: strings, config_from: bool }),
  archive: section({ write: bool }),
})

// ---------------------------------------------------------------------------------------------
// Defaults

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/** Everything closed; see each key's TSDoc for what its default means. */
export const DEFAULT_GUARD_RULES: GuardRules = deepFreeze({
  apiVersionFloor: '1.24',
  container: {
    privileged: false,
    capabilities: [],
    namespaces: {
      network: NO_GLOBS,
      pid: NO_GLOBS,
      ipc: NO_GLOBS,
      uts: NO_GLOBS,
      userns: NO_GLOBS,
      cgroupns: NO_GLOBS,
      cgroup: NO_GLOBS,
    },
    binds: [],
    volumesFrom: NO_GLOBS,
    devices: NO_GLOBS,
    deviceCgroupRules: [],
    deviceRequests: false,
    securityOpt: [],
    sysctls: NO_GLOBS,
    cgroupParents: NO_GLOBS,
    runtimes: ['runc'],
    groupAdd: NO_GLOBS,
    oomScoreAdjMin: 0,
    oomKillDisable: false,
    ulimits: NO_GLOBS,
    unlimitedPids: false,
    annotations: NO_GLOBS,
    images: null,
  },
  exec: { privileged: false, users: null },
  volumes: { drivers: globList(['local']), localTypes: ['tmpfs'], bindOptions: false },
  plugins: { allow: NO_GLOBS },
  images: { fromSrc: false, pull: null },
  build: { remote: false, networkHost: false },
  swarm: { allow: false },
  networks: { drivers: globList(['bridge', 'overlay']), parent: NO_GLOBS, configFrom: false },
  archive: { write: false },
})

// ---------------------------------------------------------------------------------------------
// Compilation

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
    images: { fromSrc: images.bool('from_src', base.images.fromSrc), pull: images.optionalGlobs('pull', base.images.pull) },
    build: { remote: build.bool('remote', base.build.remote), networkHost: build.bool('network_host', base.build.networkHost) },
    swarm: { allow: top.sub('swarm').bool('allow', base.swarm.allow) },
    networks: {
      drivers: networks.globs('drivers', base.networks.drivers),
      parent: networks.globs('parent', base.networks.parent),
      configFrom: networks.bool('config_from', base.networks.configFrom),
    },
    archive: { write: top.sub('archive').bool('write', base.archive.write) },
  }
  for (const key of Object.keys(raw)) {
    if (!['api_version_floor', 'container', 'exec', 'volumes', 'plugins', 'images', 'build', 'swarm', 'networks', 'archive'].includes(key)) {
      problems.push({ path: [key], message: 'unknown guards key' })
    }
  }
  return { rules: deepFreeze(rules), problems }
}
