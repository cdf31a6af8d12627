/**
 * The start-up check of the engine: probe it once before the listeners open; when it cannot be
 * reached, log what to change, stay up, and keep probing with a growing delay until it answers.
 * The first failure is logged at once with its reason; the same reason again only as a reminder
 * now and then (a changed reason at once); success is logged once.
 *
 * Until the engine answers, dockgate is not ready: the admin /readyz and `dockgate healthcheck`
 * probe the engine themselves and fail for the same reason.
 */
import type { Logger } from 'pino'
import { formatAddress, type Address } from './upstream.js'
import type { EngineProbe } from './engine-probe.js'

/** Delays between probes, in ms: doubling from `firstRetryMs` up to `maxRetryMs`. */
export const WATCH_DEFAULTS = Object.freeze({
  firstRetryMs: 500,
  maxRetryMs: 30_000,
  /** The same failure is logged again at most this often (ms). */
  reminderMs: 60_000,
})

export interface EngineWatch {
  /** Resolves after the first probe, whatever its result. */
  readonly settled: Promise<void>
  /** True once the engine has answered. */
  ready(): boolean
  /** Stops probing. */
  close(): void
}

export interface WatchOptions {
  readonly logger: Logger
  readonly probe: () => Promise<EngineProbe>
  readonly firstRetryMs?: number
  readonly maxRetryMs?: number
  readonly reminderMs?: number
  /** Clock, for tests; default Date.now. */
  readonly now?: () => number
}

export function watchEngine(address: Address, opts: WatchOptions): EngineWatch {
  const first = opts.firstRetryMs ?? WATCH_DEFAULTS.firstRetryMs
  const max = opts.maxRetryMs ?? WATCH_DEFAULTS.maxRetryMs
  const reminder = opts.reminderMs ?? WATCH_DEFAULTS.reminderMs
  const now = opts.now ?? Date.now
  const upstream = formatAddress(address)
  const since = now()
  let ready = false
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let delay = first
  let attempts = 0
  let lastReason: string | undefined
  let lastLogged = 0

  const attempt = async (): Promise<void> => {
    attempts++
    const result = await opts.probe()
    if (closed) return
    if (result.ok) {
      ready = true
      const api = result.apiVersion === undefined ? '' : ` (API ${result.apiVersion})`
      if (attempts === 1) opts.logger.info({ upstream }, `engine reachable at ${upstream}${api}`)
      else opts.logger.info({ upstream, attempts }, `engine reachable at ${upstream}${api} after ${Math.round((now() - since) / 1000)} s: ready`)
      return
    }
    const t = now()
    if (result.reason !== lastReason) {
      opts.logger.error({ upstream, code: result.code }, `cannot reach the engine: ${result.reason}. dockgate stays up, is not ready, and retries`)
      lastReason = result.reason
      lastLogged = t
    } else if (t - lastLogged >= reminder) {
      opts.logger.warn({ upstream, code: result.code, attempts }, `still cannot reach the engine after ${Math.round((t - since) / 1000)} s: ${result.reason}`)
      lastLogged = t
    }
    timer = setTimeout(() => void attempt(), delay)
    delay = Math.min(delay * 2, max)
  }

  const settled = attempt()
  return {
    settled,
    ready: () => ready,
    close: () => {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
    },
  }
}
