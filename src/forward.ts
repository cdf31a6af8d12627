/**
 * Plain and streamed requests to the engine, with node:http directly.
 *
 * - The request target sent upstream is exactly the canonical `ApiRequest.target` that was decided on.
 * - Streams are never buffered and have no idle timeout: `docker logs -f` and `events` last hours.
 * - A client that goes away aborts the upstream request.
 * - No http-proxy (the first choice): its per-request passes (option merging, url joins, listener
 *   set-up) cost about 10 ms of CPU per 1,000 requests here, and dockgate uses none of its features:
 *   it sets path, headers and body itself (bench/README.md, "Where dockgate misses its budget").
 */
import http, { type IncomingMessage, type ServerResponse, type OutgoingHttpHeaders } from 'node:http'
import type { Transform } from 'node:stream'
import { isDockgateError, type DockgateError } from './errors.js'
import { formatAddress, upstreamError, type Upstream } from './upstream.js'
import type { ApiRequest } from './types.js'
import type { RedactKind } from './policy/redact.js'
import { hasRedactableBody, readAndRedact, type ResponseRedaction } from './redact/response.js'

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded; node:http frames each side itself.
 * `Expect` too: node:http has already answered `100 Continue` to the client.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'transfer-encoding', 'expect'])

/**
 * `error`: the engine could not be reached or failed (undefined when the client already has an
 * answer); `refused`: the body filter refused the request mid-stream (the upstream request was
 * aborted, the client has no answer yet).
 */
export type ForwardOutcome =
  | { ok: true; /** The kinds of values replaced in the answer (redact/). */ redacted?: readonly RedactKind[] }
  | { ok: false; error: DockgateError | undefined }
  | { ok: false; refused: Error }

/** What replaces or watches the plain exchange (each optional). */
export interface ForwardOptions {
  /** The inspected, canonical JSON body, in place of the client's. */
  readonly body?: Buffer | undefined
  /** A guard that reads the streamed body as it passes (a build context). */
  readonly filter?: Transform | undefined
  /** Hears the engine's status before the client does. */
  readonly onStatus?: ((status: number) => void) | undefined
  /** Values to hide in the engine's answer. */
  readonly redact?: ResponseRedaction | undefined
}

export interface Forwarder {
  /**
   * Forward `req` to the engine as `api.target`. When `body` is given (an inspected, canonical
   * JSON body) it replaces the client's body, with a fresh Content-Length and no Transfer-Encoding.
   * When `filter` is given (a guard that reads a streamed body, admission.ts streamStep), the
   * client's body goes through it and its output is forwarded, chunked. `onStatus` hears the
   * engine's status before the client does (so that what it records is in place when the client's
   * next request arrives). When `redact` is given (the policy hides values in this operation's
   * answer), the answer is read whole and redacted before anything is sent (redact/response.ts);
   * otherwise it is piped. Resolves once the exchange is over (or failed); never rejects.
   */
  forward(req: IncomingMessage, res: ServerResponse, api: ApiRequest, opts?: ForwardOptions): Promise<ForwardOutcome>
  close(): void
}

/** The engine's response behind each forwarded response, so that shutdown can end streams (endStream). */
const upstreamOf = new WeakMap<ServerResponse, IncomingMessage>()

/**
 * Ends a streamed response cleanly: stops reading the engine's side and sends the client the end
 * of the stream (the terminating chunk), rather than a reset. For shutdown (server.ts).
 */
export function endStream(res: ServerResponse): void {
  if (!res.headersSent) return
  const up = upstreamOf.get(res)
  if (up !== undefined) {
    up.unpipe(res)
    up.destroy()
  }
  res.end()
}

