/**
 * The environment variables of Tecnativa's docker-socket-proxy and LinuxServer's socket-proxy, as
 * data: which API section each one opens, and how dockgate reads their values.
 *
 * Sources: Tecnativa/docker-socket-proxy haproxy.cfg (one `http-request allow` per variable, each a
 * case-insensitive prefix of the url-decoded path after an optional /vX.Y; `deny unless METH_GET
 * || POST` first, so every method but GET and HEAD needs POST=1), its Dockerfile (defaults: EVENTS,
 * PING and VERSION on) and README; linuxserver/docker-socket-proxy root/templates/haproxy.cfg
 * (ALLOW_START, ALLOW_STOP, ALLOW_RESTARTS, ALLOW_PAUSE, ALLOW_UNPAUSE allowed before the POST
 * deny; ALLOW_ARCHIVE, ALLOW_CHANGES, ALLOW_EXPORT, ALLOW_LOGS, ALLOW_TOP deny those subpaths
 * unless set) and its Dockerfile.
 */

/** One API section: the variable and the path prefix it opens (haproxy.cfg). */
export interface Section {
  readonly variable: string
  readonly prefix: string
}

/** Tecnativa's sections, in haproxy.cfg order. */
export const SECTIONS: readonly Section[] = [
  { variable: 'AUTH', prefix: '/auth' },
  { variable: 'BUILD', prefix: '/build' },
  { variable: 'COMMIT', prefix: '/commit' },
  { variable: 'CONFIGS', prefix: '/configs' },
  { variable: 'CONTAINERS', prefix: '/containers' },
  { variable: 'DISTRIBUTION', prefix: '/distribution' },
  { variable: 'EVENTS', prefix: '/events' },
  { variable: 'EXEC', prefix: '/exec' },
  { variable: 'GRPC', prefix: '/grpc' },
  { variable: 'IMAGES', prefix: '/images' },
  { variable: 'INFO', prefix: '/info' },
  { variable: 'NETWORKS', prefix: '/networks' },
  { variable: 'NODES', prefix: '/nodes' },
  { variable: 'PING', prefix: '/_ping' },
  { variable: 'PLUGINS', prefix: '/plugins' },
  { variable: 'SECRETS', prefix: '/secrets' },
  { variable: 'SERVICES', prefix: '/services' },
  { variable: 'SESSION', prefix: '/session' },
  { variable: 'SWARM', prefix: '/swarm' },
  { variable: 'SYSTEM', prefix: '/system' },
  { variable: 'TASKS', prefix: '/tasks' },
  { variable: 'VERSION', prefix: '/version' },
  { variable: 'VOLUMES', prefix: '/volumes' },
]

/** Sections on when their variable is not set (Tecnativa's Dockerfile ENV). */
export const DEFAULT_ON: ReadonlySet<string> = new Set(['EVENTS', 'PING', 'VERSION'])

/** Not a section: every method but GET and HEAD, on the sections that are on. */
export const POST = 'POST'

/** Container actions that work without POST=1 (LinuxServer's rule order, which users asked Tecnativa for). */
export const ACTIONS: Readonly<Record<string, readonly string[]>> = {
  ALLOW_START: ['ContainerStart'],
  ALLOW_STOP: ['ContainerStop'],
  ALLOW_RESTARTS: ['ContainerStop', 'ContainerRestart', 'ContainerKill'],
  ALLOW_PAUSE: ['ContainerPause'],
  ALLOW_UNPAUSE: ['ContainerUnpause'],
}

/**
 * File access under CONTAINERS, which Tecnativa lets through with CONTAINERS=1 and dockgate does
 * not: these need CONTAINERS=1 and their own variable (the writing one also POST=1).
 */
export const FILE_ACCESS: Readonly<Record<string, readonly string[]>> = {
  ALLOW_ARCHIVE: ['ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive'],
  ALLOW_EXPORT: ['ContainerExport'],
}

/** Read-only container subpaths that follow CONTAINERS; LinuxServer's variable set to 0 still closes them. */
export const SUBPATHS: Readonly<Record<string, readonly string[]>> = {
  ALLOW_LOGS: ['ContainerLogs'],
  ALLOW_TOP: ['ContainerTop'],
  ALLOW_CHANGES: ['ContainerChanges'],
}

/** Every permission variable dockgate reads, in the order problems and warnings list them. */
export const PERMISSION_VARIABLES: readonly string[] = [
  ...SECTIONS.map((s) => s.variable),
  POST,
  ...Object.keys(ACTIONS),
  ...Object.keys(FILE_ACCESS),
  ...Object.keys(SUBPATHS),
]

/**
 * HAProxy's log levels (Tecnativa README "Logging") → pino's. pino has no notice, and nothing
 * above fatal. pino's own names are accepted too.
 */
export const HAPROXY_LOG_LEVELS: Readonly<Record<string, string>> = {
  emerg: 'fatal',
  alert: 'fatal',
  crit: 'fatal',
  err: 'error',
  warning: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
}

/**
 * A permission variable's value: `1` on, `0` off, as in both proxies' docs. Anything else is
 * refused rather than guessed: HAProxy reads the leading integer (`true`, `yes` and ` 1` are off
 * there, `2` is on), so a value other than 0 or 1 means the setup does not do what it says.
 */
export function parseSwitch(value: string): boolean | undefined {
  if (value === '1') return true
  if (value === '0') return false
  return undefined
}
