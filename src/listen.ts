/**
 * Listening sockets: unix sockets with a mode/owner/group, TCP ports.
 * A stale unix socket (nobody answers on it) is replaced; a live one is an error ("in use"); a
 * file that is not a socket is never deleted.
 */
import fs from 'node:fs'
import net from 'node:net'
import type { Server } from 'node:http'
import { dirname } from 'node:path'
import type { Address } from './upstream.js'

export class ListenError extends Error {}

export interface UnixOptions {
  /** File mode, e.g. 0o660. */
  readonly mode: number
  readonly uid?: number | undefined
  readonly gid?: number | undefined
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

async function clearSocketPath(path: string): Promise<void> {
  let st: fs.Stats
  try {
    st = fs.lstatSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    throw new ListenError(describeBindError({ path }, code, (err as Error).message))
  }
  if (!st.isSocket()) throw new ListenError(`${path} exists and is not a socket; dockgate will not delete it`)
  if (await probe(path)) throw new ListenError(`${path} is in use by another process`)
  fs.unlinkSync(path)
}

/** Start `server` on `address`; resolves once listening. */
export async function listen(server: Server, address: Address, unix: UnixOptions): Promise<void> {
  if (address.kind === 'unix') {
    await clearSocketPath(address.path)
    // Create the socket with no permissions for anyone, then set the configured mode: there is
    // no moment when the socket is more open than configured.
    const oldMask = process.umask(0o777)
    try {
      await bind(server, { path: address.path })
    } finally {
      process.umask(oldMask)
    }
    try {
      if (unix.uid !== undefined || unix.gid !== undefined) fs.chownSync(address.path, unix.uid ?? -1, unix.gid ?? -1)
      fs.chmodSync(address.path, unix.mode)
    } catch (err) {
      server.close()
      throw new ListenError(`${address.path}: cannot set owner/mode: ${(err as Error).message}`)
    }
  } else {
    await bind(server, { host: address.host, port: address.port })
  }
}

/**
 * Why bind(2) failed, in words: the bare code (`ENOENT`) does not say that it is the socket's
 * directory that is missing. Exported for its unit test.
 */
export function describeBindError(opts: { path?: string | undefined; host?: string | undefined; port?: number | undefined }, code: string | undefined, message: string): string {
  const where = opts.path ?? `${opts.host ?? ''}:${opts.port ?? ''}`
  const why = (): string => {
    if (opts.path !== undefined) {
      const dir = dirname(opts.path)
      // libuv reports a missing directory as EACCES (uv_pipe_bind maps ENOENT to EACCES), so
      // look: a permission error where the directory does not exist is the missing directory.
      const missing = code === 'ENOENT' || ((code === 'EACCES' || code === 'EPERM') && !fs.existsSync(dir))
      if (missing) return `directory ${dir} does not exist; create it (install -d -m 0755 ${dir}) or choose another path`
      switch (code) {
        case 'ENOTDIR': return `a part of ${dir} is not a directory`
        case 'EACCES': case 'EPERM': return `permission denied: dockgate (uid ${process.getuid?.() ?? '?'}) may not create files in ${dir}`
        case 'EADDRINUSE': return 'in use by another process'
        case 'ENAMETOOLONG': case 'EINVAL': return `the path is too long for a unix socket (at most 107 bytes): ${Buffer.byteLength(opts.path)} bytes`
        case 'EROFS': return `${dir} is on a read-only file system`
      }
    } else {
      switch (code) {
        case 'EADDRINUSE': return 'the port is in use by another process'
        case 'EADDRNOTAVAIL': return `${opts.host ?? ''} is not an address of this host`
        case 'EACCES': return 'permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE'
      }
    }
    return code ?? message
  }
  return `cannot listen on ${where}: ${why()}`
}

function bind(server: Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ListenError(describeBindError(opts, err.code, err.message)))
    }
    server.once('error', onError)
    server.listen({ ...opts, exclusive: true }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/** Remove a unix socket file we created (on shutdown). Never throws. */
export function removeSocketFile(address: Address): void {
  if (address.kind !== 'unix') return
  try {
    if (fs.lstatSync(address.path).isSocket()) fs.unlinkSync(address.path)
  } catch {
    /* already gone */
  }
}