export function createForwarder(upstream: Upstream): Forwarder {
  function forward(req: IncomingMessage, res: ServerResponse, api: ApiRequest, opts: ForwardOptions = {}): Promise<ForwardOutcome> {
    const { body, filter, onStatus, redact } = opts
    return new Promise((resolve) => {
      let settled = false
      const done = (outcome: ForwardOutcome): void => {
        if (!settled) {
          settled = true
          resolve(outcome)
        }
      }
      const headers: OutgoingHttpHeaders = {}
      const raw = req.rawHeaders
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = raw[i]!
        const lower = name.toLowerCase()
        if (HOP_BY_HOP.has(lower)) continue
        const prev = headers[name]
        headers[name] = prev === undefined ? raw[i + 1]! : Array.isArray(prev) ? [...prev, raw[i + 1]!] : [String(prev), raw[i + 1]!]
      }
      // HTTP/1.0 has no Host requirement and Fluent Bit's docker_events input sends none; the engine,
      // spoken to in HTTP/1.1, refuses a request without one (400 "missing required Host header").
      if (req.headers.host === undefined) headers['Host'] = 'localhost'
      if (req.headers['transfer-encoding'] !== undefined && body === undefined) headers['Transfer-Encoding'] = 'chunked'
      if (filter !== undefined) {
        // The filter's output is not the client's length (held back, or decompressed).
        for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-length') delete headers[k]
        headers['Transfer-Encoding'] = 'chunked'
      }
      if (body !== undefined) {
        for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-length' || k.toLowerCase() === 'content-type') delete headers[k]
        headers['Content-Length'] = String(body.length)
        if (body.length > 0) headers['Content-Type'] = 'application/json'
      }
      const upReq = http.request({ ...upstream.target, agent: upstream.agent, method: api.method, path: api.target, headers, setHost: false })
      upReq.on('response', (upRes: IncomingMessage) => {
        upstreamOf.set(res, upRes)
        onStatus?.(upRes.statusCode ?? 0)
        const out: string[] = []
        const rh = upRes.rawHeaders
        for (let i = 0; i + 1 < rh.length; i += 2) if (!HOP_BY_HOP.has(rh[i]!.toLowerCase())) out.push(rh[i]!, rh[i + 1]!)
        if (redact !== undefined && hasRedactableBody(api.method, upRes)) {
          sendRedacted(upRes, res, out, redact, api.operation.id, formatAddress(upstream.address)).then((redacted) => done({ ok: true, redacted }), (err: unknown) => {
            // Nothing was sent: the pipeline answers with the refusal; an engine that failed midway is DG_UPSTREAM_FAILED.
            done({ ok: false, error: isDockgateError(err) ? err : upstreamError(err as NodeJS.ErrnoException, upstream.address) })
          })
          return
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out)
        // A streamed answer must reach the client as soon as the engine sent its headers.
        if (upRes.headers['content-length'] === undefined) res.flushHeaders()
        upRes.on('error', () => res.destroy())
        upRes.pipe(res)
      })
      upReq.on('error', (err: NodeJS.ErrnoException) => {
        if (res.headersSent || req.socket.destroyed) {
          res.destroy()
          done({ ok: false, error: undefined })
          return
        }
        done({ ok: false, error: upstreamError(err, upstream.address) })
      })
      res.once('close', () => {
        if (!res.writableFinished) upReq.destroy()
        done({ ok: true })
      })
      if (body !== undefined) {
        upReq.end(body)
      } else if (filter !== undefined) {
        // --- Body filter hook (ImageBuild's context). A refusal aborts the upstream request: the
        // engine then reads a cut chunked body and fails without building. ---
        filter.once('error', (err: Error) => {
          req.unpipe(filter)
          upReq.destroy()
          done({ ok: false, refused: err })
        })
        req.on('error', () => {
          filter.destroy()
          upReq.destroy()
        })
        req.pipe(filter).pipe(upReq)
      } else {
        req.on('error', () => upReq.destroy())
        req.pipe(upReq)
      }
    })
  }
  return { forward, close: () => {} }
}

/**
 * Reads, redacts and sends one answer, with the engine's status and headers and a Content-Length
 * for the bytes sent. Resolves with the kinds replaced; rejects before anything is sent.
 */
async function sendRedacted(upRes: IncomingMessage, res: ServerResponse, headers: string[], redact: ResponseRedaction, operation: string, engine: string): Promise<readonly RedactKind[]> {
  const answer = await readAndRedact(upRes, redact, operation, engine)
  res.once('close', answer.release)
  const out: string[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]!.toLowerCase() !== 'content-length') out.push(headers[i]!, headers[i + 1]!)
  out.push('Content-Length', String(answer.body.length))
  res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out)
  res.end(answer.body)
  return answer.kinds
}
