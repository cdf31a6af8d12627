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
import { audit, nextRequestId, type AuditRecord } from './audit.js'
import { objectOf } from './audit-object.js'
import { NO_CODE } from './metrics.js'
import type { ListenerContext } from './pipeline.js'
import type { ApiRequest, StreamKind } from './types.js'

export type Outcome = Partial<AuditRecord> & Pick<AuditRecord, 'decision'>

/** One request being recorded. */
export interface Track {
  readonly id: string
  readonly started: number
  readonly socket: Duplex
  /** The request as first normalised (the client's names), for `object`. */
  first: ApiRequest | undefined
  /** What the request acts on (audit-object.ts), once known; else found from the request when recorded. */
  object: string | undefined
  /** Set once the start record of a stream or session is written. */
  streaming: Exclude<StreamKind, 'none'> | undefined
}

/** Byte counters of each connection at the end of its last recorded request. */
const MARKS = new WeakMap<object, { read: number; written: number }>()

interface Counted {
  readonly bytesRead?: number
  readonly bytesWritten?: number
}

/** Notes what the request acts on while its body is at hand (a create's Image); the body is not kept. */
export function noteObject(t: Track, body: Buffer | undefined): void {
  if (t.first !== undefined) t.object = objectOf(t.first, body)
}

export function startTrack(socket: Duplex): Track {
  return { id: nextRequestId(), started: performance.now(), socket, first: undefined, object: undefined, streaming: undefined }
}

function bytes(socket: Duplex): { bytesIn: number; bytesOut: number } | undefined {
  const s = socket as Duplex & Counted
  if (typeof s.bytesRead !== 'number' || typeof s.bytesWritten !== 'number') return undefined
  const mark = MARKS.get(socket) ?? { read: 0, written: 0 }
  MARKS.set(socket, { read: s.bytesRead, written: s.bytesWritten })
  return { bytesIn: s.bytesRead - mark.read, bytesOut: s.bytesWritten - mark.written }
}

function base(ctx: ListenerContext, req: IncomingMessage, t: Track, api: ApiRequest | undefined): AuditRecord {
  const named = t.first ?? api
  const object = t.object ?? (named === undefined ? undefined : objectOf(named))
  return {
    id: t.id,
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
  const rec: AuditRecord = { ...base(ctx, req, t, api), ...fields, ...bytes(t.socket), durationMs, ...(t.streaming === undefined ? {} : { phase: 'end' as const }) }
  audit(ctx.auditLogger, rec)
  const kind = t.streaming
  if (kind === undefined) {
    count(ctx, rec.operation, fields)
    ctx.metrics.duration.observe({ listener: ctx.listener, operation: rec.operation, decision: fields.decision }, durationMs / 1000)
    return
  }
  ctx.metrics.openStreams.dec({ listener: ctx.listener, kind })
  ctx.metrics.streamDuration.observe({ listener: ctx.listener, kind, operation: rec.operation }, durationMs / 1000)
}

/** A stream or session passed admission: its start record, written at once (audit.ts), before anything is forwarded. */
export function recordStart(ctx: ListenerContext, req: IncomingMessage, t: Track, api: ApiRequest, kind: Exclude<StreamKind, 'none'>, fields: Outcome): void {
  const rec: AuditRecord = { ...base(ctx, req, t, api), ...fields, phase: 'start' }
  audit(ctx.auditLogger, rec)
  count(ctx, rec.operation, fields)
  ctx.metrics.openStreams.inc({ listener: ctx.listener, kind })
  t.streaming = kind
}
