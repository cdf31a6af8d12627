/**
 * Who is at the other end of a unix socket: the peer's pid, uid, gid and supplementary groups,
 * as the kernel recorded them when the peer called connect(2) (SO_PEERCRED and SO_PEERGROUPS,
 * unix(7) and socket(7)).
 *
 * Node has no API for this, so dockgate ships a small Node-API addon in C (native/peercred.c,
 * built by node-gyp from `npm ci`, scripts/build-native.mjs). Measured on the loaded 2-core test
 * machine: 2.9 µs per connection, one getsockopt (5.5 µs with the supplementary groups, read only
 * for listeners with gid entries; bench/peercred.mjs). When the addon is missing (not built, not
 * Linux), `available` is false with the reason: dockgate says so at start and refuses the
 * connections of listeners whose `clients:` match on uid or gid (connection.ts) rather than guess.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { packageRoot } from './policy/presets.js'

/** The peer of one unix-socket connection, fixed at its connect(2). */
export interface PeerCredentials {
  readonly pid: number
  readonly uid: number
  readonly gid: number
  /** Supplementary groups (SO_PEERGROUPS); null on kernels before 4.13, where they are unknown. */
  readonly groups: readonly number[] | null
}

export interface PeerCredentialReader {
  /** False when the addon could not be loaded; `reason` says why. */
  readonly available: boolean
  readonly reason?: string
  /**
   * The credentials of an accepted unix-socket connection, or why they could not be read.
   * Supplementary groups cost a second syscall: read only when `groups` is true (else null).
   */
  read(socket: Socket, opts?: { readonly groups?: boolean }): PeerCredentials | { readonly error: string }
}

/** native/peercred.c: fills `out` with [pid, uid, gid, groups…]; returns the group count, or -1. */
type AddonFn = (fd: number, out: Uint32Array, wantGroups: boolean) => unknown

/** Where node-gyp puts the addon, relative to the package root. */
export const ADDON_PATH = 'build/Release/peercred.node'

let loaded: PeerCredentialReader | undefined

/** The addon, loaded once per process. */
export function peerCredentialReader(): PeerCredentialReader {
  return (loaded ??= loadReader())
}

function loadReader(): PeerCredentialReader {
  if (process.platform !== 'linux') return unavailable(`SO_PEERCRED is read on Linux only (this is ${process.platform})`)
  let fn: unknown
  try {
    const mod: unknown = createRequire(import.meta.url)(join(packageRoot(), ADDON_PATH))
    fn = typeof mod === 'object' && mod !== null ? Reflect.get(mod, 'peerCredentials') : undefined
  } catch (err) {
    return unavailable(`the peer-credential addon ${ADDON_PATH} did not load (${(err as Error).message.split('\n')[0] ?? ''}); build it with \`node scripts/build-native.mjs\``)
  }
  if (typeof fn !== 'function') return unavailable(`${ADDON_PATH} does not export peerCredentials()`)
  return readerFrom(fn as AddonFn)
}

/** A reader that always fails with `reason` (also for tests of the refusal path). */
export function unavailable(reason: string): PeerCredentialReader {
  return { available: false, reason, read: () => ({ error: `peer credentials are not available: ${reason}` }) }
}

/** Groups a peer may have (Linux NGROUPS_MAX); more is not believed. */
const GROUPS_MAX = 65536

/** Wraps the addon's function; everything it answers is checked before it is believed. */
export function readerFrom(fn: AddonFn): PeerCredentialReader {
  // Reused by every call (they are synchronous): no allocation per connection for up to 61 groups.
  let scratch = new Uint32Array(64)
  const call = (fd: number, groups: boolean): number | undefined => {
    const n: unknown = fn(fd, scratch, groups)
    return typeof n === 'number' && Number.isInteger(n) && n >= -1 && n <= GROUPS_MAX ? n : undefined
  }
  return {
    available: true,
    read(socket, opts = {}) {
      const fd = socketFd(socket)
      if (fd === undefined) return { error: 'cannot read peer credentials: the connection has no file descriptor' }
      const wantGroups = opts.groups === true
      try {
        let n = call(fd, wantGroups)
        if (n !== undefined && n > scratch.length - 3) {
          scratch = new Uint32Array(n + 3)
          n = call(fd, wantGroups)
        }
        if (n === undefined || n > scratch.length - 3) return { error: 'cannot read peer credentials: the addon answered something unexpected' }
        const [pid = 0, uid = 0, gid = 0] = scratch
        // (uid_t)-1 is the kernel's "no credentials" (a socket that never connected).
        if (uid === 0xffffffff || gid === 0xffffffff) return { error: 'cannot read peer credentials: the kernel has none for this connection' }
        const groups = n < 0 ? null : Object.freeze(Array.from(scratch.subarray(3, 3 + n)))
        return Object.freeze({ pid, uid, gid, groups })
      } catch (err) {
        return { error: `cannot read peer credentials: ${(err as Error).message}` }
      }
    },
  }
}

/**
 * The file descriptor of an accepted connection. Node offers no public way to get it, so this is
 * the one place dockgate reads a private field of Node's objects: `socket._handle` is the libuv
 * stream wrap behind every net.Socket (lib/net.js), and its `fd` getter is
 * LibuvStreamWrap::GetFD (src/stream_wrap.cc). Called from the server's 'connection' event, in
 * the same tick, so the descriptor cannot have been closed and reused in between. Anything
 * unexpected (no handle, no integer fd) gives undefined, and the caller treats the peer as
 * unknown (fail closed).
 */
function socketFd(socket: Socket): number | undefined {
  const handle: unknown = Reflect.get(socket, '_handle')
  if (typeof handle !== 'object' || handle === null) return undefined
  const fd: unknown = Reflect.get(handle, 'fd')
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined
}
