/** Admin endpoints on their own address: /metrics (Prometheus), /healthz (alive), /readyz (engine answers). */
import http from 'node:http'
import type { Registry } from 'prom-client'
import type { Address, Upstream } from './upstream.js'
import { listen } from './listen.js'
import { currentIdentity, probeEngine } from './engine-probe.js'

/** `upstream` is asked for at each /readyz: a reload may point dockgate at another engine. */
export async function startAdmin(address: Address, deps: { registry: Registry; upstream: () => Upstream }): Promise<{ close: () => Promise<void> }> {
  const identity = currentIdentity()
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n')
    if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => send(200, deps.registry.contentType, text),
        () => send(500, 'text/plain', 'metrics failed\n'),
      )
    } else if (path === '/healthz') {
      send(200, 'text/plain', 'ok\n')
    } else if (path === '/readyz') {
      // The same probe as the start-up check: not ready until the engine answers, with the reason.
      void probeEngine(deps.upstream().address, identity, 2_000).then((r) => send(r.ok ? 200 : 503, 'text/plain', r.ok ? 'ready\n' : `engine not reachable: ${r.reason}\n`))
    } else {
      send(404, 'text/plain', 'not found\n')
    }
  })
  await listen(server, address, { mode: 0o660 })
  return {
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
