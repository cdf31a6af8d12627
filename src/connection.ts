/**
 * Who is calling, once per connection: the peer's identity (unix: uid/gid/pid from the kernel;
 * TCP: address and port; TLS: also the client certificate's subject and SANs), which of the
 * listener's `clients:` entries it matches (first match wins), and so its policy and tenant.
 *
 * Fail closed: when an entry needs an identity that cannot be read (no peer credentials, no client
 * certificate), the connection is not given the listener's default policy — which could be more
 * than that client's own entry allows — but refused (DG_DENY_IDENTITY on every request).
 */
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { ClientEntry, ClientMatch } from './config-clients.js'
import { DockgateError } from './errors.js'
import type { PeerCredentialReader, PeerCredentials } from './peercred.js'
import { formatSubject, parseSubjectAltNames, subjectFromCertificate, subjectMatches, type Subject } from './subject.js'

/** The other end of one connection, as far as it can be known. */
export type Peer =
  | { readonly transport: 'unix'; readonly cred: PeerCredentials }
  | { readonly transport: 'unix'; readonly error: string }
  | { readonly transport: 'tcp'; readonly address: string; readonly port: number }
  | {
    readonly transport: 'tls'; readonly address: string; readonly port: number
    /** The verified client certificate's subject and SANs; absent when no certificate was asked for. */
    readonly subject?: Subject; readonly sans?: readonly string[]
  }

/** The audit record's `client`: the same frozen object for every request of a connection. */
export interface AuditClient {
  readonly uid?: number
  readonly gid?: number
  readonly pid?: number
  readonly address?: string
  readonly port?: number
  /** Client certificate subject as a `subject:` match would be written (subject.ts). */
  readonly subject?: string
  readonly sans?: readonly string[]
  /** The `clients:` entry that matched: its `name`, else `clients[<index>]`. */
  readonly entry?: string
  /** The tenant the connection is kept to (tenant/). */
  readonly tenant?: string
  /** Why the peer's identity is not known. */
  readonly error?: string
}

/** One connection's client: what pipeline.ts gets as `ctx.client`. */
export interface ConnectionClient {
  readonly peer: Peer
  /** The entry that matched, when one did; it decided the connection's policy and tenant. */
  readonly entry?: ClientEntry
  /** The entry's tenant, else the listener's; absent: no tenant. */
  readonly tenant?: string
  readonly audit: AuditClient
  /** Set when the connection must be refused (its identity is needed and unknown). */
  readonly refusal?: DockgateError
}

/**
 * Reads the peer of a unix-socket connection (call it in the 'connection' event: peercred.ts).
 * `groups`: also read its supplementary groups (a second syscall; needed by gid entries only).
 */
export function unixPeer(socket: Socket, reader: PeerCredentialReader, groups: boolean): Peer {
  const r = reader.read(socket, { groups })
  return 'error' in r ? { transport: 'unix', error: r.error } : { transport: 'unix', cred: r }
}

/** A plain TCP peer. */
export function tcpPeer(socket: Socket): Peer {
  return { transport: 'tcp', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }
}

/** A TLS peer, after the handshake ('secureConnection'): with a client CA, its certificate is verified. */
export function tlsPeer(socket: TLSSocket): Peer {
  const base = { transport: 'tls', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 } as const
  // rejectUnauthorized (server.ts) already closed connections without a valid certificate; this
  // is the same check again, so that an unverified certificate never names a client.
  if (!socket.authorized) return base
  const cert = socket.getPeerCertificate()
  const subject = subjectFromCertificate(cert.subject)
  if (subject === undefined) return base
  return { ...base, subject, sans: parseSubjectAltNames(cert.subjectaltname) }
}

/** Whether `m` matches `peer`: true, false, or unknown (the identity it needs is not known). */
function matches(m: ClientMatch, peer: Peer): boolean | 'unknown' {
  if (m.kind === 'subject') return peer.transport === 'tls' && peer.subject !== undefined ? subjectMatches(m.subject, peer.subject) : 'unknown'
  if (peer.transport !== 'unix') return false // config.ts refuses uid/gid on TCP listeners
  if (!('cred' in peer)) return 'unknown'
  if (m.kind === 'uid') return peer.cred.uid === m.uid
  if (peer.cred.gid === m.gid) return true
  return peer.cred.groups === null ? 'unknown' : peer.cred.groups.includes(m.gid)
}

function auditOf(peer: Peer, entry: ClientEntry | undefined, tenant: string | undefined): AuditClient {
  const label = { ...(entry === undefined ? {} : { entry: entry.label }), ...(tenant === undefined ? {} : { tenant }) }
  switch (peer.transport) {
    case 'unix':
      return Object.freeze('cred' in peer ? { uid: peer.cred.uid, gid: peer.cred.gid, pid: peer.cred.pid, ...label } : { error: peer.error, ...label })
    case 'tcp':
      return Object.freeze({ address: peer.address, port: peer.port, ...label })
    case 'tls':
      return Object.freeze({
        address: peer.address, port: peer.port,
        ...(peer.subject === undefined ? {} : { subject: formatSubject(peer.subject), sans: peer.sans ?? [] }),
        ...label,
      })
  }
}

/** The first entry that matches decides; the listener's tenant serves connections that match none. */
export function chooseClient(peer: Peer, clients: readonly ClientEntry[], listenerTenant: string | undefined): ConnectionClient {
  for (const entry of clients) {
    const m = matches(entry.match, peer)
    if (m === 'unknown') {
      const why = 'error' in peer ? peer.error : 'the client presented no verified certificate'
      const refusal = new DockgateError('DG_DENY_IDENTITY', `this listener chooses a policy by who is calling (${entry.label} matches on ${entry.match.kind}), and this connection's ${entry.match.kind} is not known: ${why}; refused rather than guessed`)
      return { peer, audit: auditOf(peer, undefined, listenerTenant), refusal, ...(listenerTenant === undefined ? {} : { tenant: listenerTenant }) }
    }
    if (m) return { peer, entry, audit: auditOf(peer, entry, entry.tenant), ...(entry.tenant === undefined ? {} : { tenant: entry.tenant }) }
  }
  return { peer, audit: auditOf(peer, undefined, listenerTenant), ...(listenerTenant === undefined ? {} : { tenant: listenerTenant }) }
}
