/**
 * One listening address: its server, who is calling on each of its connections, and the context
 * (policy, limits, engine) each request gets — in generations, so that a reload (reload.ts)
 * applies to the next request while what is under way keeps its own.
 *
 * - A connection is identified once, when it is accepted (unix: peer credentials in that tick,
 *   peercred.ts; TLS: after the handshake). Its context is derived from the listener's current
 *   generation at its first request, and derived again at the first request after a reload: a
 *   keep-alive connection sees a changed policy on its next request.
 * - A request holds the context it started with: a `logs -f` stream or a hijacked `exec -i`
 *   session continues under the generation it was admitted by.
 * - A removed listener stops accepting at once and its socket file is removed; its idle
 *   connections are closed, open streams and sessions run to their end, and a request that still
 *   arrives on one of its connections is refused (DG_DENY_LISTENER_REMOVED) — never served by a policy
 *   the configuration no longer names.
 */
import fs from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import type { Logger } from 'pino'
import type { BodyBudget } from './body.js'
import type { ClientEntry } from './config-clients.js'
import { chooseClient, tcpPeer, tlsPeer, unixPeer, type Peer } from './connection.js'
import type { EngineClient } from './engine-client.js'
import { DockgateError } from './errors.js'
import type { Forwarder } from './forward.js'
import type { SelfIdentity } from './guards/types.js'
import { listen, removeSocketFile } from './listen.js'
import type { Metrics } from './metrics.js'
import type { PeerCredentialReader } from './peercred.js'
import { handleClientError, handleRequest, handleUpgrade, type ListenerContext } from './pipeline.js'
import type { CompiledPolicy } from './policy/compile.js'
import { TLS_MIN_VERSION, type TlsMaterial } from './tls-files.js'
import { formatAddress, type Address, type Upstream } from './upstream.js'

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

/** config.ts DEFAULTS documents each. */
export interface ServerLimits {
  readonly bodyBytes: number
  readonly bodyTimeoutMs: number
  readonly bodyBudgetBytes: number
  readonly lookupTimeoutMs: number
  readonly responseBytes: number
}

/** The engine side and the limits, as one configuration has them (server.ts makes a new one when they change). */
export interface Core {
  readonly upstream: Upstream
  readonly forwarder: Forwarder
  readonly engine: EngineClient
  readonly limits: ServerLimits
}

/** What every listener of one dockgate shares, for its whole life. */
export interface Shared {
  readonly logger: Logger
  readonly metrics: Metrics
  readonly budget: BodyBudget
  readonly self: SelfIdentity
  readonly reader: PeerCredentialReader
  /** Every accepted connection, every hijacked one, every streamed response: for shutdown. */
  readonly sockets: Set<Socket>
  readonly hijacked: Set<Duplex>
  readonly streaming: Set<ServerResponse>
}

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

/** One configuration of a listener: the context of each `clients:` entry, made once. */
interface Generation {
  readonly config: ListenerConfig
  readonly base: Omit<ListenerContext, 'client'>
  readonly byEntry: ReadonlyMap<ClientEntry, Omit<ListenerContext, 'client'>>
  /** gid entries need the peer's supplementary groups. */
  readonly wantGroups: boolean
}

/** One accepted connection: who it is, and its context under the generation it was last derived for. */
interface Connection {
  peer: Peer
  groupsRead: boolean
  gen: Generation | undefined
  ctx: ListenerContext | undefined
}

/** How often a removed listener's connections are checked for idleness (ms). */
const SWEEP_MS = 1_000

const REMOVED = new DockgateError('DG_DENY_LISTENER_REMOVED', 'this listener was removed by a configuration reload; connect to a listener the configuration names')

