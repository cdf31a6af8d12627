/**
 * Can dockgate reach the engine? One probe opens a fresh connection to the upstream address and
 * asks `GET /_ping`. When that fails, the answer says exactly what to change, in the words of
 * `docker run` and compose when dockgate runs in a container: a missing socket mount, a missing
 * `--group-add`, a directory where the socket should be.
 *
 * The explanation is a pure function of what was observed (`describeEngineFailure`), so that
 * every case is a row of a unit test; `probeEngine` gathers the observations.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import http from 'node:http'
import { discoverSelf } from './self.js'
import { formatAddress, type Address } from './upstream.js'

export type EngineProbe =
  | { readonly ok: true; readonly apiVersion: string | undefined }
  | { readonly ok: false; readonly code: string; readonly reason: string }

/** Who dockgate runs as, and where. */
export interface ProcessIdentity {
  readonly uid: number
  readonly gid: number
  readonly groups: readonly number[]
  /** In a container: advice is given as `docker run` / compose options. */
  readonly inContainer: boolean
  /** Group id → name, when the group database knows it (the host's, outside a container). */
  readonly groupName?: (gid: number) => string | undefined
}

/** What stat(2) said about the socket path. */
export type PathFacts =
  | { readonly kind: 'socket' | 'directory' | 'file' | 'other'; readonly uid: number; readonly gid: number; readonly mode: number }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly error: string }

/** How long one probe may take, in ms. */
export const PROBE_TIMEOUT_MS = 3_000

/** The identity of this process; in a container when the engine's traces are there (self.ts). */
export function currentIdentity(inContainer: boolean = discoverSelf().ids.length > 0 || existsSync('/.dockerenv')): ProcessIdentity {
  const uid = process.getuid?.() ?? -1
  const gid = process.getgid?.() ?? -1
  const groups = process.getgroups?.() ?? []
  return { uid, gid, groups: [...new Set([gid, ...groups])], inContainer, groupName: (id) => lookupGroup(id) }
}

function lookupGroup(gid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':')
      if (name !== undefined && id === String(gid)) return name
    }
  } catch {
    /* no group database: numbers only */
  }
  return undefined
}

