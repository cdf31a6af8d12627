/**
 * Bounded, deadline-limited read of the small JSON bodies a guard must inspect.
 * Streams (build contexts, image loads) never come here: only operations whose guard says
 * `body: 'json'` are read, and only up to `limitBytes`.
 */
import type { IncomingMessage } from 'node:http'
import { DockgateError } from './errors.js'

export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  readonly bytes: number
  /** Time allowed for the whole body to arrive, in milliseconds. */
  readonly timeoutMs: number
}

/**
 * Reads the whole request body whatever its framing (node:http has already removed chunked
 * framing). Resolves to the bytes; rejects with DG_REQ_BODY_TOO_LARGE or DG_REQ_BODY_TIMEOUT.
 * `prefix` holds bytes already read off the socket (the `head` of an upgrade request).
 */
export function readBody(req: IncomingMessage, limits: BodyLimits, prefix?: Buffer): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limits.bytes) {
    return Promise.reject(tooLarge(limits))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = prefix && prefix.length > 0 ? [prefix] : []
    let size = prefix?.length ?? 0
    const timer = setTimeout(() => finish(new DockgateError('DG_REQ_BODY_TIMEOUT', `request body did not arrive within ${limits.timeoutMs} ms`)), limits.timeoutMs)
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limits.bytes) finish(tooLarge(limits))
      else chunks.push(chunk)
    }
    const onEnd = (): void => finish()
    const onError = (err: Error): void => finish(err)
    const onAborted = (): void => finish(new Error('client closed the connection during the request body'))
    function finish(err?: Error): void {
      clearTimeout(timer)
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      if (err) {
        req.resume()
        reject(err)
      } else {
        resolve(Buffer.concat(chunks, size))
      }
    }
    const onClose = (): void => {
      if (!req.complete) onAborted()
    }
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}

function tooLarge(limits: BodyLimits): DockgateError {
  return new DockgateError('DG_REQ_BODY_TOO_LARGE', `request body is larger than the ${limits.bytes}-byte limit for inspected bodies`)
}
