/**
 * The request path, in one place. Every request — plain, streamed or hijacked — goes through
 * `normalize()` (normalize.ts), then `admit()` and `inspect()` (admission.ts), then for
 * operations reaching into an existing container `checkTarget()` (target.ts): normalise → decide
 * → version floor → body guards → target container. Only then is it forwarded (forward.ts) or spliced (hijack.ts).
 * Any step can stop the request with a DockgateError; any other exception is a bug and answers
 * 500 DG_INTERNAL — it never lets a request through.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex, Transform } from 'node:stream'
import type { Logger } from 'pino'
import { normalize } from './normalize.js'
import { admit, inspect, inspectStream, type Admitted } from './admission.js'
import { checkCreateVolumes, checkTarget, TARGET_CHECKED } from './target.js'
import type { CompiledPolicy } from './policy/compile.js'
import type { SelfIdentity } from './guards/types.js'
import { readBody, type BodyLimits } from './body.js'
import { readUpgradeBody, hijack } from './hijack.js'
import type { Forwarder } from './forward.js'
import type { Upstream } from './upstream.js'
import { DockgateError, isDockgateError } from './errors.js'
import { sendError, sendErrorRaw } from './respond.js'
import { audit, type AuditRecord } from './audit.js'
import type { Metrics } from './metrics.js'
import type { ApiRequest } from './types.js'

/** Everything a listener's requests need; built once per listener by server.ts. */
export interface ListenerContext {
  readonly listener: string
  readonly policy: CompiledPolicy
  readonly upstream: Upstream
  readonly forwarder: Forwarder
  readonly limits: BodyLimits
  readonly logger: Logger
  readonly metrics: Metrics
  readonly self: SelfIdentity
  /**
   * Registers a streamed response (events, logs, stats, save/load…) so that shutdown can end it
   * cleanly. Only streams: adding every response to a Set made V8 keep per-request objects alive
   * through young-generation GCs (bench: RSS 118 → 260 MiB and +20% CPU under HEAD /_ping load).
   */
  readonly trackStream: (res: ServerResponse) => void
}

/**
 * An HTTP/1.1 request must name a Host (RFC 9112 §3.2); the engine's Go server refuses one that
 * does not. node:http would too, but with an empty 400 (server.ts turns that check off), and
 * not at all for upgrade requests; here both get the same JSON refusal.
 */
function checkHead(req: IncomingMessage): void {
  if (req.httpVersion === '1.1' && req.headers.host === undefined) {
    throw new DockgateError('DG_REQ_MALFORMED_HTTP', 'HTTP/1.1 request without a Host header')
  }
}

function asDockgateError(err: unknown, logger: Logger): DockgateError {
  if (isDockgateError(err)) return err
  logger.error({ err }, 'internal error while admitting a request')
  return new DockgateError('DG_INTERNAL', 'internal error in dockgate; the request was not forwarded')
}

function record(ctx: ListenerContext, req: IncomingMessage, api: ApiRequest | undefined, started: number, fields: Partial<AuditRecord> & Pick<AuditRecord, 'decision'>): void {
  const durationMs = Math.round((performance.now() - started) * 1000) / 1000
  const operation = api?.operation.id ?? 'unknown'
  const rec: AuditRecord = {
    listener: ctx.listener,
    policy: ctx.policy.name,
    method: req.method ?? '',
    // Never the query: it can carry credentials.
    path: api?.path ?? (req.url ?? '').split('?')[0]!.slice(0, 200),
    version: api?.version,
    operation,
    durationMs,
    ...fields,
  }
  audit(ctx.logger, rec)
  ctx.metrics.requests.inc({ decision: fields.decision, operation, policy: ctx.policy.name, code: fields.code ?? '' })
  ctx.metrics.duration.observe({ operation, decision: fields.decision }, durationMs / 1000)
}

function refusalFields(err: DockgateError): Partial<AuditRecord> & Pick<AuditRecord, 'decision'> {
  return {
    decision: err.status >= 500 ? 'error' : 'deny',
    code: err.code,
    reason: err.message,
    rule: err.source.rule,
    status: err.status,
    ...(err.source.violations ? { violations: err.source.violations } : {}),
  }
}

/** True when the request is framed with a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
/** Most of a refused body dockgate reads to the void before it closes the connection instead (bytes). */
const DISCARD_LIMIT = 64 * 1024 * 1024
/** How long a refused body may take to arrive before the connection is closed (ms). */
const DISCARD_TIMEOUT_MS = 30_000

/** Marks a socket whose refusal was sent while its body was still being discarded. */
const ANSWERED_WHILE_DISCARDING = new WeakSet<object>()

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

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
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
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage
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
  audit(ctx.logger, { listener: ctx.listener, policy: ctx.policy.name, method: '', path: '', operation, durationMs: 0, ...refusalFields(e) })
  ctx.metrics.requests.inc({ decision: 'deny', operation, policy: ctx.policy.name, code: e.code })
  sendErrorRaw(socket, e)
  // Then close both ways, as node:http does for its own 400s: the request whose body broke may be
  // on its way to the engine, and only the end of this connection aborts it (forward.ts).
  if (socket.writableFinished) socket.destroy()
  else socket.once('finish', () => socket.destroy())
}

