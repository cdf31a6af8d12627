/**
 * Recording one request: its audit record(s) (audit.ts) and its metrics (metrics.ts), from what
 * the pipeline knows. A request that does not stream gets one record; a stream or hijacked
 * session that passed admission gets one when it starts and one when it ends, with the same id.
 *
 * Bytes are counted on the client's connection (socket counters, no per-chunk work): from the end
 * of the previous request on that connection to the end of this one, head included.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { audit, auditLevel, nextRequestId, type AuditRecord } from './audit.js'
import { objectOf } from './audit-object.js'
import { NO_CODE } from './metrics.js'
import type { ListenerContext } from './pipeline.js'
import type { ApiRequest, StreamKind } from './types.js'

export type Outcome = Partial<AuditRecord> & Pick<AuditRecord, 'decision'>

/** One request being recorded. */
export interface Track {
  /** Given when the first record is written (requests whose records are not written need none). */
  id: string | undefined
  readonly started: number
  readonly socket: Duplex
  /** The request as first normalised (the client's names), for `object`. */
  first: ApiRequest | undefined
  /** What the request acts on (audit-object.ts), once known; else found from the request when recorded. */
  object: string | undefined
  /** Set once the start record of a stream or session is written. */
  streaming: Exclude<StreamKind, 'none'> | undefined
}

/** Notes what the request acts on while its body is at hand (a create's Image); the body is not kept. */
export function noteObject(t: Track, body: Buffer | undefined): void {
  // Only a body can add to what the path and query say (base() finds those when it writes the record).
  if (body !== undefined && body.length > 0 && t.first !== undefined) t.object = objectOf(t.first, body)
}

export function startTrack(socket: Duplex): Track {
  return { id: undefined, started: performance.now(), socket, first: undefined, object: undefined, streaming: undefined }
}

/**
 * Byte counters of each connection at the end of its last recorded request: one object per
 * connection, kept beside the socket (no fields added to node's objects).
 */
const MARKS = new WeakMap<Duplex, { read: number; written: number }>()

/** Bytes read and written on the connection since its last recorded request; moves the marks. */
function bytes(socket: Duplex): { bytesIn: number; bytesOut: number } | undefined {
  const { bytesRead: read, bytesWritten: written } = socket as Duplex & { readonly bytesRead?: number; readonly bytesWritten?: number }
  if (typeof read !== 'number' || typeof written !== 'number') return undefined
  let mark = MARKS.get(socket)
  if (mark === undefined) {
    mark = { read: 0, written: 0 }
    MARKS.set(socket, mark)
  }
  const out = { bytesIn: read - mark.read, bytesOut: written - mark.written }
  mark.read = read
  mark.written = written
  return out
}

/** Moves the connection's byte marks past what was written since the last record (a refusal's answer, sent after its record). */
export function skipBytes(t: Track): void {
  bytes(t.socket)
}

function base(ctx: ListenerContext, req: IncomingMessage, t: Track, api: ApiRequest | undefined): AuditRecord {
  const named = t.first ?? api
  const object = t.object ?? (named === undefined ? undefined : objectOf(named))
  return {
    id: (t.id ??= nextRequestId()),
    listener: ctx.listener,
    policy: ctx.policy.name,
    client: ctx.client.audit,
    method: req.method ?? '',
    // Never the query: it can carry credentials.
    path: api?.path ?? (req.url ?? '').split('?')[0]!.slice(0, 200),
    version: api?.version,
    operation: api?.operation.id ?? 'unknown',
    ...(object === undefined ? {} : { object }),
    decision: 'allow',
  }
}

function count(ctx: ListenerContext, operation: string, fields: Outcome): void {
  ctx.metrics.requests.inc({ listener: ctx.listener, policy: ctx.policy.name, operation, decision: fields.decision, code: fields.code ?? NO_CODE })
}

/** The only record of a request that did not stream (refused, failed, or a plain answer), or the end of one that did. */
export function record(ctx: ListenerContext, req: IncomingMessage, t: Track, api: ApiRequest | undefined, fields: Outcome): void {
  const durationMs = Math.round((performance.now() - t.started) * 1000) / 1000
  const counted = bytes(t.socket)
  const operation = api?.operation.id ?? 'unknown'
  // At a level that drops this record (a bench at warn, allowed requests), nothing of it is built.
  if (ctx.auditLogger.isLevelEnabled(auditLevel(fields.decision))) {
    audit(ctx.auditLogger, { ...base(ctx, req, t, api), ...fields, ...counted, durationMs, ...(t.streaming === undefined ? {} : { phase: 'end' as const }) })
  }
  const kind = t.streaming
  if (kind === undefined) {
    count(ctx, operation, fields)
    ctx.metrics.duration.observe({ listener: ctx.listener, operation, decision: fields.decision }, durationMs / 1000)
    return
  }
  ctx.metrics.openStreams.dec({ listener: ctx.listener, kind })
  ctx.metrics.streamDuration.observe({ listener: ctx.listener, kind, operation }, durationMs / 1000)
}

/** A stream or session passed admission: its start record, written at once (audit.ts), before anything is forwarded. */
export function recordStart(ctx: ListenerContext, req: IncomingMessage, t: Track, api: ApiRequest, kind: Exclude<StreamKind, 'none'>, fields: Outcome): void {
  if (ctx.auditLogger.isLevelEnabled(auditLevel(fields.decision))) audit(ctx.auditLogger, { ...base(ctx, req, t, api), ...fields, phase: 'start' })
  count(ctx, api.operation.id, fields)
  ctx.metrics.openStreams.inc({ listener: ctx.listener, kind })
  t.streaming = kind
}
