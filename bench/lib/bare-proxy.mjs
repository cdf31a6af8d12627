#!/usr/bin/env node
/**
 * `node bench/lib/bare-proxy.mjs LISTEN_SOCKET ENGINE_SOCKET`: the bench's reference peer
 * (`--peer bare`), the least a Node proxy can do — no policy, no parsing beyond node:http's, no
 * log. Forwarding as dockgate's forward.ts does it (a keep-alive agent, the client's raw headers
 * minus hop-by-hop ones, piped bodies), and upgrades (exec, attach) spliced to a fresh engine
 * connection. What it costs is the floor for any node:http proxy on this machine.
 */
import http from 'node:http'
import net from 'node:net'
import { rmSync } from 'node:fs'

const [listen, engine] = process.argv.slice(2)
if (!listen || !engine) {
  process.stderr.write('usage: bare-proxy.mjs LISTEN_SOCKET ENGINE_SOCKET\n')
  process.exit(2)
}
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'expect'])
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' })

function headersOf(raw) {
  const out = []
  for (let i = 0; i + 1 < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1])
  return out
}

const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
  const headers = headersOf(req.rawHeaders)
  if (req.headers['transfer-encoding'] !== undefined) headers.push('Transfer-Encoding', 'chunked')
  const up = http.request({ socketPath: engine, agent, method: req.method, path: req.url, headers, setHost: false }, (upRes) => {
    res.writeHead(upRes.statusCode, upRes.statusMessage, headersOf(upRes.rawHeaders))
    if (upRes.headers['content-length'] === undefined) res.flushHeaders()
    upRes.on('error', () => res.destroy())
    upRes.pipe(res)
  })
  up.on('error', () => {
    if (res.headersSent) res.destroy()
    else {
      res.writeHead(502, { 'content-type': 'application/json' })
      res.end('{"message":"bare proxy: engine failed"}\n')
    }
  })
  res.once('close', () => { if (!res.writableFinished) up.destroy() })
  req.on('error', () => up.destroy())
  req.pipe(up)
})

server.on('upgrade', (req, socket, head) => {
  const up = net.connect({ path: engine, allowHalfOpen: true })
  let text = `${req.method} ${req.url} HTTP/1.1\r\n`
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
  up.write(text + '\r\n')
  if (head.length > 0) up.write(head)
  const kill = () => { socket.destroy(); up.destroy() }
  up.on('error', kill)
  socket.on('error', kill)
  socket.pipe(up)
  up.pipe(socket)
})

rmSync(listen, { force: true })
server.listen(listen)
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    server.close()
    server.closeAllConnections()
    rmSync(listen, { force: true })
    process.exit(0)
  })
}
