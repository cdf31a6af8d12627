/**
 * The request path, in one place. Every request — plain, streamed or hijacked — is admitted by
 * the same ordered steps (admission.ts: normalise → policy → API version floor → content type →
 * body guard → target), then forwarded (forward.ts) or spliced (hijack.ts), and recorded
 * (audit.ts, metrics.ts). The two handlers below differ only in how a body is read and how the
 * answer travels. A DockgateError refuses the request; any other exception is a bug and answers
 * 500 DG_INTERNAL — it never lets a request through.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { admit, hasBody, type AdmissionContext, type Admitted, type RequestHead } from './admission.js'
import type { CompiledPolicy } from './policy/compile.js'
import type { SelfIdentity } from './guards/types.js'
import { readBody, type BodyBudget, type BodyLimits, type HeldBody } from './body.js'
import { readUpgradeBody, hijack } from './hijack.js'
import type { Forwarder } from './forward.js'
import type { Upstream } from './upstream.js'
import { DockgateError, isDockgateError } from './errors.js'
import { sendError, sendErrorRaw } from './respond.js'
import { audit, nextRequestId } from './audit.js'
import type { Metrics } from './metrics.js'
import { noteObject, record, recordStart, skipBytes, startTrack, type Outcome, type Track } from './record.js'
import type { ApiRequest } from './types.js'
import type { ConnectionClient } from './connection.js'
import { redactPlan } from './redact/apply.js'

/**
 * Everything a connection's requests need. server.ts builds one per listener (and per `clients:`
 * entry) at start, and derives one per connection from it with the connection's `client`.
 */
export interface ListenerContext {
  readonly listener: string
  /** The connection's policy: its `clients:` entry's, else the listener's. */
  readonly policy: CompiledPolicy
  /** The admission steps' view of this listener (policy, self, engine lookups, mode). */
  readonly admission: AdmissionContext
  readonly upstream: Upstream
  readonly forwarder: Forwarder
  readonly limits: BodyLimits
  /** Largest engine answer read whole to redact it (limits.response_bytes). */
  readonly responseBytes: number
  /** Bytes of bodies held for inspection, shared by every listener of this dockgate. */
  readonly budget: BodyBudget
  /** For what goes wrong (internal errors): bound to the listener and policy. */
  readonly logger: Logger
  /** For audit records (record.ts): unbound, since each record names its listener and policy once. */
  readonly auditLogger: Logger
  readonly metrics: Metrics
  readonly self: SelfIdentity
  /**
   * Registers a streamed response (events, logs, stats, save/load…) so that shutdown can end it
   * cleanly. Only streams: adding every response to a Set made V8 keep per-request objects alive
   * through young-generation GCs (bench: RSS 118 → 260 MiB and +20% CPU under HEAD /_ping load).
   */
  readonly trackStream: (res: ServerResponse) => void
  /** Who is calling on this connection, and what that decided (connection.ts). */
  readonly client: ConnectionClient
}

function asDockgateError(err: unknown, logger: Logger): DockgateError {
  if (isDockgateError(err)) return err
  logger.error({ err }, 'internal error while admitting a request')
  return new DockgateError('DG_INTERNAL', 'internal error in dockgate; the request was not forwarded')
}

function refusalFields(err: DockgateError): Outcome {
  return {
    // A refusal dockgate chose (a 4xx, or 503 at its body budget) is a denial; an engine that
    // failed or a bug is an error.
    decision: err.status >= 500 && err.code !== 'DG_LIMIT_BODY_BUDGET' ? 'error' : 'deny',
    code: err.code,
    reason: err.message,
    rule: err.source.rule,
    status: err.status,
    ...(err.source.violations ? { violations: err.source.violations } : {}),
  }
}

/** How a request that passed admission is recorded: allowed, or (audit-only) what would have refused it. */
function passFields(admitted: Admitted, status: number | undefined): Outcome {
  const [first] = admitted.wouldDeny
  if (first === undefined) return { decision: 'allow', rule: admitted.rule, status, ...(admitted.note === undefined ? {} : { reason: admitted.note }) }
  const violations = admitted.wouldDeny.flatMap((e) => e.source.violations ?? [])
  return {
    decision: 'would-deny',
    code: first.code,
    reason: admitted.wouldDeny.map((e) => e.message).join('; '),
    rule: admitted.wouldDeny.map((e) => e.source.rule).filter((r) => r !== undefined).join(',') || admitted.rule,
    status,
    ...(violations.length > 0 ? { violations } : {}),
  }
}

function headOf(req: IncomingMessage, upgrade: boolean): RequestHead {
  return { method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, headers: req.headers, rawHeaders: req.rawHeaders, upgrade }
}

