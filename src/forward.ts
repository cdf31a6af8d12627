/**
 * Plain and streamed requests to the engine through http-proxy.
 *
 * - The request target sent upstream is exactly the canonical `ApiRequest.target` that was decided
 *   on: http-proxy's own path handling (url.parse + join) is bypassed with `toProxy` + `ignorePath`
 *   and the target path passed per request.
 * - Streams are never buffered and have no idle timeout: `docker logs -f` and `events` last hours.
 * - A client that goes away aborts the upstream request (http-proxy only does this while the
 *   request body is still arriving; a GET whose response is streaming needs it done here).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import httpProxy from 'http-proxy'
import { DockgateError } from './errors.js'
import { UNREACHABLE_CODES, type Upstream } from './upstream.js'
import type { ApiRequest } from './types.js'

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded; node:http adds its own connection handling.
 * `Expect` too: node:http has already answered `100 Continue` to the client, and http-proxy skips
 * its `proxyReq` event (which arms the abort-on-disconnect below) for requests that carry it.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect']

export type ForwardOutcome = { ok: true } | { ok: false; error: DockgateError | undefined }

export interface Forwarder {
  /**
   * Forward `req` to the engine as `api.target`. When `body` is given (an inspected, canonical
   * JSON body) it replaces the client's body, with a fresh Content-Length and no Transfer-Encoding.
   * Resolves once the exchange is over (or failed); never rejects.
   */
  forward(req: IncomingMessage, res: ServerResponse, api: ApiRequest, body?: Buffer): Promise<ForwardOutcome>
  close(): void
}

export function createForwarder(upstream: Upstream): Forwarder {
  const proxy = httpProxy.createProxyServer({
    agent: upstream.agent,
    toProxy: true, // skip url.parse(req.url): we give the path ourselves
    ignorePath: true,
    prependPath: true,
    xfwd: false,
    changeOrigin: false,
    ws: false,
  })
  // Without a listener http-proxy rethrows; every call below passes its own callback anyway.
  proxy.on('error', () => {})
  // Remembered so that shutdown can end a streamed response cleanly (server.ts).
  proxy.on('proxyRes', (proxyRes, _req, res) => {
    ;(res as ServerResponse & { dgUpstream?: IncomingMessage }).dgUpstream = proxyRes
    // A streamed answer (no Content-Length: wait, events, logs -f, attach without upgrade) must
    // reach the client as soon as the engine sent its headers: `docker run` waits for the
    // headers of POST /containers/{id}/wait before it starts the container. node:http holds
    // headers back until the first body byte, so flush them once http-proxy has copied them.
    if (proxyRes.headers['content-length'] === undefined) {
      process.nextTick(() => {
        if (!res.headersSent && !res.destroyed) res.flushHeaders()
      })
    }
  })
  proxy.on('proxyReq', (proxyReq, req) => {
    const res = (req as IncomingMessage & { dgRes?: ServerResponse }).dgRes
    if (!res) return
    const abort = (): void => {
      if (!res.writableFinished) proxyReq.destroy()
    }
    if (res.destroyed) abort()
    else res.once('close', abort)
  })

  function forward(req: IncomingMessage, res: ServerResponse, api: ApiRequest, body?: Buffer): Promise<ForwardOutcome> {
    for (const h of HOP_BY_HOP) delete req.headers[h]
    if (body !== undefined) {
      delete req.headers['transfer-encoding']
      req.headers['content-length'] = String(body.length)
      if (body.length > 0) req.headers['content-type'] = 'application/json'
    }
    ;(req as IncomingMessage & { dgRes?: ServerResponse }).dgRes = res
    return new Promise((resolve) => {
      let settled = false
      const done = (outcome: ForwardOutcome): void => {
        if (!settled) {
          settled = true
          resolve(outcome)
        }
      }
      res.once('close', () => done({ ok: true }))
      const options: httpProxy.ServerOptions = {
        target: { ...upstream.target, path: api.target } as httpProxy.ServerOptions['target'],
      }
      if (body !== undefined) options.buffer = Readable.from(body.length > 0 ? [body] : [])
      proxy.web(req, res, options, (err: NodeJS.ErrnoException) => {
        if (res.headersSent || req.socket.destroyed) {
          // Mid-stream failure or client gone: nothing more can be said to the client.
          res.destroy()
          done({ ok: false, error: undefined })
          return
        }
        const code = err.code ?? ''
        const error = UNREACHABLE_CODES.has(code)
          ? new DockgateError('DG_UPSTREAM_UNREACHABLE', `cannot reach the Docker engine (${code})`)
          : new DockgateError('DG_UPSTREAM_FAILED', `the Docker engine connection failed (${code || err.message})`)
        done({ ok: false, error })
      })
    })
  }

  return { forward, close: () => proxy.close() }
}
