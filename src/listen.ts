/**
 * Listening sockets: unix sockets with a mode/owner/group, TCP ports.
 * A stale unix socket (nobody answers on it) is replaced; a live one is an error ("in use"); a
 * file that is not a socket is never deleted.
 */
import fs from 'node:fs'
import net from 'node:net'
import type { Server } from 'node:http'
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
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new ListenError(`${path}: ${(err as Error).message}`)
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

function bind(server: Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ListenError(`cannot listen on ${opts.path ?? `${opts.host}:${opts.port}`}: ${err.code ?? err.message}`))
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
