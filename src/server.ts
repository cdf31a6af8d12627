/**
 * Wiring of one dockgate instance: a listener per configured address (listener.ts), each with its
 * own policy, sharing one upstream pool, logger and metrics registry; and the reload of all of it
 * (reload.ts decides when, this file how). No module-level state, so tests can run several
 * instances in one process.
 */
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { createUpstream, formatAddress, type Address } from './upstream.js'
export { formatAddress }
import { createForwarder, endStream } from './forward.js'
import { createMetrics, type Metrics } from './metrics.js'
import { BodyBudget } from './body.js'
import { reclaimAfterBursts } from './reclaim.js'
import { createEngineClient } from './engine-client.js'
import { RecreateStore } from './recreate/store.js'
import { startAdmin } from './admin.js'
import { currentIdentity, probeEngine } from './engine-probe.js'
import type { SelfIdentity } from './guards/types.js'
import { peerCredentialReader, type PeerCredentialReader } from './peercred.js'
import { DEFAULTS } from './config.js'
import { openListener, type Core, type Listener, type ListenerConfig, type ServerLimits, type Shared } from './listener.js'
export type { ListenerConfig }

export interface ServerConfig {
  readonly upstream: Address
  readonly admin?: Address | undefined
  readonly limits: Omit<ServerLimits, 'responseBytes'> & { readonly responseBytes?: number }
  readonly listeners: readonly ListenerConfig[]
}

/** What a reload changed, by listener address. */
export interface ReloadSummary {
  readonly added: readonly string[]
  readonly removed: readonly string[]
  readonly updated: readonly string[]
  /** What could not be applied after the new addresses were bound (a TLS listener that could not take its port back, a socket file's mode). */
  readonly problems: readonly string[]
}

export interface RunningDockgate {
  readonly metrics: Metrics
  /**
   * Applies a new, already validated configuration to the next request (reload.ts). New
   * addresses are bound first: when one cannot be, nothing changes and this rejects. Open streams
   * and hijacked sessions continue under the configuration that admitted them.
   */
  reload(config: ServerConfig): Promise<ReloadSummary>
  /** Stop accepting, end open streams, remove socket files. */
  close(graceMs?: number): Promise<void>
}

/** Several listeners may ask for any free port (`tcp://…:0`): each is its own. */
function keysOf(listeners: readonly ListenerConfig[]): string[] {
  const seen = new Map<string, number>()
  return listeners.map((l) => {
    const key = formatAddress(l.address)
    const n = seen.get(key) ?? 0
    seen.set(key, n + 1)
    return l.address.kind === 'tcp' && l.address.port === 0 ? `${key}#${n}` : key
  })
}

/** How long a scrape waits for the engine's /_ping answer (ms), as /readyz does. */
const ENGINE_PROBE_MS = 2_000

const limitsOf = (c: ServerConfig): ServerLimits => ({ ...c.limits, responseBytes: c.limits.responseBytes ?? DEFAULTS.responseBytes })

