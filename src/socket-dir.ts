/**
 * Before the unix sockets are created: their directories, and whether the owner and group asked
 * for can be given. Each problem is a ListenError whose message says what to change, instead of
 * the bare EACCES/ENOENT/EPERM that bind(2) and chown(2) would give.
 *
 * A missing socket directory is created (mode 0755, owned by dockgate's user) only when that is
 * safe: its nearest existing ancestor is a directory that nobody but root and dockgate's user can
 * write. Anywhere else (e.g. under /tmp, writable by all) another user could create the directory
 * first and put their own socket where clients expect dockgate's, so dockgate refuses and says
 * which command creates it.
 */
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, statSync, type Stats } from 'node:fs'
import { dirname } from 'node:path'
import { ListenError } from './listen.js'
import type { ProcessIdentity } from './engine-probe.js'

/** Mode of the directories dockgate creates: traversable by all, writable by dockgate only. */
export const SOCKET_DIR_MODE = 0o755

export interface SocketPlan {
  readonly path: string
  readonly uid?: number | undefined
  readonly gid?: number | undefined
}

/** CAP_CHOWN is capability 0 (capabilities(7)); CapEff in /proc/self/status is a hex mask. */
export function hasCapChown(statusText: string = readOrEmpty('/proc/self/status')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(statusText)
  return m?.[1] !== undefined && (BigInt(`0x${m[1]}`) & 1n) === 1n
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** Prepares every socket's directory; returns the directories it created (for the log). */
export function prepareSocketDirs(plans: readonly SocketPlan[], identity: ProcessIdentity, canChown: boolean = hasCapChown()): string[] {
  const created: string[] = []
  for (const plan of plans) {
    checkOwnership(plan, identity, canChown)
    created.push(...ensureDir(plan.path, identity))
  }
  return created
}

function checkOwnership(plan: SocketPlan, identity: ProcessIdentity, canChown: boolean): void {
  if (canChown) return
  const runAs = `dockgate runs as uid ${identity.uid} without CAP_CHOWN`
  if (plan.uid !== undefined && plan.uid !== identity.uid) {
    throw new ListenError(
      `cannot give ${plan.path} to uid ${plan.uid}: ${runAs}. Run dockgate as uid ${plan.uid}, or leave the owner unset and ` +
        `let the socket's group and mode decide (a group dockgate is a member of${identity.inContainer ? ', see --group-add' : ''})`,
    )
  }
  if (plan.gid !== undefined && !identity.groups.includes(plan.gid)) {
    throw new ListenError(
      `cannot give ${plan.path} to group ${plan.gid}: ${runAs} and is not a member of that group (its groups: ${identity.groups.join(',')}). ` +
        (identity.inContainer ? `Run the container with --group-add ${plan.gid} / group_add: ['${plan.gid}']` : `Add dockgate's user to group ${plan.gid}`),
    )
  }
}

function ensureDir(socketPath: string, identity: ProcessIdentity): string[] {
  const dir = dirname(socketPath)
  const st = statOrUndefined(dir)
  if (st !== undefined) {
    if (!st.isDirectory()) throw new ListenError(`cannot create the socket ${socketPath}: ${dir} is not a directory`)
    if (!writable(dir)) {
      throw new ListenError(
        `cannot create the socket ${socketPath}: directory ${dir} is not writable by dockgate (uid ${identity.uid}; the directory is ${describe(st)})` +
          (identity.inContainer ? `: mount a volume there that uid ${identity.uid} may write` : ''),
      )
    }
    return []
  }
  // Find the nearest existing ancestor and decide whether creating below it is safe.
  const missing: string[] = [dir]
  let parent = dirname(dir)
  let pst = statOrUndefined(parent)
  while (pst === undefined && parent !== '/') {
    missing.unshift(parent)
    parent = dirname(parent)
    pst = statOrUndefined(parent)
  }
  const create = `install -d -m 0755${identity.uid === 0 ? '' : ` -o ${identity.uid}`} ${dir}`
  if (pst === undefined || !pst.isDirectory()) throw new ListenError(`directory ${dir} does not exist, and ${parent} is not a directory`)
  const othersMayWrite = (pst.mode & 0o022) !== 0 || (pst.uid !== 0 && pst.uid !== identity.uid)
  if (othersMayWrite) {
    throw new ListenError(
      `directory ${dir} does not exist. dockgate creates a missing socket directory only inside one that no other user can write, ` +
        `and ${parent} is ${describe(pst)}: create it yourself (${create})`,
    )
  }
  if (!writable(parent)) {
    throw new ListenError(`directory ${dir} does not exist, and dockgate (uid ${identity.uid}) may not create it in ${parent} (${describe(pst)}): create it first (${create})`)
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: SOCKET_DIR_MODE })
      chmodSync(d, SOCKET_DIR_MODE) // mkdir applies the umask
    } catch (err) {
      // EEXIST included: something else made it meanwhile, so it is not ours to trust.
      throw new ListenError(`cannot create directory ${d} for ${socketPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  return missing
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new ListenError(`cannot look at ${path}: ${code ?? (err as Error).message}`)
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK)
    return true
  } catch {
    return false
  }
}

function describe(st: { uid: number; gid: number; mode: number }): string {
  return `owned by uid ${st.uid}, group ${st.gid}, mode 0${(st.mode & 0o7777).toString(8)}`
}
