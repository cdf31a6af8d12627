/** DockgateError → HTTP status + `{"message": ...}`, the shape the docker CLI prints verbatim. */
import type { ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { STATUS_CODES } from 'node:http'
import { DockgateError } from './errors.js'

export function errorBody(err: DockgateError): string {
  return JSON.stringify({ message: err.clientMessage() }) + '\n'
}

/** Answer a normal request with the error (headers only for HEAD). */
export function sendError(res: ServerResponse, err: DockgateError, method: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = errorBody(err)
  res.writeHead(err.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'X-Dockgate-Error': err.code,
    ...(err.code === 'DG_LIMIT_BODY_BUDGET' ? { 'Retry-After': '1' } : {}),
  })
  res.end(method === 'HEAD' ? undefined : body)
}

/** Answer on a raw socket (an upgrade request that was refused), then close it. */
export function sendErrorRaw(socket: Duplex, err: DockgateError): void {
  const body = errorBody(err)
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Dockgate-Error: ${err.code}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  )
}
