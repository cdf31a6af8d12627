/**
 * The `guards:` section of a policy: what each body guard may let through.
 *
 * Every guard is closed by default (DEFAULT_GUARD_RULES) and loosened only by its own narrow key:
 * there is no switch that turns guards off (the `full` preset is the only way, and says so at
 * start). Keys are snake_case in the policy file (schema: rules-schema.ts) and camelCase here.
 * compileGuardRules (rules-compile.ts) runs once at policy load: globs are compiled, names
 * canonicalised, and the result deep-frozen.
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
import { globList, NO_GLOBS, type GlobList } from './glob.js'
import { deepFreeze } from './rules-compile.js'

export { compileGuardRules, canonicalCgroupRule, type GuardRulesProblem } from './rules-compile.js'
export { guardRulesSchema } from './rules-schema.js'

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
   * `log_drivers` (default [json-file, local, journald, none]): logging drivers (globs)
   * `LogConfig.Type` and a service's `LogDriver.Name` may choose; empty means the daemon's default.
   * Remote drivers make the daemon connect to an address the client picks (syslog, gelf, fluentd,
   * splunk) or ship logs with the daemon's own cloud credentials (awslogs, gcplogs).
   */
  readonly logDrivers: GlobList
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
  /** `from_src` (default false): allow `fromSrc=<URL>` (the engine fetches the URL: SSRF). */
  readonly fromSrc: boolean
  /**
   * `import` (default false): allow `fromSrc=-` (`docker import`, the tarball is the body). An
   * import can put any content under any name, overwriting a tag other containers are recreated
   * from, as `ImageLoad` and `ImageTag` can.
   */
  readonly import: boolean
  /** `pull` (default: any): references (globs, as container.images) `fromImage` and `repo` may name. */
  readonly pull: GlobList | null
}

/** `guards.build`: ImageBuild query and build context. */
export interface BuildRules {
  /** `remote` (default false): allow `remote=` (the engine fetches a URL or git repository). */
  readonly remote: boolean
  /**
   * `network_host` (default false): allow `networkmode=host` (for BuildKit, the `network.host`
   * entitlement). `container:<id>` is never allowed.
   */
  readonly networkHost: boolean
  /**
   * `outputs` (default [moby, local, tar, cacheonly]): BuildKit exporter types `outputs=` may
   * name. `local` and `tar` send the result to the client, `moby` stores it as an image.
   */
  readonly outputs: readonly string[]
  /** `push` (default false): allow exporter attributes `push` / `push-by-digest` (the build publishes to a registry). */
  readonly push: boolean
  /**
   * `grpc` (default false): allow BuildKitGrpc (`POST /grpc`, what `docker buildx` uses), BuildKit's
   * raw gRPC API. dockgate cannot read it: every build option, the `security.insecure` entitlement
   * included, passes unchecked. dockgate warns at start when a policy allows it.
   */
  readonly grpc: boolean
  /**
   * `fetch_urls` (default false): let the Dockerfile make the engine fetch URLs (`ADD http://…`,
   * also through variables and `ONBUILD ADD`). While false, dockgate reads the Dockerfile in the
   * build context as it streams (legacy builder) and refuses such builds; BuildKit builds with
   * the context in the body (`version=2` without a session) and remote contexts, whose Dockerfile
   * it cannot read, need it too. (A BuildKit build over an allowed `Session` is not read either.)
   */
  readonly fetchUrls: boolean
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
    logDrivers: globList(['json-file', 'local', 'journald', 'none']),
    images: null,
  },
  exec: { privileged: false, users: null },
  volumes: { drivers: globList(['local']), localTypes: ['tmpfs'], bindOptions: false },
  plugins: { allow: NO_GLOBS },
  images: { fromSrc: false, import: false, pull: null },
  build: { remote: false, networkHost: false, outputs: ['moby', 'local', 'tar', 'cacheonly'], push: false, grpc: false, fetchUrls: false },
  swarm: { allow: false },
  networks: { drivers: globList(['bridge', 'overlay']), parent: NO_GLOBS, configFrom: false },
  archive: { write: false },
})

