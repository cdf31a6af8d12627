/**
 * Where in an operation's JSON answer the values of a redaction kind are, and how they are
 * written there. operations.ts lists the sites per operation (`response:`); apply.ts walks them.
 *
 * A path is the engine's field names (exactly as Go's encoding/json writes them, the struct
 * field names of moby api/types) separated by dots; `[]` stands for every element of a list:
 * `[].Spec.TaskTemplate.ContainerSpec.Env` is the environment of every service of a list.
 */
import type { RedactKind } from '../policy/redact.js'

/**
 * How the values are written:
 * - `env`: a list of `NAME=value` strings; the values are replaced, the names stay (an entry
 *   without `=` carries no value and is left as it is);
 * - `map`: an object of string values (driver options); every value is replaced, the keys stay;
 * - `string`: one string (a token, a key);
 * - `base64`: one base64 string (Go's []byte): replaced by the base64 of the marker, so that
 *   clients that decode it (the docker CLI) still can.
 */
export type SiteForm = 'env' | 'map' | 'string' | 'base64'

export interface RedactSite {
  readonly kind: RedactKind
  /** As written, for messages and tests. */
  readonly path: string
  /** The path split: field names, and `[]` for "every element". */
  readonly steps: readonly string[]
  readonly form: SiteForm
}

/** What replaces a redacted value. */
export const REDACTED = '<redacted by dockgate>'

const STEP = /^(\[\]|[A-Za-z][A-Za-z0-9]*)$/

/** A site; throws on a malformed path (a bug in the table, caught by the operations test). */
export function site(kind: RedactKind, path: string, form: SiteForm): RedactSite {
  const steps = path.split(/\.|(?=\[\])|(?<=\[\])/).filter((s) => s !== '')
  if (steps.length === 0 || !steps.every((s) => STEP.test(s))) throw new Error(`malformed redaction path ${JSON.stringify(path)}`)
  return Object.freeze({ kind, path, steps: Object.freeze(steps), form })
}

/** The same sites under a prefix: `under('[]', sites)` for the list form of an inspect answer. */
export function under(prefix: string, sites: readonly RedactSite[]): readonly RedactSite[] {
  return Object.freeze(sites.map((s) => site(s.kind, `${prefix}.${s.path}`, s.form)))
}

// ---------------------------------------------------------------------------------------------
// The sites of each answer, by the type the engine answers with (moby api/types; both specs,
// v1.41 and v1.56, checked by test/unit/redact-sites.test.ts). operations.ts says which
// operation answers with which.

/** A container's mounts and a service's ContainerSpec mounts: volume driver options. */
const MOUNTS = site('volume_options', 'Mounts[].VolumeOptions.DriverConfig.Options', 'map')

/** swarm.TaskSpec: the container it runs and its logging driver. */
const TASK_SPEC = [
  site('container_env', 'ContainerSpec.Env', 'env'),
  ...under('ContainerSpec', [MOUNTS]),
  site('log_options', 'LogDriver.Options', 'map'),
]

const VOLUME = [site('volume_options', 'Options', 'map')]

export const RESPONSE_SITES = Object.freeze({
  /** ContainerInspect (container.InspectResponse): what `docker inspect` shows. */
  container: Object.freeze([
    site('container_env', 'Config.Env', 'env'),
    site('log_options', 'HostConfig.LogConfig.Config', 'map'),
    ...under('HostConfig', [MOUNTS]),
  ]),
  /**
   * ImageInspect: `docker commit` writes the container's whole Config, Env included, into the
   * image (moby daemon/commit.go merge), so an image can carry a container's secrets.
   * ContainerConfig exists up to API 1.44.
   */
  image: Object.freeze([site('container_env', 'Config.Env', 'env'), site('container_env', 'ContainerConfig.Env', 'env')]),
  /** swarm.Service: its spec and the spec before the last update. */
  service: Object.freeze([...under('Spec.TaskTemplate', TASK_SPEC), ...under('PreviousSpec.TaskTemplate', TASK_SPEC)]),
  task: under('Spec', TASK_SPEC),
  /** GET /swarm: the keys to join the cluster, and the default logging driver of its tasks. */
  swarm: Object.freeze([
    site('swarm_join_tokens', 'JoinTokens.Worker', 'string'),
    site('swarm_join_tokens', 'JoinTokens.Manager', 'string'),
    site('log_options', 'Spec.TaskDefaults.LogDriver.Options', 'map'),
  ]),
  unlockKey: Object.freeze([site('swarm_unlock_key', 'UnlockKey', 'string')]),
  /** GET /info: the swarm's cluster spec (ClusterInfo, without the join tokens). */
  info: Object.freeze([site('log_options', 'Swarm.Cluster.Spec.TaskDefaults.LogDriver.Options', 'map')]),
  /** A secret's data, and the options of the driver that fetches it from an external store. */
  secret: Object.freeze([site('secret_data', 'Spec.Data', 'base64'), site('secret_data', 'Spec.Driver.Options', 'map')]),
  config: Object.freeze([site('config_data', 'Spec.Data', 'base64')]),
  /** Settings.Env is what `docker plugin set` stored; Config.Env is the plugin's manifest (its defaults, public like an image's). */
  plugin: Object.freeze([site('plugin_env', 'Settings.Env', 'env')]),
  volume: Object.freeze(VOLUME),
  /** VolumeList and SystemDataUsage: `{"Volumes": [...]}`. */
  volumes: under('Volumes[]', VOLUME),
})