export async function startDockgate(
  config: ServerConfig,
  deps: {
    logger: Logger
    registry?: Registry
    self?: SelfIdentity
    processMetrics?: boolean
    peerCredentials?: PeerCredentialReader
    /** dockgate's clock (ms), for the re-create window; tests pass their own. */
    clock?: () => number
  },
): Promise<RunningDockgate> {
  const metrics = createMetrics(deps.registry, { processMetrics: deps.processMetrics ?? true })
  // dockgate_engine_up: the /readyz probe, at each scrape, of the engine in use then.
  const identity = currentIdentity()
  metrics.setEngineProbe(async () => (await probeEngine(core.upstream.address, identity, ENGINE_PROBE_MS)).ok)
  const shared: Shared = {
    logger: deps.logger,
    metrics,
    budget: new BodyBudget(config.limits.bodyBudgetBytes, reclaimAfterBursts()),
    self: deps.self ?? { ids: [], names: [] },
    reader: deps.peerCredentials ?? peerCredentialReader(),
    // Shared by every listener and kept across reloads: a removal is remembered under the policy that made it.
    recreate: new RecreateStore(deps.clock),
    sockets: new Set<Socket>(),
    hijacked: new Set<Duplex>(),
    streaming: new Set<ServerResponse>(),
  }
  const makeCore = (c: ServerConfig, reuse?: Core): Core => {
    const limits = limitsOf(c)
    if (reuse !== undefined && formatAddress(reuse.upstream.address) === formatAddress(c.upstream) && reuse.limits.lookupTimeoutMs === limits.lookupTimeoutMs) return { ...reuse, limits }
    const upstream = createUpstream(c.upstream)
    return { upstream, forwarder: createForwarder(upstream), engine: createEngineClient(upstream, limits.lookupTimeoutMs), limits }
  }
  let core = makeCore(config)
  /** Cores replaced by reloads: their pools serve the streams they opened until those end. */
  const retiredCores: Core[] = []
  const listeners = new Map<string, Listener>()
  let admin: { address: Address; close: () => Promise<void> } | undefined

  announcePeerCredentials(config.listeners, shared.reader, deps.logger)
  const startAdminAt = async (address: Address): Promise<{ address: Address; close: () => Promise<void> }> => {
    const started = await startAdmin(address, { registry: metrics.registry, upstream: () => core.upstream })
    deps.logger.info(`admin endpoints (/metrics, /healthz, /readyz) on ${formatAddress(address)}`)
    return { address, close: started.close }
  }

  try {
    for (const [i, key] of keysOf(config.listeners).entries()) {
      const l = config.listeners[i]!
      listeners.set(key, await openListener(l, core, shared))
      announce(l, deps.logger)
    }
    if (config.admin) admin = await startAdminAt(config.admin)
  } catch (err) {
    for (const l of listeners.values()) l.stop()
    await admin?.close()
    core.upstream.close()
    throw err
  }

  async function reload(next: ServerConfig): Promise<ReloadSummary> {
    announcePeerCredentials(next.listeners.filter((l) => !listeners.has(formatAddress(l.address))), shared.reader, deps.logger)
    const nextCore = makeCore(next, core)
    const keys = keysOf(next.listeners)
    // 1. Bind what is new; if anything cannot be bound, undo and change nothing.
    const opened = new Map<string, Listener>()
    let nextAdmin = admin
    try {
      for (const [i, key] of keys.entries()) {
        if (!listeners.has(key)) opened.set(key, await openListener(next.listeners[i]!, nextCore, shared))
      }
      const adminKey = next.admin === undefined ? undefined : formatAddress(next.admin)
      if (adminKey !== (admin === undefined ? undefined : formatAddress(admin.address))) nextAdmin = next.admin === undefined ? undefined : await startAdminAt(next.admin)
    } catch (err) {
      for (const l of opened.values()) l.stop()
      if (nextAdmin !== admin) await nextAdmin?.close()
      if (nextCore.upstream !== core.upstream) nextCore.upstream.close()
      throw err
    }
    // 2. Commit: the next request sees the new configuration.
    shared.budget.setLimit(next.limits.bodyBudgetBytes)
    const updated: string[] = []
    const problems: string[] = []
    for (const [i, key] of keys.entries()) {
      const l = listeners.get(key)
      if (l === undefined) continue
      try {
        await l.update(next.listeners[i]!, nextCore)
        updated.push(l.name)
      } catch (err) {
        problems.push(`${l.name}: ${(err as Error).message}`)
      }
    }
    const removed: string[] = []
    for (const [key, l] of listeners) {
      if (keys.includes(key)) continue
      l.remove()
      listeners.delete(key)
      removed.push(l.name)
    }
    for (const [key, l] of opened) {
      listeners.set(key, l)
      announce(l.config, deps.logger)
    }
    if (nextAdmin !== admin) {
      await admin?.close()
      admin = nextAdmin
    }
    if (nextCore.upstream !== core.upstream) {
      retireUpstream(core)
      retiredCores.push(core)
    }
    core = nextCore
    return { added: [...opened.values()].map((l) => l.name), removed, updated, problems }
  }

  async function close(graceMs = 5_000): Promise<void> {
    for (const l of listeners.values()) l.stop()
    for (const l of listeners.values()) l.closeIdle()
    // End open streams cleanly: a streamed response gets its terminating chunk, a hijacked
    // connection a FIN; clients see the end of the stream rather than a reset.
    for (const res of shared.streaming) endStream(res)
    for (const s of shared.hijacked) s.end()
    const deadline = Date.now() + graceMs
    while (shared.sockets.size > 0 && Date.now() < deadline) {
      // A keep-alive connection whose last response just ended (a stream ended above, a plain
      // request that was in flight) is idle now: close it rather than wait for the client.
      for (const l of listeners.values()) l.closeIdle()
      await new Promise((r) => setTimeout(r, 20))
    }
    for (const s of shared.sockets) s.destroy()
    await admin?.close()
    for (const c of [core, ...retiredCores]) {
      c.forwarder.close()
      c.upstream.close()
    }
  }

  return { metrics, reload, close }
}

/**
 * An upstream a reload replaced: it keeps the connections of the streams it carries, and no
 * idle ones (http.Agent keeps none beyond maxFreeSockets; `freeSockets` is its documented list).
 */
function retireUpstream(core: Core): void {
  const agent = core.upstream.agent
  agent.maxFreeSockets = 0
  for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) s.destroy()
}

function announce(l: ListenerConfig, logger: Logger): void {
  const name = formatAddress(l.address)
  const tls = l.address.kind === 'tcp' ? l.tls : undefined
  const how = tls === undefined ? '' : tls.ca === undefined ? ' over TLS' : ' over mutual TLS'
  const who = (l.clients ?? []).map((c) => `, ${c.label} (${c.match.kind}) → ${c.policy.name}`).join('')
  logger.info({ listener: name, policy: l.policy.name }, `listening on ${name}${how} with policy ${l.policy.name}${who}`)
}

/** Says at start what peer credentials mean here: unavailable, and whom that refuses. */
function announcePeerCredentials(listeners: readonly ListenerConfig[], reader: PeerCredentialReader, logger: Logger): void {
  if (reader.available) return
  const unix = listeners.filter((l) => l.address.kind === 'unix')
  if (unix.length === 0) return
  logger.warn(`unix peer credentials (uid/gid/pid) are not available: ${reader.reason ?? 'unknown reason'}; audit records of unix listeners carry no uid`)
  for (const l of unix) {
    const needs = (l.clients ?? []).filter((c) => c.match.kind !== 'subject')
    if (needs.length > 0) {
      logger.error(`${formatAddress(l.address)} chooses policies by ${needs.map((c) => `${c.label} (${c.match.kind})`).join(', ')}: without peer credentials every connection to it is refused (DG_DENY_IDENTITY)`)
    }
  }
}
