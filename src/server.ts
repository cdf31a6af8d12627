/**
 * Wiring of one dockgate instance: a listener per configured address, each with its own policy,
 * sharing one upstream pool, logger and metrics registry. No module-level state, so tests can run
 * several instances in one process.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { createUpstream, formatAddress, type Address, type Upstream } from './upstream.js'
export { formatAddress }
import { createForwarder, endStream } from './forward.js'
import { createMetrics, type Metrics } from './metrics.js'
import { BodyBudget } from './body.js'
import { createEngineClient } from './engine-client.js'
import { handleClientError, handleRequest, handleUpgrade, type ListenerContext } from './pipeline.js'
import { listen, removeSocketFile } from './listen.js'
import { startAdmin } from './admin.js'
import type { CompiledPolicy } from './policy/compile.js'
import type { SelfIdentity } from './guards/types.js'

export interface ListenerConfig {
  readonly address: Address
  readonly policy: CompiledPolicy
  /** Unix socket file mode, e.g. 0o660. */
  readonly mode: number
  readonly uid?: number | undefined
  readonly gid?: number | undefined
}

export interface ServerConfig {
  readonly upstream: Address
  readonly admin?: Address | undefined
  readonly limits: ServerLimits
  readonly listeners: readonly ListenerConfig[]
}

/** config.ts DEFAULTS documents each. */
export interface ServerLimits {
  readonly bodyBytes: number
  readonly bodyTimeoutMs: number
  readonly bodyBudgetBytes: number
  readonly lookupTimeoutMs: number
}

export interface RunningDockgate {
  readonly metrics: Metrics
  /** Stop accepting, end open streams, remove socket files. */
  close(graceMs?: number): Promise<void>
}

export async function startDockgate(
  config: ServerConfig,
  deps: { logger: Logger; registry?: Registry; self?: SelfIdentity; processMetrics?: boolean },
): Promise<RunningDockgate> {
  const upstream: Upstream = createUpstream(config.upstream)
  const forwarder = createForwarder(upstream)
  const engine = createEngineClient(upstream, config.limits.lookupTimeoutMs)
  const budget = new BodyBudget(config.limits.bodyBudgetBytes)
  const metrics = createMetrics(deps.registry, { processMetrics: deps.processMetrics ?? true })
  const self = deps.self ?? { ids: [], names: [] }
  const servers: Array<{ server: http.Server; address: Address }> = []
  const sockets = new Set<Socket>()
  const hijacked = new Set<Duplex>()
  const streaming = new Set<ServerResponse>()

  const started: Array<() => Promise<void>> = []
  try {
    for (const l of config.listeners) {
      const ctx: ListenerContext = {
        listener: formatAddress(l.address),
        policy: l.policy,
        admission: { policy: l.policy, self, engine, mode: 'enforce', bodyLimit: config.limits.bodyBytes },
        upstream,
        forwarder,
        limits: { bytes: config.limits.bodyBytes, timeoutMs: config.limits.bodyTimeoutMs },
        budget,
        logger: deps.logger.child({ listener: formatAddress(l.address), policy: l.policy.name }),
        metrics,
        self,
        trackStream: (res) => {
          streaming.add(res)
          res.once('close', () => streaming.delete(res))
        },
      }
      const server = http.createServer({
        // Streams (events, logs -f, build uploads) last as long as they last: no request or idle
        // timeouts on them. Headers must still arrive promptly.
        requestTimeout: 0,
        headersTimeout: 60_000,
        keepAliveTimeout: 65_000,
        // Engine API paths and registry auth headers can be long; 64 KiB like Go's default 1 MiB is not needed.
        maxHeaderSize: 65_536,
        // pipeline.ts refuses a missing Host with a JSON message, for upgrade requests too.
        requireHostHeader: false,
        noDelay: true,
      })
      server.timeout = 0
      server.on('connection', (s: Socket) => {
        sockets.add(s)
        s.once('close', () => sockets.delete(s))
      })
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        void handleRequest(ctx, req, res)
      })
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        hijacked.add(socket)
        socket.once('close', () => hijacked.delete(socket))
        void handleUpgrade(ctx, req, socket, head)
      })
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
        deps.logger.debug({ err: err.code ?? err.message }, 'malformed HTTP request')
        handleClientError(ctx, err, socket)
      })
      await listen(server, l.address, { mode: l.mode, uid: l.uid, gid: l.gid })
      servers.push({ server, address: l.address })
      deps.logger.info({ listener: ctx.listener, policy: l.policy.name }, `listening on ${ctx.listener} with policy ${l.policy.name}`)
    }
    if (config.admin) {
      const admin = await startAdmin(config.admin, { registry: metrics.registry, upstream })
      started.push(admin.close)
      deps.logger.info(`admin endpoints (/metrics, /healthz, /readyz) on ${formatAddress(config.admin)}`)
    }
  } catch (err) {
    for (const { server, address } of servers) {
      server.close()
      removeSocketFile(address)
    }
    for (const stop of started) await stop()
    upstream.close()
    throw err
  }

  async function close(graceMs = 5_000): Promise<void> {
    for (const { server, address } of servers) {
      server.close()
      removeSocketFile(address)
    }
    for (const { server } of servers) server.closeIdleConnections()
    // End open streams cleanly: a streamed response gets its terminating chunk, a hijacked
    // connection a FIN; clients see the end of the stream rather than a reset.
    for (const res of streaming) endStream(res)
    for (const s of hijacked) s.end()
    const deadline = Date.now() + graceMs
    while (sockets.size > 0 && Date.now() < deadline) {
      // A keep-alive connection whose last response just ended (a stream ended above, a plain
      // request that was in flight) is idle now: close it rather than wait for the client.
      for (const { server } of servers) server.closeIdleConnections()
      await new Promise((r) => setTimeout(r, 20))
    }
    for (const s of sockets) s.destroy()
    for (const stop of started) await stop()
    forwarder.close()
    upstream.close()
  }

  return { metrics, close }
}