/** stat(2) of a path, as PathFacts. */
export function pathFacts(path: string): PathFacts {
  try {
    const st = statSync(path)
    const kind = st.isSocket() ? 'socket' : st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other'
    return { kind, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' }
    return { kind: 'unreadable', error: code ?? (err as Error).message }
  }
}

/** One `GET /_ping` on a fresh connection to the engine. Never throws. */
export function probeEngine(address: Address, identity: ProcessIdentity, timeoutMs = PROBE_TIMEOUT_MS): Promise<EngineProbe> {
  const target = address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port }
  return new Promise((resolve) => {
    const fail = (code: string): void => {
      const facts = address.kind === 'unix' ? pathFacts(address.path) : undefined
      resolve({ ok: false, code, reason: describeEngineFailure(address, code, identity, facts) })
    }
    const req = http.request({ ...target, method: 'GET', path: '/_ping', agent: false, headers: { host: 'docker' } }, (res) => {
      res.resume()
      if (res.statusCode === 200) {
        const v = res.headers['api-version']
        resolve({ ok: true, apiVersion: typeof v === 'string' ? v : undefined })
      } else {
        resolve({ ok: false, code: `HTTP ${res.statusCode ?? 0}`, reason: `the engine at ${formatAddress(address)} answered GET /_ping with HTTP ${res.statusCode ?? 0}; see the engine's log` })
      }
    })
    const timer = setTimeout(() => {
      req.destroy()
      fail('ETIMEDOUT')
    }, timeoutMs)
    req.once('close', () => clearTimeout(timer))
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      fail(err.code ?? err.message)
    })
    req.end()
  })
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`

/** "group 105" or "group 105 (docker)". */
function groupLabel(gid: number, identity: ProcessIdentity): string {
  const name = identity.inContainer ? undefined : identity.groupName?.(gid)
  return name === undefined ? `group ${gid}` : `group ${gid} (${name})`
}

/** Why the engine could not be reached, and what to change. `facts` is stat(2) of a unix socket path. */
export function describeEngineFailure(address: Address, code: string, identity: ProcessIdentity, facts?: PathFacts): string {
  const where = formatAddress(address)
  if (address.kind === 'tcp') {
    const what: Record<string, string> = {
      ECONNREFUSED: `nothing accepts connections at ${where}: is the engine (or the proxy in front of it) running there? (--upstream / DOCKGATE_UPSTREAM)`,
      ENOTFOUND: `cannot resolve ${address.host}: check --upstream / DOCKGATE_UPSTREAM`,
      EAI_AGAIN: `cannot resolve ${address.host} right now (DNS): check --upstream / DOCKGATE_UPSTREAM`,
      ETIMEDOUT: `${where} did not answer GET /_ping within ${PROBE_TIMEOUT_MS / 1000} s`,
    }
    return what[code] ?? `cannot reach ${where}: ${code}`
  }
  const path = address.path
  const mount = `mount the engine socket with -v /var/run/docker.sock:${path} (compose: volumes: ['/var/run/docker.sock:${path}'])`
  if (facts?.kind === 'missing' || code === 'ENOENT') {
    if (identity.inContainer) return `no such file: ${path}: ${mount}`
    return `no such file: ${path}: is the Docker engine running? Otherwise point --upstream / DOCKGATE_UPSTREAM at its socket`
  }
  if (facts?.kind === 'directory') {
    return identity.inContainer
      ? `${path} is a directory, not the engine socket: the host had no socket at that path when the container was created, so docker made an empty directory; start the engine, then re-create this container (${mount})`
      : `${path} is a directory, not a socket: point --upstream / DOCKGATE_UPSTREAM at the engine's socket`
  }
  if (facts?.kind === 'file' || facts?.kind === 'other' || code === 'ENOTSOCK') {
    return `${path} is not a socket: point --upstream / DOCKGATE_UPSTREAM at the engine's socket${identity.inContainer ? `, or ${mount}` : ''}`
  }
  if (code === 'EACCES' || code === 'EPERM') return describePermission(path, identity, facts)
  if (code === 'ECONNREFUSED') return `nobody is listening on ${path} (a socket left behind by an engine that stopped?): start the Docker engine`
  if (code === 'ETIMEDOUT') return `the engine at ${where} did not answer GET /_ping within ${PROBE_TIMEOUT_MS / 1000} s`
  return `cannot reach the engine at ${where}: ${code}`
}

function describePermission(path: string, identity: ProcessIdentity, facts: PathFacts | undefined): string {
  const who = `dockgate runs as uid ${identity.uid}, groups ${identity.groups.join(',') || 'none'}`
  if (facts === undefined || facts.kind === 'unreadable') {
    return `permission denied on a directory on the way to ${path} (${who}): make the directories leading to the socket searchable, or mount the socket elsewhere`
  }
  if (facts.kind === 'missing') return `no such file: ${path}`
  const owned = `owned by uid ${facts.uid}, ${groupLabel(facts.gid, identity)}, mode ${octal(facts.mode)}`
  const groupMayConnect = (facts.mode & 0o060) === 0o060
  if (!groupMayConnect) {
    return `permission denied on ${path} (${owned}; ${who}): only uid ${facts.uid} may connect; run dockgate as uid ${facts.uid}${identity.inContainer ? ` (--user ${facts.uid})` : ''}, or give the socket's group read and write access on the host`
  }
  if (identity.groups.includes(facts.gid)) {
    return `permission denied on ${path} (${owned}; ${who}) although dockgate is in its group: a security module (SELinux, AppArmor) may refuse it; see the host's audit log`
  }
  if (identity.inContainer) {
    return `permission denied on ${path} (${owned}; ${who}): run the container with --group-add ${facts.gid} / group_add: ['${facts.gid}']`
  }
  const name = identity.groupName?.(facts.gid) ?? String(facts.gid)
  return `permission denied on ${path} (${owned}; ${who}): run dockgate as a member of group ${name} (for example usermod -aG ${name} USER, then log in again)`
}
