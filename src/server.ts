/**
 * Wiring of one dockgate instance: a listener per configured address, each with its own policy,
 * sharing one upstream pool, logger and metrics registry. No module-level state, so tests can run
 * several instances in one process.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { createUpstream, formatAddress, type Address, type Upstream } from './upstream.js'
export { formatAddress }
import { createForwarder, endStream } from './forward.js'
import { createMetrics, type Metrics } from './metrics.js'
import { BodyBudget } from './body.js'
import { createEngineClient } from './engine-client.js'
import { handleClientError, handleRequest, handleUpgrade, type ListenerContext } from './pipeline.js'
import { listen, removeSocketFile } from './listen.js'
import { startAdmin } from './admin.js'
import type { CompiledPolicy } from './policy/compile.js'
import type { SelfIdentity } from './guards/types.js'
import type { ClientEntry } from './config-clients.js'
import { chooseClient, tcpPeer, tlsPeer, unixPeer, type Peer } from './connection.js'
import { DockgateError } from './errors.js'
import { peerCredentialReader, type PeerCredentialReader } from './peercred.js'
import { TLS_MIN_VERSION, type TlsMaterial } from './tls-files.js'
import { DEFAULTS } from './config.js'

export interface ListenerConfig {
  readonly address: Address
  readonly policy: CompiledPolicy
  /** Unix socket file mode, e.g. 0o660. */
  readonly mode: number
  readonly uid?: number | undefined
  readonly gid?: number | undefined
  /** TCP only: serve TLS (mutual TLS when `ca` is set). */
  readonly tls?: TlsMaterial | undefined
  /** Tenant of connections that match no `clients:` entry. */
  readonly tenant?: string | undefined
  /** First match decides a connection's policy and tenant (connection.ts). */
  readonly clients?: readonly ClientEntry[] | undefined
}

export interface ServerConfig {
  readonly upstream: Address
  readonly admin?: Address | undefined
  readonly limits: ServerLimits
  readonly listeners: readonly ListenerConfig[]
}

/** config.ts DEFAULTS documents each. */
export interface ServerLimits {
  readonly bodyBytes: number
  readonly bodyTimeoutMs: number
  readonly bodyBudgetBytes: number
  readonly lookupTimeoutMs: number
  /** Default DEFAULTS.responseBytes. */
  readonly responseBytes?: number
}

export interface RunningDockgate {
  readonly metrics: Metrics
  /** Stop accepting, end open streams, remove socket files. */
  close(graceMs?: number): Promise<void>
}

