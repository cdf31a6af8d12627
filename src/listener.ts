/**
 * One listening address: its server (plain, TLS or mutual TLS) and what a reload does to it.
 * Who is calling and the context of each request are listener-context.ts's.
 *
 * A removed listener stops accepting at once and its socket file is removed; its idle
 * connections are closed, open streams and sessions run to their end, and a request that still
 * arrives on one of its connections is refused (DG_DENY_LISTENER_REMOVED) — never served by a
 * policy the configuration no longer names.
 */
import fs from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { tcpPeer, tlsPeer, unixPeer } from './connection.js'
import { listen, removeSocketFile } from './listen.js'
import { connectionTable, generation, type Core, type ListenerConfig, type Shared } from './listener-context.js'
import { handleClientError, handleRequest, handleUpgrade } from './pipeline.js'
import { TLS_MIN_VERSION, type TlsMaterial } from './tls-files.js'
import { formatAddress } from './upstream.js'

export type { Core, ListenerConfig, ServerLimits, Shared } from './listener-context.js'

export interface Listener {
  readonly name: string
  readonly config: ListenerConfig
  /** Applies a new configuration of the same address to the next request. */
  update(l: ListenerConfig, core: Core): Promise<void>
  /** Removed from the configuration: stop accepting, remove the socket file, refuse further requests. */
  remove(): void
  /** Shutdown: stop accepting and remove the socket file; `closeIdle` then ends idle connections. */
  stop(): void
  closeIdle(): void
}

/** How often a removed listener's connections are checked for idleness (ms). */
const SWEEP_MS = 1_000

const HTTP_OPTIONS: http.ServerOptions = {
  // Streams (events, logs -f, build uploads) last as long as they last: no request or idle
  // timeouts on them. Headers must still arrive promptly.
  requestTimeout: 0,
  headersTimeout: 60_000,
  keepAliveTimeout: 65_000,
  // Engine API paths and registry auth headers can be long; 64 KiB like Go's default 1 MiB is not needed.
  maxHeaderSize: 65_536,
  // pipeline.ts refuses a missing Host with a JSON message, for upgrade requests too.
  requireHostHeader: false,
  noDelay: true,
}

function tlsOptions(tls: TlsMaterial): https.ServerOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: TLS_MIN_VERSION,
    // Mutual TLS: with a client CA, a client without a certificate it signed fails the handshake.
    ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true, rejectUnauthorized: true }),
  }
}

const tlsOf = (l: ListenerConfig): TlsMaterial | undefined => (l.address.kind === 'tcp' ? l.tls : undefined)
/** What a TLS server's own options fix (not its secure context): plain, TLS, or mutual TLS. */
const tlsKind = (l: ListenerConfig): string => { const t = tlsOf(l); return t === undefined ? 'plain' : t.ca === undefined ? 'tls' : 'mtls' }