function generation(l: ListenerConfig, core: Core, shared: Shared): Generation {
  const name = formatAddress(l.address)
  const base: Omit<ListenerContext, 'client'> = {
    listener: name,
    policy: l.policy,
    admission: { policy: l.policy, self: shared.self, engine: core.engine, mode: 'enforce', bodyLimit: core.limits.bodyBytes },
    upstream: core.upstream,
    forwarder: core.forwarder,
    limits: { bytes: core.limits.bodyBytes, timeoutMs: core.limits.bodyTimeoutMs },
    responseBytes: core.limits.responseBytes,
    budget: shared.budget,
    logger: shared.logger.child({ listener: name, policy: l.policy.name }),
    metrics: shared.metrics,
    self: shared.self,
    trackStream: (res) => {
      shared.streaming.add(res)
      res.once('close', () => shared.streaming.delete(res))
    },
  }
  const clients = l.clients ?? []
  const byEntry = new Map(clients.map((e) => [e, {
    ...base,
    policy: e.policy,
    admission: { ...base.admission, policy: e.policy },
    logger: shared.logger.child({ listener: name, policy: e.policy.name }),
  }]))
  return { config: l, base, byEntry, wantGroups: clients.some((c) => c.match.kind === 'gid') }
}

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
  let gen = generation(first, firstCore, shared)
  let removed = false
  const conns = new WeakMap<object, Connection>()
  /** Servers replaced by a reload (TLS switched on or off) whose connections are still open. */
  const retired = new Set<http.Server>()
  /** This listener's accepted connections (raw sockets). */
  const own = new Set<Socket>()

  const identify = (socket: object, peer: Peer, groupsRead: boolean): void => {
    conns.set(socket, { peer, groupsRead, gen: undefined, ctx: undefined })
  }

  const lost = (): ListenerContext => ({
    ...gen.base,
    client: {
      peer: { transport: 'unix', error: 'connection was never identified' },
      audit: { error: 'connection was never identified' },
      refusal: new DockgateError('DG_INTERNAL', 'internal error in dockgate: this connection was never identified; the request was not forwarded'),
    },
  })

  /** The context of the next request on `socket`: its connection's, under the current generation. */
  const contextOf = (socket: object): ListenerContext => {
    const c = conns.get(socket)
    if (c === undefined) return lost()
    if (c.gen !== gen || c.ctx === undefined) {
      // A reload added gid entries: read the groups now (fixed at connect(2), so still the peer's).
      if (gen.wantGroups && !c.groupsRead && c.peer.transport === 'unix' && 'cred' in c.peer) {
        c.peer = unixPeer(socket as Socket, shared.reader, true)
        c.groupsRead = true
      }
      const client = chooseClient(c.peer, gen.config.clients ?? [], gen.config.tenant)
      c.ctx = { ...((client.entry && gen.byEntry.get(client.entry)) || gen.base), client }
      c.gen = gen
    }
    return removed ? { ...c.ctx, client: { ...c.ctx.client, refusal: REMOVED } } : c.ctx
  }

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
      if (l.address.kind === 'unix') identify(s, unixPeer(s, shared.reader, gen.wantGroups), gen.wantGroups)
      else if (tls === undefined) identify(s, tcpPeer(s), true)
    })
    if (tls !== undefined) {
      server.on('secureConnection', (s: TLSSocket) => identify(s, tlsPeer(s), true))
      server.on('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => {
        shared.logger.info({ listener: name, client: { address: s.remoteAddress, port: s.remotePort }, err: err.code ?? err.message }, `TLS handshake refused on ${name}`)
      })
    }
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void handleRequest(contextOf(req.socket), req, res)
    })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      shared.hijacked.add(socket)
      socket.once('close', () => shared.hijacked.delete(socket))
      void handleUpgrade(contextOf(socket), req, socket, head)
    })
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      shared.logger.debug({ err: err.code ?? err.message }, 'malformed HTTP request')
      handleClientError(contextOf(socket), err, socket)
    })
    return server
  }

  const unixOptions = (l: ListenerConfig): { mode: number; uid: number | undefined; gid: number | undefined } => ({ mode: l.mode, uid: l.uid, gid: l.gid })
  let server = makeServer(first)
  await listen(server, first.address, unixOptions(first))

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
      return gen.config
    },
    async update(l, core) {
      const old = gen.config
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
      gen = next
    },
    remove() {
      removed = true
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