export async function startDockgate(
  config: ServerConfig,
  deps: { logger: Logger; registry?: Registry; self?: SelfIdentity; processMetrics?: boolean; peerCredentials?: PeerCredentialReader },
): Promise<RunningDockgate> {
  const upstream: Upstream = createUpstream(config.upstream)
  const forwarder = createForwarder(upstream)
  const engine = createEngineClient(upstream, config.limits.lookupTimeoutMs)
  const budget = new BodyBudget(config.limits.bodyBudgetBytes)
  const metrics = createMetrics(deps.registry, { processMetrics: deps.processMetrics ?? true })
  const self = deps.self ?? { ids: [], names: [] }
  const servers: Array<{ server: http.Server; address: Address }> = []
  const sockets = new Set<Socket>()
  const hijacked = new Set<Duplex>()
  const streaming = new Set<ServerResponse>()

  const reader = deps.peerCredentials ?? peerCredentialReader()
  announcePeerCredentials(config.listeners, reader, deps.logger)

  const started: Array<() => Promise<void>> = []
  try {
    for (const l of config.listeners) {
      const name = formatAddress(l.address)
      const base: Omit<ListenerContext, 'client'> = {
        listener: name,
        policy: l.policy,
        admission: { policy: l.policy, self, engine, mode: 'enforce', bodyLimit: config.limits.bodyBytes },
        upstream,
        forwarder,
        limits: { bytes: config.limits.bodyBytes, timeoutMs: config.limits.bodyTimeoutMs },
        responseBytes: config.limits.responseBytes ?? DEFAULTS.responseBytes,
        budget,
        logger: deps.logger.child({ listener: name, policy: l.policy.name }),
        metrics,
        self,
        trackStream: (res) => {
          streaming.add(res)
          res.once('close', () => streaming.delete(res))
        },
      }
      const contextOf = connectionContexts(base, l, deps.logger)
      const wantGroups = (l.clients ?? []).some((c) => c.match.kind === 'gid')
      const httpOptions: http.ServerOptions = {
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
      const tls = l.address.kind === 'tcp' ? l.tls : undefined
      const server: http.Server = tls === undefined ? http.createServer(httpOptions) : https.createServer({
        ...httpOptions,
        cert: tls.cert,
        key: tls.key,
        minVersion: TLS_MIN_VERSION,
        // As node:http does for plain sockets: a client's FIN ends only its direction. The docker CLI
        // half-closes a hijacked TLS connection with a bare TCP FIN (moby client/hijack.go,
        // tlsClientCon.CloseWrite); without this, node's TLSSocket would close both ways and the
        // container's output would be lost.
        allowHalfOpen: true,
        // Mutual TLS: with a client CA, a client without a certificate it signed fails the handshake.
        ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true, rejectUnauthorized: true }),
      })
      server.timeout = 0
      server.on('connection', (s: Socket) => {
        sockets.add(s)
        s.once('close', () => sockets.delete(s))
        // Peer credentials are read here, in the tick the connection was accepted (peercred.ts).
        if (l.address.kind === 'unix') contextOf.set(s, unixPeer(s, reader, wantGroups))
        else if (tls === undefined) contextOf.set(s, tcpPeer(s))
      })
      if (tls !== undefined) {
        server.on('secureConnection', (s: TLSSocket) => contextOf.set(s, tlsPeer(s)))
        server.on('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => {
          deps.logger.info({ listener: name, client: { address: s.remoteAddress, port: s.remotePort }, err: err.code ?? err.message }, `TLS handshake refused on ${name}`)
        })
      }
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        void handleRequest(contextOf.get(req.socket), req, res)
      })
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        hijacked.add(socket)
        socket.once('close', () => hijacked.delete(socket))
        void handleUpgrade(contextOf.get(socket), req, socket, head)
      })
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
        deps.logger.debug({ err: err.code ?? err.message }, 'malformed HTTP request')
        handleClientError(contextOf.get(socket), err, socket)
      })
      await listen(server, l.address, { mode: l.mode, uid: l.uid, gid: l.gid })
      servers.push({ server, address: l.address })
      const how = tls === undefined ? '' : tls.ca === undefined ? ' over TLS' : ' over mutual TLS'
      const who = (l.clients ?? []).map((c) => `, ${c.label} (${c.match.kind}) → ${c.policy.name}`).join('')
      deps.logger.info({ listener: name, policy: l.policy.name }, `listening on ${name}${how} with policy ${l.policy.name}${who}`)
    }
    if (config.admin) {
      const admin = await startAdmin(config.admin, { registry: metrics.registry, upstream })
      started.push(admin.close)
      deps.logger.info(`admin endpoints (/metrics, /healthz, /readyz) on ${formatAddress(config.admin)}`)
    }
  } catch (err) {
    for (const { server, address } of servers) {
      server.close()
      removeSocketFile(address)
    }
    for (const stop of started) await stop()
    upstream.close()
    throw err
  }

  async function close(graceMs = 5_000): Promise<void> {
    for (const { server, address } of servers) {
      server.close()
      removeSocketFile(address)
    }
    for (const { server } of servers) server.closeIdleConnections()
    // End open streams cleanly: a streamed response gets its terminating chunk, a hijacked
    // connection a FIN; clients see the end of the stream rather than a reset.
    for (const res of streaming) endStream(res)
    for (const s of hijacked) s.end()
    const deadline = Date.now() + graceMs
    while (sockets.size > 0 && Date.now() < deadline) {
      // A keep-alive connection whose last response just ended (a stream ended above, a plain
      // request that was in flight) is idle now: close it rather than wait for the client.
      for (const { server } of servers) server.closeIdleConnections()
      await new Promise((r) => setTimeout(r, 20))
    }
    for (const s of sockets) s.destroy()
    for (const stop of started) await stop()
    forwarder.close()
    upstream.close()
  }

  return { metrics, close }
}

/** Per-connection contexts of one listener: set when a connection is identified, got per request. */
interface ConnectionContexts {
  set(socket: object, peer: Peer): void
  /** The connection's context; a connection never identified (a bug) gets one that refuses. */
  get(socket: object): ListenerContext
}

/**
 * One context per `clients:` entry (its policy, and a logger bound to that policy's name) is made
 * once here; a connection's context is the one of its entry, or the listener's, with its client.
 */
function connectionContexts(base: Omit<ListenerContext, 'client'>, l: ListenerConfig, logger: Logger): ConnectionContexts {
  const clients = l.clients ?? []
  const byEntry = new Map(clients.map((e) => [e, {
    ...base,
    policy: e.policy,
    admission: { ...base.admission, policy: e.policy },
    logger: logger.child({ listener: base.listener, policy: e.policy.name }),
  }]))
  const contexts = new WeakMap<object, ListenerContext>()
  const lost: ListenerContext = {
    ...base,
    client: {
      peer: { transport: 'unix', error: 'connection was never identified' },
      audit: { error: 'connection was never identified' },
      refusal: new DockgateError('DG_INTERNAL', 'internal error in dockgate: this connection was never identified; the request was not forwarded'),
    },
  }
  return {
    set(socket, peer) {
      const client = chooseClient(peer, clients, l.tenant)
      contexts.set(socket, { ...((client.entry && byEntry.get(client.entry)) || base), client })
    },
    get: (socket) => contexts.get(socket) ?? lost,
  }
}

/** Says at start what peer credentials mean here: unavailable, and whom that refuses. */
function announcePeerCredentials(listeners: readonly ListenerConfig[], reader: PeerCredentialReader, logger: Logger): void {
  if (reader.available) return
  const unix = listeners.filter((l) => l.address.kind === 'unix')
  if (unix.length === 0) return
  logger.warn(`unix peer credentials (uid/gid/pid) are not available: ${reader.reason ?? 'unknown reason'}; audit records of unix listeners carry no uid`)
  for (const l of unix) {
    const needs = (l.clients ?? []).filter((c) => c.match.kind !== 'subject')
    if (needs.length > 0) {
      logger.error(`${formatAddress(l.address)} chooses policies by ${needs.map((c) => `${c.label} (${c.match.kind})`).join(', ')}: without peer credentials every connection to it is refused (DG_DENY_IDENTITY)`)
    }
  }
}
