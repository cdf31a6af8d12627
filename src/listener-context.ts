/**
 * Who is calling on each connection of one listener, and the context each of its requests gets,
 * in generations: a reload (reload.ts) makes a new generation, and a connection's context is
 * derived again at its first request after that — a keep-alive connection sees a changed policy
 * on its next request — while a request holds the context it started with (a `logs -f` stream or
 * a hijacked `exec -i` session continues under the generation that admitted it).
 *
 * A connection is identified once, when it is accepted (unix: peer credentials in that tick,
 * peercred.ts; TLS: after the handshake); which `clients:` entry it matches is decided per
 * generation (connection.ts chooseClient).
 */
import type { RecreateStore } from './recreate/store.js'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { BodyBudget } from './body.js'
import type { ClientEntry } from './config-clients.js'
import { chooseClient, unixPeer, type Peer } from './connection.js'
import type { EngineClient } from './engine-client.js'
import { DockgateError } from './errors.js'
import type { Forwarder } from './forward.js'
import type { SelfIdentity } from './guards/types.js'
import type { Metrics } from './metrics.js'
import type { PeerCredentialReader } from './peercred.js'
import type { ListenerContext } from './pipeline.js'
import type { CompiledPolicy } from './policy/compile.js'
import type { TlsMaterial } from './tls-files.js'
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
  /** Audit-only: policy refusals are recorded as would-deny and forwarded (admission.ts). */
  readonly auditOnly?: boolean | undefined
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
  /** Removals updaters may re-create, remembered under the policy that made them (recreate/). */
  readonly recreate: RecreateStore
  /** Every accepted connection, every hijacked one, every streamed response: for shutdown. */
  readonly sockets: Set<Socket>
  readonly hijacked: Set<Duplex>
  readonly streaming: Set<ServerResponse>
}

/** One configuration of a listener: the context of each `clients:` entry, made once. */
export interface Generation {
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

const REMOVED = new DockgateError('DG_DENY_LISTENER_REMOVED', 'this listener was removed by a configuration reload; connect to a listener the configuration names')

export function generation(l: ListenerConfig, core: Core, shared: Shared): Generation {
  const name = formatAddress(l.address)
  const base: Omit<ListenerContext, 'client'> = {
    listener: name,
    policy: l.policy,
    admission: { policy: l.policy, self: shared.self, engine: core.engine, mode: l.auditOnly === true ? 'audit' : 'enforce', bodyLimit: core.limits.bodyBytes, recreate: shared.recreate },
    upstream: core.upstream,
    forwarder: core.forwarder,
    limits: { bytes: core.limits.bodyBytes, timeoutMs: core.limits.bodyTimeoutMs },
    responseBytes: core.limits.responseBytes,
    budget: shared.budget,
    logger: shared.logger.child({ listener: name, policy: l.policy.name }),
    auditLogger: shared.logger,
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

/** The connections of one listener and their contexts. */
export interface ConnectionTable {
  /** Records who is at the other end of an accepted connection (`groupsRead`: supplementary groups were asked for). */
  identify(socket: object, peer: Peer, groupsRead: boolean): void
  /** The context of the next request on `socket`. */
  contextOf(socket: object): ListenerContext
  /** The generation new connections and requests get. */
  readonly current: Generation
  /** Makes `gen` the current generation. */
  advance(gen: Generation): void
  /** The listener was removed: every later request on its connections is refused. */
  markRemoved(): void
}

export function connectionTable(first: Generation, reader: PeerCredentialReader): ConnectionTable {
  let gen = first
  let removed = false
  const conns = new WeakMap<object, Connection>()
  const lost = (): ListenerContext => ({
    ...gen.base,
    client: {
      peer: { transport: 'unix', error: 'connection was never identified' },
      audit: { error: 'connection was never identified' },
      refusal: new DockgateError('DG_INTERNAL', 'internal error in dockgate: this connection was never identified; the request was not forwarded'),
    },
  })
  return {
    identify(socket, peer, groupsRead) {
      conns.set(socket, { peer, groupsRead, gen: undefined, ctx: undefined })
    },
    contextOf(socket) {
      const c = conns.get(socket)
      if (c === undefined) return lost()
      if (c.gen !== gen || c.ctx === undefined) {
        // A reload added gid entries: read the groups now (fixed at connect(2), so still the peer's).
        if (gen.wantGroups && !c.groupsRead && c.peer.transport === 'unix' && 'cred' in c.peer) {
          c.peer = unixPeer(socket as Socket, reader, true)
          c.groupsRead = true
        }
        const client = chooseClient(c.peer, gen.config.clients ?? [], gen.config.tenant)
        const ctx = (client.entry && gen.byEntry.get(client.entry)) || gen.base
        // A tenant is the connection's (its entry's, else the listener's): its requests are kept to the tenant's objects (admission.ts).
        c.ctx = { ...ctx, client, ...(client.tenant === undefined ? {} : { admission: { ...ctx.admission, tenant: client.tenant } }) }
        c.gen = gen
      }
      return removed ? { ...c.ctx, client: { ...c.ctx.client, refusal: REMOVED } } : c.ctx
    },
    get current() {
      return gen
    },
    advance(next) {
      gen = next
    },
    markRemoved() {
      removed = true
    },
  }
}