/** Most of a refused body dockgate reads to the void before it closes the connection instead (bytes). */
const DISCARD_LIMIT = 64 * 1024 * 1024
/** How long a refused body may take to arrive before the connection is closed (ms). */
const DISCARD_TIMEOUT_MS = 30_000

/** Sockets whose refusal was sent while their body was still being discarded. */
const ANSWERED_WHILE_DISCARDING = new WeakSet<object>()
/** The response being written on each connection, for handleClientError. */
const CURRENT_RESPONSE = new WeakMap<object, ServerResponse>()

function discardBody(req: IncomingMessage): void {
  const socket = req.socket
  ANSWERED_WHILE_DISCARDING.add(socket)
  let seen = 0
  const timer = setTimeout(() => socket.destroy(), DISCARD_TIMEOUT_MS)
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length
    if (seen > DISCARD_LIMIT) socket.destroy()
  })
  req.once('end', () => {
    clearTimeout(timer)
    ANSWERED_WHILE_DISCARDING.delete(socket)
  })
  req.once('close', () => clearTimeout(timer))
  req.resume()
}

/**
 * Handler for bytes node:http cannot parse as HTTP/1.1 (its strict parser refuses Content-Length
 * with Transfer-Encoding, duplicate Content-Length, a Transfer-Encoding that does not end in
 * chunked, bad chunk sizes, bad header bytes): nothing of such a request is forwarded. Answer 400
 * and close, unless a response to this request has already begun (the head was fine and was
 * refused or forwarded, the body was not): a second status line would corrupt that response, so
 * the connection is just closed (after the response when it is complete).
 */
export function handleClientError(ctx: ListenerContext, err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex): void {
  const current = CURRENT_RESPONSE.get(socket)
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  if (ANSWERED_WHILE_DISCARDING.has(socket)) {
    // The refusal was already sent; the body that broke was being thrown away. Nothing to add.
    socket.end()
    socket.once('finish', () => socket.destroy())
    return
  }
  if (current?.headersSent) {
    if (current.writableEnded) socket.end()
    else socket.destroy()
    return
  }
  const why = err.reason ?? err.message
  const e = new DockgateError('DG_REQ_MALFORMED_HTTP', `malformed HTTP request: ${why} (${err.code ?? 'parse error'}); nothing was forwarded`)
  const operation = 'unknown'
  audit(ctx.auditLogger, { id: nextRequestId(), listener: ctx.listener, policy: ctx.policy.name, client: ctx.client.audit, method: '', path: '', operation, ...refusalFields(e), durationMs: 0 })
  ctx.metrics.requests.inc({ listener: ctx.listener, policy: ctx.policy.name, operation, decision: 'deny', code: e.code })
  sendErrorRaw(socket, e)
  // Then close both ways, as node:http does for its own 400s: the request whose body broke may be
  // on its way to the engine, and only the end of this connection aborts it (forward.ts).
  if (socket.writableFinished) socket.destroy()
  else socket.once('finish', () => socket.destroy())
}

/**
 * A refusal or a failure: its record first, then the answer. The record is written at once
 * (audit.ts), so a client that has its answer finds the record in the log; the answer's own bytes
 * are then left out of this record's bytesOut, and out of the next request's.
 */
function answerAfterRecord(ctx: ListenerContext, req: IncomingMessage, t: Track, api: ApiRequest | undefined, fields: Outcome, answer: () => void): void {
  record(ctx, req, t, api, fields)
  answer()
  skipBytes(t)
}

