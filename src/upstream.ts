/** Where the real engine lives, and how to open connections to it. */
import net from 'node:net'
import http from 'node:http'
import { DockgateError } from './errors.js'

export type Address = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number }

/** `unix:///path` or `tcp://host:port` (IPv6 hosts in brackets), as flags and logs write it. */
export function formatAddress(a: Address): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `tcp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`
}

/** Engine connection parameters shared by forward.ts (pooled) and hijack.ts (one raw socket each). */
export interface Upstream {
  readonly address: Address
  /** Keep-alive pool for plain and streamed requests. */
  readonly agent: http.Agent
  /** A fresh socket with half-close allowed, for hijacked connections. */
  connect(): net.Socket
  /** Options that point node:http at the engine. */
  readonly target: { socketPath: string } | { host: string; port: number }
  close(): void
}

export function createUpstream(address: Address): Upstream {
  const target = address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port }
  // Streams hold a socket for as long as they last, so the pool is unbounded; idle sockets are
  // kept for reuse (keep-alive), up to a few hundred.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' })
  return {
    address,
    agent,
    target,
    connect: () =>
      address.kind === 'unix'
        ? net.connect({ path: address.path, allowHalfOpen: true })
        : net.connect({ host: address.host, port: address.port, allowHalfOpen: true }),
    close: () => agent.destroy(),
  }
}

/** Node error codes that mean "the engine is not there" rather than "it failed mid-request". */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ENOTSOCK', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL'])

/** What an unreachable engine's error code means, in words. */
const UNREACHABLE_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ENOENT: 'no such socket',
  EACCES: 'permission denied: dockgate\'s user may not open the socket',
  ENOTSOCK: 'not a socket',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  EADDRNOTAVAIL: 'address not available',
}

/**
 * The DockgateError for a failed engine connection, naming the engine's address and, when it
 * cannot be reached, what to check: that the engine runs, and --upstream (DOCKGATE_UPSTREAM).
 */
export function upstreamError(err: NodeJS.ErrnoException, address: Address): DockgateError {
  const code = err.code ?? ''
  const engine = formatAddress(address)
  return UNREACHABLE_CODES.has(code)
    ? new DockgateError('DG_UPSTREAM_UNREACHABLE', `cannot reach the Docker engine at ${engine} (${code}, ${UNREACHABLE_WORDS[code] ?? code}); check that the engine runs there and dockgate's --upstream`)
    : new DockgateError('DG_UPSTREAM_FAILED', `the connection to the Docker engine at ${engine} failed (${code || err.message})`)
}