/** Opens a listener (binds its address); rejects with ListenError when it cannot. */
export async function openListener(first: ListenerConfig, firstCore: Core, shared: Shared): Promise<Listener> {
  const name = formatAddress(first.address)
  const table = connectionTable(generation(first, firstCore, shared), shared.reader)
  /** Servers replaced by a reload (TLS switched on or off) whose connections are still open. */
  const retired = new Set<http.Server>()
  /** This listener's accepted connections (raw sockets). */
  const own = new Set<Socket>()

  const makeServer = (l: ListenerConfig): http.Server => {
    const tls = tlsOf(l)
    const server: http.Server = tls === undefined ? http.createServer(HTTP_OPTIONS) : https.createServer({
      ...HTTP_OPTIONS,
      ...tlsOptions(tls),
      // As node:http does for plain sockets: a client's FIN ends only its direction. The docker CLI
      // half-closes a hijacked TLS connection with a bare TCP FIN (moby client/hijack.go,
      // tlsClientCon.CloseWrite); without this, node's TLSSocket would close both ways and the
      // container's output would be lost.
      allowHalfOpen: true,
    })
    server.timeout = 0
    server.on('connection', (s: Socket) => {
      shared.sockets.add(s)
      own.add(s)
      s.once('close', () => {
        shared.sockets.delete(s)
        own.delete(s)
      })
      // Peer credentials are read here, in the tick the connection was accepted (peercred.ts).
      if (l.address.kind === 'unix') table.identify(s, unixPeer(s, shared.reader, table.current.wantGroups), table.current.wantGroups)
      else if (tls === undefined) table.identify(s, tcpPeer(s), true)
    })
    if (tls !== undefined) {
      server.on('secureConnection', (s: TLSSocket) => table.identify(s, tlsPeer(s), true))
      server.on('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => {
        shared.logger.info({ listener: name, client: { address: s.remoteAddress, port: s.remotePort }, err: err.code ?? err.message }, `TLS handshake refused on ${name}`)
      })
    }
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void handleRequest(table.contextOf(req.socket), req, res)
    })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      shared.hijacked.add(socket)
      socket.once('close', () => shared.hijacked.delete(socket))
      void handleUpgrade(table.contextOf(socket), req, socket, head)
    })
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      shared.logger.debug({ err: err.code ?? err.message }, 'malformed HTTP request')
      handleClientError(table.contextOf(socket), err, socket)
    })
    return server
  }

  const unixOptions = (l: ListenerConfig): { mode: number; uid: number | undefined; gid: number | undefined } => ({ mode: l.mode, uid: l.uid, gid: l.gid })
  let server = makeServer(first)
  await listen(server, first.address, unixOptions(first))
  shared.metrics.auditOnly.set({ listener: name }, first.auditOnly === true ? 1 : 0)

  const stopAccepting = (): void => {
    for (const s of [server, ...retired]) s.close()
    removeSocketFile(first.address)
  }
  const closeIdle = (): void => {
    for (const s of [server, ...retired]) s.closeIdleConnections()
  }

  return {
    name,
    get config() {
      return table.current.config
    },
    async update(l, core) {
      const old = table.current.config
      const next = generation(l, core, shared)
      if (tlsKind(l) !== tlsKind(old)) {
        // A TLS server's request for client certificates is fixed when it is made: a new server
        // takes the address; the old one's connections continue (under the new generation).
        const fresh = makeServer(l)
        const previous = server
        previous.close()
        // The port is free once the listening handle has closed (libuv closes it on the next turn).
        await new Promise((resolve) => setImmediate(resolve))
        try {
          await listen(fresh, l.address, unixOptions(l))
        } catch (err) {
          await listen(previous, old.address, unixOptions(old)).catch(() => undefined)
          throw err
        }
        retired.add(previous)
        previous.once('close', () => retired.delete(previous))
        server = fresh
      } else if (tlsOf(l) !== undefined && tlsOf(l) !== tlsOf(old)) {
        // New certificate, key or CA bundle: for the next handshake (tls.Server.setSecureContext).
        ;(server as https.Server).setSecureContext(tlsOptions(tlsOf(l)!))
      }
      if (l.address.kind === 'unix' && (l.mode !== old.mode || l.uid !== old.uid || l.gid !== old.gid)) {
        if (l.uid !== undefined || l.gid !== undefined) fs.chownSync(l.address.path, l.uid ?? -1, l.gid ?? -1)
        fs.chmodSync(l.address.path, l.mode)
      }
      table.advance(next)
      shared.metrics.auditOnly.set({ listener: name }, l.auditOnly === true ? 1 : 0)
    },
    remove() {
      table.markRemoved()
      shared.metrics.auditOnly.remove({ listener: name })
      stopAccepting()
      closeIdle()
      // Streams and sessions run to their end; the connections they leave idle are closed here.
      const sweep = setInterval(() => {
        closeIdle()
        if (own.size === 0) clearInterval(sweep)
      }, SWEEP_MS)
      sweep.unref()
    },
    stop: stopAccepting,
    closeIdle,
  }
}
