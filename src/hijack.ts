/**
 * Hijacked connections: `Upgrade: tcp` (attach, exec start) and `Upgrade: h2c` (BuildKit session).
 *
 * Proxy libraries' websocket paths want `GET` + `Upgrade: websocket`, so dockgate splices these itself
 * (docs/engine-notes.md, "Hijacked connections"). Order matters for safety:
 *   1. the request has already passed the same policy pipeline as any other (pipeline.ts);
 *   2. its body is read exactly as framed by Content-Length, and forwarded with the headers;
 *   3. client bytes after the body are held back until the engine has answered `101`: if the
 *      engine answers anything else, those bytes would be parsed as a new, unchecked request, so the
 *      response is relayed and the connection closed instead;
 *   4. after `101`, bytes flow both ways untouched, and each direction's end is passed on alone
 *      (half-close), so `docker exec -i c cat <file` ends when stdin ends.
 */
import http, { type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type net from 'node:net'
import type { BodyBudget, HeldBody } from './body.js'
import { DockgateError } from './errors.js'
import { upstreamError, type Upstream } from './upstream.js'
import type { ApiRequest } from './types.js'

const DROP = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'content-length', 'host'])

export interface HijackOutcome {
  /** Status the engine answered (101 when spliced), or undefined when it was never reached. */
  status: number | undefined
  error?: DockgateError
}

/**
 * Reads exactly `length` body bytes from `head` + socket, within the shared body budget; returns
 * them (with a `release` for the budget) and any client bytes already read past them.
 */
export function readUpgradeBody(socket: Duplex, head: Buffer, length: number, timeoutMs: number, budget: BodyBudget): Promise<{ held: HeldBody; surplus: Buffer }> {
  try {
    budget.take(length)
  } catch (err) {
    return Promise.reject(err)
  }
  let taken = length
  const release = (): void => {
    budget.give(taken)
    taken = 0
  }
  if (head.length >= length) return Promise.resolve({ held: { bytes: head.subarray(0, length), release }, surplus: head.subarray(length) })
  return new Promise((resolve, reject) => {
    const chunks = [head]
    let size = head.length
    const timer = setTimeout(() => finish(new DockgateError('DG_REQ_BODY_TIMEOUT', `request body did not arrive within ${timeoutMs} ms`)), timeoutMs)
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= length) finish()
    }
    const onEnd = (): void => finish(new Error('client closed the connection during the request body'))
    function finish(err?: Error): void {
      clearTimeout(timer)
      socket.off('data', onData).off('end', onEnd).off('error', onEnd)
      socket.pause()
      if (err) {
        release()
        return reject(err)
      }
      const all = Buffer.concat(chunks, size)
      resolve({ held: { bytes: all.subarray(0, length), release }, surplus: all.subarray(length) })
    }
    socket.on('data', onData).once('end', onEnd).once('error', onEnd)
    socket.resume()
  })
}

function headerBlock(statusLine: string, rawHeaders: string[], skip: ReadonlySet<string>, extra: string[]): string {
  let out = statusLine + '\r\n'
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!skip.has(rawHeaders[i]!.toLowerCase())) out += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  }
  for (const line of extra) out += line + '\r\n'
  return out + '\r\n'
}

/** Splice two sockets, passing each direction's end on separately. */
function splice(client: Duplex, engine: net.Socket, onClose: () => void): void {
  let closed = 0
  const closeOne = (): void => {
    if (++closed === 2) onClose()
  }
  const fail = (): void => {
    client.destroy()
    engine.destroy()
  }
  client.on('error', fail).once('close', () => {
    engine.destroy()
    closeOne()
  })
  engine.on('error', fail).once('close', () => {
    // The engine closed both ways: nothing more can come; finish what is buffered, then close.
    client.end()
    closeOne()
  })
  client.pipe(engine)
  engine.pipe(client)
  client.resume()
}

/**
 * Forward an upgrade request that the pipeline allowed, and splice on `101`.
 * `body` is the exact request body (may be empty); `surplus` is client data already read past it.
 */
export function hijack(req: IncomingMessage, client: Duplex, api: ApiRequest, upstream: Upstream, body: Buffer, surplus: Buffer): Promise<HijackOutcome> {
  return new Promise((resolve) => {
    // From rawHeaders, in order and one line per value: a repeated header must reach the engine
    // repeated. BuildKit's session sends one X-Docker-Expose-Session-Grpc-Method line per method and
    // the engine reads them as a list (moby session/session.go); joined with ", " (req.headers)
    // they name no method, and the build fails with "no local sources enabled".
    const headers: string[] = []
    const raw = req.rawHeaders
    for (let i = 0; i + 1 < raw.length; i += 2) if (!DROP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!)
    // With headers as a list node:http adds no Host of its own: name the engine as it would.
    const host = 'host' in upstream.target ? `${upstream.target.host.includes(':') ? `[${upstream.target.host}]` : upstream.target.host}:${upstream.target.port}` : 'localhost'
    headers.push('Host', host, 'Connection', 'Upgrade', 'Upgrade', String(req.headers['upgrade']), 'Content-Length', String(body.length))
    const upReq = http.request({
      ...upstream.target,
      method: api.method,
      path: api.target,
      headers,
      agent: false,
      createConnection: () => upstream.connect(),
    })
    let settled = false
    const done = (o: HijackOutcome): void => {
      if (!settled) {
        settled = true
        resolve(o)
      }
    }
    // A client that leaves before the engine answers aborts the request.
    const onEarlyClose = (): void => {
      upReq.destroy()
      done({ status: undefined })
    }
    client.once('close', onEarlyClose)

    upReq.on('upgrade', (upRes: IncomingMessage, engine: net.Socket, upHead: Buffer) => {
      client.off('close', onEarlyClose)
      client.write(headerBlock(`HTTP/1.1 101 ${upRes.statusMessage || 'UPGRADED'}`, upRes.rawHeaders, new Set(), []))
      if (upHead.length > 0) client.write(upHead)
      if (surplus.length > 0) engine.write(surplus)
      splice(client, engine, () => done({ status: 101 }))
    })
    upReq.on('response', (upRes: IncomingMessage) => {
      // No upgrade: relay the answer, then close; never parse further client bytes.
      client.off('close', onEarlyClose)
      client.write(
        headerBlock(`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}`, upRes.rawHeaders, new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']), ['Connection: close']),
      )
      upRes.pipe(client)
      upRes.on('end', () => {
        client.end()
        done({ status: upRes.statusCode })
      })
      upRes.on('error', () => {
        client.destroy()
        done({ status: upRes.statusCode })
      })
      client.once('close', () => upReq.destroy())
    })
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      client.off('close', onEarlyClose)
      done({ status: undefined, error: upstreamError(err, upstream.address) })
    })
    upReq.end(body)
  })
}