/** Handler for ordinary requests (plain and streamed). */
export async function handleRequest(ctx: ListenerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t = startTrack(req.socket)
  CURRENT_RESPONSE.set(req.socket, res)
  let api: ApiRequest | undefined
  let held: HeldBody | undefined
  let admitted: Admitted
  const read = async (): Promise<Buffer> => {
    held = await readBody(req, ctx.limits, ctx.budget)
    ctx.metrics.bodyBytes.inc({ operation: api?.operation.id ?? 'unknown' }, held.bytes.length)
    return held.bytes
  }
  try {
    if (ctx.client.refusal) throw ctx.client.refusal
    const result = admit(ctx.admission, headOf(req, false), read, (a) => {
      api = a
      t.first = a
    })
    admitted = result instanceof Promise ? await result : result
  } catch (err) {
    held?.release()
    noteObject(t, held?.bytes)
    if (!isDockgateError(err) && req.destroyed) {
      // The client left while its body was being read: nothing was forwarded.
      record(ctx, req, t, api, { decision: 'aborted', reason: 'the client closed the connection before its request was complete' })
      return
    }
    const e = asDockgateError(err, ctx.logger)
    // A refused request's body is never forwarded. If it is still arriving (docker cp, build,
    // load), answer now and read the rest to the void, as Go's server does: closing at once would
    // break the client's pipe before it reads the answer. Node's parser keeps the body inside its
    // framing, so what follows it on the connection is judged as a request of its own.
    // (`req.complete` alone cannot tell: a refusal made before the first await runs while
    // node:http is still inside the packet, before it has marked even a body-less request complete.)
    if (!req.complete && hasBody(req.headers)) discardBody(req)
    answerAfterRecord(ctx, req, t, api, refusalFields(e), () => sendError(res, e, req.method ?? 'GET'))
    return
  }
  api = admitted.api
  noteObject(t, admitted.body ?? held?.bytes)
  const kind = api.operation.stream
  if (kind !== 'none') {
    // On record before anything is forwarded: a stream that lasts hours is seen while it lasts.
    recordStart(ctx, req, t, api, kind, passFields(admitted, undefined))
    ctx.trackStream(res)
  }
  // Only operations whose answer carries values this policy hides are read whole (redact/).
  const plan = redactPlan(ctx.policy.redact, api.operation)
  const redact = plan === undefined ? undefined : { plan, limitBytes: ctx.responseBytes, budget: ctx.budget }
  const outcome = await ctx.forwarder.forward(req, res, api, { body: admitted.body, filter: admitted.filter, onStatus: admitted.onEngineStatus, redact })
  // No answer from the engine: a pending re-create is released (the hook heeds its first call only).
  admitted.onEngineStatus?.(0)
  held?.release()
  if (!outcome.ok && 'refused' in outcome) {
    // The body filter refused mid-stream (a build context's Dockerfile): the engine's request was
    // cut short. Answer, and read the rest of the upload to the void as for an early refusal.
    const e = asDockgateError(outcome.refused, ctx.logger)
    if (!req.complete && hasBody(req.headers)) discardBody(req)
    answerAfterRecord(ctx, req, t, api, refusalFields(e), () => sendError(res, e, req.method ?? 'GET'))
    return
  }
  if (!outcome.ok && outcome.error) {
    const failed = outcome.error
    if (failed.code.startsWith('DG_UPSTREAM_')) ctx.metrics.upstreamErrors.inc({ code: failed.code })
    answerAfterRecord(ctx, req, t, api, { ...refusalFields(failed), decision: 'error', rule: admitted.rule }, () => sendError(res, failed, req.method ?? 'GET'))
    return
  }
  const redacted = outcome.ok ? outcome.redacted : undefined
  if (redacted !== undefined) for (const k of redacted) ctx.metrics.redacted.inc({ operation: api.operation.id, kind: k })
  record(ctx, req, t, api, { ...passFields(admitted, res.statusCode), ...(redacted !== undefined && redacted.length > 0 ? { redacted } : {}) })
}

/** Handler for requests carrying `Connection: Upgrade` — same admission, then hijack. */
export async function handleUpgrade(ctx: ListenerContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const t = startTrack(socket)
  let api: ApiRequest | undefined
  let held: HeldBody | undefined
  let surplus: Buffer = Buffer.alloc(0)
  socket.on('error', () => socket.destroy())
  // The body is read exactly as framed by Content-Length (checked by the upgrade step), once.
  const read = async (): Promise<Buffer> => {
    if (held === undefined) {
      const r = await readUpgradeBody(socket, head, Number(req.headers['content-length'] ?? '0'), ctx.limits.timeoutMs, ctx.budget)
      held = r.held
      surplus = r.surplus
    }
    return held.bytes
  }
  let admitted: Admitted
  let body: Buffer
  try {
    if (ctx.client.refusal) throw ctx.client.refusal
    const result = admit(ctx.admission, headOf(req, true), read, (a) => {
      api = a
      t.first = a
    })
    admitted = result instanceof Promise ? await result : result
    body = admitted.body ?? (await read())
  } catch (err) {
    held?.release()
    if (!isDockgateError(err) && socket.destroyed) {
      record(ctx, req, t, api, { decision: 'aborted', reason: 'the client closed the connection before its request was complete' })
      return
    }
    const e = asDockgateError(err, ctx.logger)
    answerAfterRecord(ctx, req, t, api, refusalFields(e), () => sendErrorRaw(socket, e))
    return
  }
  // The body is small and about to be written upstream; it no longer counts against the budget.
  held?.release()
  api = admitted.api
  // A session (exec -it, attach) is on record as soon as it is admitted, not only when it ends.
  recordStart(ctx, req, t, api, 'hijack', passFields(admitted, undefined))
  const outcome = await hijack(req, socket, api, ctx.upstream, body, surplus)
  if (outcome.error) {
    const failed = outcome.error
    ctx.metrics.upstreamErrors.inc({ code: failed.code })
    answerAfterRecord(ctx, req, t, api, { ...refusalFields(failed), decision: 'error', rule: admitted.rule }, () => {
      if (!socket.destroyed) sendErrorRaw(socket, failed)
    })
    return
  }
  record(ctx, req, t, api, passFields(admitted, outcome.status))
}
