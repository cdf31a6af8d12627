/**
 * An existing container, seen as the create request that would make it today — from what the
 * engine actually applied, not from what the client once sent.
 *
 * `GET /containers/{id}/json` reports effective values: `HostConfig.MaskedPaths` and
 * `ReadonlyPaths` hold the engine's defaults when the client sent none (moby daemon/create.go
 * sets them from oci.DefaultSpec at create), `Mounts` lists every mount the container really has
 * (its own binds and volumes, and those inherited through VolumesFrom), `CgroupnsMode` is filled
 * in with the daemon's default. So the picture is built from those:
 *   - masked and read-only paths: the container is at least as confined as the engine's default
 *     when its lists contain every path of that default (per engine version, below); anything less
 *     is reported as the client-supplied lists it amounts to;
 *   - mounts: the effective `Mounts`, as HostConfig.Mounts entries (binds by host path and
 *     read-only flag, named volumes by name); HostConfig.Binds/Mounts/VolumesFrom are dropped as
 *     they are covered;
 *   - `CgroupnsMode: host` is the daemon default on cgroup v1 hosts and is dropped there only;
 *   - `AppArmorProfile: unconfined` (set by the engine for privileged containers and
 *     `apparmor=unconfined`) is reported as that security option.
 * Everything else in HostConfig is reported as the engine stored it; the ContainerCreate guard
 * then decides as it would for a new container.
 */
import { compareVersions } from './guards/version.js'
import type { ContainerInfo, EngineFacts } from './engine-client.js'

/**
 * The engine's default masked paths, by the first engine version that uses the list
 * (moby oci/defaults.go DefaultLinuxSpec). Checked on the engines the tests run: 20.10 and 26.1.
 */
const DEFAULT_MASKED_PATHS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['0', ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware']],
  // moby#41506 (powercap: energy counters leak data across containers), released in 23.0.
  ['23.0', ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap']],
]

/** The engine's default read-only paths (unchanged since they were introduced, API 1.31). */
const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

/** `20.10.24+dfsg1` → `20.10`; `26.1.5` → `26.1`; unknown → the newest known. */
function majorMinor(version: string): string {
  const m = /^(\d+)\.(\d+)/.exec(version)
  return m === null ? '9999.0' : `${m[1]!}.${m[2]!}`
}

/** The default masked paths of this engine version: the newest list that version already had. */
export function defaultMaskedPaths(engineVersion: string): readonly string[] {
  const v = majorMinor(engineVersion)
  let list = DEFAULT_MASKED_PATHS[0]![1]
  for (const [since, paths] of DEFAULT_MASKED_PATHS) if (compareVersions(v, since) >= 0) list = paths
  return list
}

/** True when `actual` (a path list from inspect) keeps every path of `required`. */
function covers(actual: unknown, required: readonly string[]): boolean {
  return Array.isArray(actual) && required.every((p) => actual.includes(p))
}

/** HostConfig fields whose inspected value may be what the engine filled in rather than what a client asked for. */
export const ENGINE_DEFAULT_FIELDS = ['MaskedPaths', 'ReadonlyPaths', 'CgroupnsMode'] as const

/**
 * True when `value`, read from `HostConfig[field]` (of an inspect, or of a create body copied from
 * one), is the engine's own default on this engine rather than a change: masked and read-only
 * paths that keep every default path (a longer list only confines more), `CgroupnsMode: host` on
 * a cgroup v1 host (the daemon's default there).
 */
export function isEngineDefault(field: string, value: unknown, engine: EngineFacts): boolean {
  switch (field) {
    case 'MaskedPaths':
      return covers(value, defaultMaskedPaths(engine.version))
    case 'ReadonlyPaths':
      return covers(value, DEFAULT_READONLY_PATHS)
    case 'CgroupnsMode':
      return value === 'host' && engine.cgroupVersion === '1'
    default:
      return false
  }
}

/** The create body (as JSON text) that stands for this container under the ContainerCreate guard. */
export function effectiveCreateBody(info: ContainerInfo, engine: EngineFacts): string {
  const host: Record<string, unknown> = { ...(info.HostConfig ?? {}) }
  for (const field of ENGINE_DEFAULT_FIELDS) if (isEngineDefault(field, host[field], engine)) delete host[field]
  if (host['MaskedPaths'] === null) host['MaskedPaths'] = []
  if (host['ReadonlyPaths'] === null) host['ReadonlyPaths'] = []
  if (info.AppArmorProfile === 'unconfined') {
    const opts = Array.isArray(host['SecurityOpt']) ? (host['SecurityOpt'] as unknown[]) : []
    host['SecurityOpt'] = [...opts, 'apparmor=unconfined']
  }
  delete host['Binds']
  delete host['VolumesFrom']
  host['Mounts'] = (info.Mounts ?? []).flatMap((m) => {
    if (m.Type === 'bind') return [{ Type: 'bind', Source: m.Source ?? '', Target: m.Destination ?? '', ReadOnly: m.RW === false }]
    if (m.Type === 'volume') return [{ Type: 'volume', Source: m.Name ?? '', Target: m.Destination ?? '', ReadOnly: m.RW === false, ...(m.Driver && m.Driver !== 'local' ? { VolumeOptions: { DriverConfig: { Name: m.Driver } } } : {}) }]
    return [] // tmpfs, npipe: nothing of the host
  })
  return JSON.stringify({ ...(info.Config ?? {}), HostConfig: host })
}
