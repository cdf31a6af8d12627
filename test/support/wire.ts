/**
 * Requests written as an attacker puts them on the wire, and sent to any unix socket (dockgate's or
 * the engine's) with no client library to tidy them up: the body bytes are exactly the string
 * given, framed by Content-Length or chunked as asked. Used by the differential tests, which send
 * the same bytes to the engine directly and through dockgate.
 */
import { rawExchange, type RawResponse } from './raw.js'

export interface WireRequest {
  readonly method: string
  /** Request target as sent, e.g. `/v1.41/containers/create?name=x`. */
  readonly target: string
  /** Extra header lines, in order. Content-Type defaults to application/json when there is a body. */
  readonly headers?: ReadonlyArray<readonly [string, string]>
  /** Body bytes (a string is UTF-8). */
  readonly body?: string | Buffer
  /** Send the body chunked, in pieces of this many bytes (default: Content-Length framing). */
  readonly chunkBytes?: number
}

/** The request's bytes: request line, Host, the headers, framing, body. */
export function wire(req: WireRequest): Buffer {
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8')
  const headers: Array<readonly [string, string]> = [['Host', 'docker'], ...(req.headers ?? [])]
  const has = (name: string): boolean => headers.some(([k]) => k.toLowerCase() === name)
  if (body !== undefined) {
    if (!has('content-type')) headers.push(['Content-Type', 'application/json'])
    headers.push(req.chunkBytes === undefined ? ['Content-Length', String(body.length)] : ['Transfer-Encoding', 'chunked'])
  }
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
  if (body === undefined) return Buffer.from(head, 'latin1')
  if (req.chunkBytes === undefined) return Buffer.concat([Buffer.from(head, 'latin1'), body])
  const parts: Buffer[] = [Buffer.from(head, 'latin1')]
  for (let at = 0; at < body.length; at += req.chunkBytes) {
    const piece = body.subarray(at, at + req.chunkBytes)
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1'))
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'))
  return Buffer.concat(parts)
}

/** Sends one request on a fresh connection and returns its (complete) response. */
export async function send(socket: string, req: WireRequest): Promise<RawResponse> {
  const ex = await rawExchange(socket, wire(req), { responses: 1 })
  const res = ex.responses[0]
  if (res === undefined) throw new Error(`${req.method} ${req.target}: no response`)
  return res
}

/** A JSON create request for `name` (the body exactly as given). */
export function createRequest(name: string, body: string, extra: Partial<WireRequest> = {}): WireRequest {
  return { method: 'POST', target: `/containers/create?name=${encodeURIComponent(name)}`, body, ...extra }
}