/** Handler for ordinary requests (plain and streamed). */
export async function handleRequest(ctx: ListenerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now()
  let api: ApiRequest | undefined
  let admitted: Admitted
  let body: Buffer | undefined
  let filter: Transform | undefined
  try {
    checkHead(req)
    api = normalize(req.method ?? '', req.url ?? '')
    admitted = admit(ctx.policy, api, req.headers['content-type'])
    const raw = admitted.guard?.body === 'json' ? await readBody(req, ctx.limits) : undefined
    if (raw !== undefined) ctx.metrics.bodyBytes.inc({ operation: api.operation.id }, raw.length)
    body = inspect(ctx.policy, ctx.self, admitted, raw)
    if (!ctx.policy.unguarded && TARGET_CHECKED.has(api.operation.id)) api = await checkTarget(ctx.policy, ctx.self, ctx.upstream, api)
    if (admitted.guard && api.operation.id === 'ContainerCreate' && body) await checkCreateVolumes(ctx.policy, ctx.self, ctx.upstream, admitted.guard, api, body)
    filter = inspectStream(ctx.policy, ctx.self, admitted, ctx.limits)
  } catch (err) {
    if (!isDockgateError(err) && req.destroyed) return // client left while we read its body
    const e = asDockgateError(err, ctx.logger)
    record(ctx, req, api, started, refusalFields(e))
    // A refused request's body is never forwarded. If it is still arriving (docker cp, build,
    // load), answer now and read the rest to the void, as Go's server does: closing at once would
    // break the client's pipe before it reads the answer. Node's parser keeps the body inside its
    // framing, so what follows it on the connection is judged as a request of its own.
    // (`req.complete` alone cannot tell: a refusal made before the first await runs while
    // node:http is still inside the packet, before it has marked even a body-less request complete.)
    if (!req.complete && hasBody(req)) discardBody(req)
    sendError(res, e, req.method ?? 'GET')
    return
  }
  const kind = api.operation.stream
  if (kind !== 'none') {
    ctx.metrics.openStreams.inc({ kind })
    ctx.trackStream(res)
  }
  const outcome = await ctx.forwarder.forward(req, res, api, body, filter)
  if (kind !== 'none') ctx.metrics.openStreams.dec({ kind })
  if (!outcome.ok && 'refused' in outcome) {
    // The body filter refused mid-stream (a build context's Dockerfile): the engine's request was
    // aborted; answer the client and read the rest of its upload to the void, as for early refusals.
    const e = asDockgateError(outcome.refused, ctx.logger)
    record(ctx, req, api, started, refusalFields(e))
    if (!req.complete && hasBody(req)) discardBody(req)
    sendError(res, e, req.method ?? 'GET')
    return
  }
  if (!outcome.ok && outcome.error) {
    ctx.metrics.upstreamErrors.inc({ code: outcome.error.code })
    record(ctx, req, api, started, { ...refusalFields(outcome.error), decision: 'error', rule: admitted.rule })
    sendError(res, outcome.error, req.method ?? 'GET')
    return
  }
  record(ctx, req, api, started, { decision: 'allow', rule: admitted.rule, status: res.statusCode })
}

/** Handler for requests carrying `Connection: Upgrade` — same admission, then hijack. */
export async function handleUpgrade(ctx: ListenerContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const started = performance.now()
  let api: ApiRequest | undefined
  let admitted: Admitted
  let body: Buffer
  let surplus: Buffer
  socket.on('error', () => socket.destroy())
  try {
    checkHead(req)
    api = normalize(req.method ?? '', req.url ?? '')
    admitted = admit(ctx.policy, api, req.headers['content-type'])
    if (api.operation.stream !== 'hijack') {
      throw new DockgateError('DG_REQ_BAD_UPGRADE', `${api.operation.id} (${api.method} ${api.path}) does not take over the connection; Upgrade headers are refused there`)
    }
    if (req.headers['transfer-encoding'] !== undefined) {
      throw new DockgateError('DG_REQ_BAD_UPGRADE', `${api.operation.id}: a chunked body on an upgrade request is refused`)
    }
    const length = Number(req.headers['content-length'] ?? '0')
    if (!Number.isSafeInteger(length) || length < 0) throw new DockgateError('DG_REQ_BAD_UPGRADE', 'invalid Content-Length')
    if (length > ctx.limits.bytes) throw new DockgateError('DG_REQ_BODY_TOO_LARGE', `request body is larger than the ${ctx.limits.bytes}-byte limit`)
    ;({ body, surplus } = await readUpgradeBody(socket, head, length, ctx.limits.timeoutMs))
    const canonical = inspect(ctx.policy, ctx.self, admitted, body)
    if (canonical !== undefined) body = canonical
    if (!ctx.policy.unguarded && TARGET_CHECKED.has(api.operation.id)) api = await checkTarget(ctx.policy, ctx.self, ctx.upstream, api)
  } catch (err) {
    if (!isDockgateError(err) && socket.destroyed) return
    const e = asDockgateError(err, ctx.logger)
    record(ctx, req, api, started, refusalFields(e))
    sendErrorRaw(socket, e)
    return
  }
  ctx.metrics.openStreams.inc({ kind: 'hijack' })
  const outcome = await hijack(req, socket, api, ctx.upstream, body, surplus)
  ctx.metrics.openStreams.dec({ kind: 'hijack' })
  if (outcome.error) {
    ctx.metrics.upstreamErrors.inc({ code: outcome.error.code })
    record(ctx, req, api, started, { ...refusalFields(outcome.error), decision: 'error', rule: admitted.rule })
    if (!socket.destroyed) sendErrorRaw(socket, outcome.error)
    return
  }
  record(ctx, req, api, started, { decision: 'allow', rule: admitted.rule, status: outcome.status })
}
