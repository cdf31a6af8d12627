/**
 * Prometheus instruments. Each dockgate instance gets its own Registry (no globals), so two
 * proxies can run in one test process. Label values come only from closed sets: listener
 * addresses and policy names from the configuration, operation ids from the route table (or
 * "unknown"), decision, kind and code from fixed lists. No label value is ever empty: a request
 * without an error code is counted with code="none".
 *
 * prom-client's default metrics (process_*, nodejs_*) keep their standard names, so the usual
 * Node.js dashboards work unchanged.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { packageRoot } from './policy/presets.js'

/** The `code` label of a request that carried no error code (allowed, would-deny, aborted). */
export const NO_CODE = 'none'

export interface Metrics {
  readonly registry: Registry
  readonly requests: Counter<'listener' | 'policy' | 'operation' | 'decision' | 'code'>
  /** Plain requests only: streams and hijacked sessions last minutes to hours (streamDuration). */
  readonly duration: Histogram<'listener' | 'operation' | 'decision'>
  readonly streamDuration: Histogram<'listener' | 'kind' | 'operation'>
  readonly openStreams: Gauge<'listener' | 'kind'>
  readonly upstreamErrors: Counter<'code'>
  readonly bodyBytes: Counter<'operation'>
  readonly redacted: Counter<'operation' | 'kind'>
  /** Configuration reloads (SIGHUP), named as Prometheus and Alertmanager name theirs. */
  readonly reloads: Counter<'result'>
  readonly lastReloadSuccessful: Gauge
  readonly lastReloadSuccessTime: Gauge
  /** 1 for a listener in audit-only mode (nothing is refused there), 0 otherwise. */
  readonly auditOnly: Gauge<'listener'>
  /** Sets how `dockgate_engine_up` is found out at each scrape (server.ts: the /readyz probe). */
  setEngineProbe(probe: () => Promise<boolean>): void
}

/** Buckets of the request histogram (seconds). */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Buckets of the stream histogram (seconds): a pull takes seconds, `logs -f` or a shell hours. */
const STREAM_BUCKETS = [0.1, 1, 10, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600]

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}

export function createMetrics(registry = new Registry(), opts: { processMetrics?: boolean } = {}): Metrics {
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry })
  let engineProbe: (() => Promise<boolean>) | undefined
  const engineUp = new Gauge({
    name: 'dockgate_engine_up',
    help: 'Whether the engine answers GET /_ping at this scrape (1) or not (0): the probe of /readyz.',
    registers: [registry],
    async collect() {
      if (engineProbe !== undefined) this.set((await engineProbe()) ? 1 : 0)
    },
  })
  const buildInfo = new Gauge({
    name: 'dockgate_build_info',
    help: 'Always 1; the labels say which dockgate and which Node.js run.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  })
  buildInfo.set({ version: packageVersion(), node_version: process.versions.node }, 1)
  const metrics: Metrics = {
    registry,
    requests: new Counter({
      name: 'dockgate_requests_total',
      help: 'Requests decided, once each (a stream or session when it starts), by listener, policy, operation, decision (allow, deny, would-deny, error, aborted) and error code ("none" without one).',
      labelNames: ['listener', 'policy', 'operation', 'decision', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'dockgate_request_duration_seconds',
      help: 'Time from request to end of response of plain requests (not streams or sessions), by listener, operation and decision.',
      labelNames: ['listener', 'operation', 'decision'],
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    streamDuration: new Histogram({
      name: 'dockgate_stream_duration_seconds',
      help: 'How long streams (kind="stream": logs, events, pull, build…) and hijacked sessions (kind="hijack": attach, exec -it) lasted, by listener, kind and operation.',
      labelNames: ['listener', 'kind', 'operation'],
      buckets: STREAM_BUCKETS,
      registers: [registry],
    }),
    openStreams: new Gauge({
      name: 'dockgate_open_streams',
      help: 'Streams and hijacked sessions open now, by listener and kind (stream, hijack).',
      labelNames: ['listener', 'kind'],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'dockgate_upstream_errors_total',
      help: 'Requests that failed because the engine could not be reached or failed mid-request, by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    bodyBytes: new Counter({
      name: 'dockgate_inspected_body_bytes_total',
      help: 'Bytes of request bodies read and inspected by guards, by operation.',
      labelNames: ['operation'],
      registers: [registry],
    }),
    reloads: new Counter({
      name: 'dockgate_config_reloads_total',
      help: 'Configuration reloads (SIGHUP), by result: success, or failure (the configuration in use was kept).',
      labelNames: ['result'],
      registers: [registry],
    }),
    lastReloadSuccessful: new Gauge({
      name: 'dockgate_config_last_reload_successful',
      help: 'Whether the last configuration reload succeeded (1) or failed (0); 1 before any reload.',
      registers: [registry],
    }),
    lastReloadSuccessTime: new Gauge({
      name: 'dockgate_config_last_reload_success_timestamp_seconds',
      help: 'When the configuration in use was loaded: start-up or the last successful reload (Unix time).',
      registers: [registry],
    }),
    redacted: new Counter({
      name: 'dockgate_redacted_responses_total',
      help: 'Answers of the engine in which values were replaced by the policy\'s redact:, by operation and kind.',
      labelNames: ['operation', 'kind'],
      registers: [registry],
    }),
    auditOnly: new Gauge({
      name: 'dockgate_audit_only',
      help: 'Whether a listener is in audit-only mode (1: nothing is refused there, what would be is recorded as would-deny) or enforces its policy (0).',
      labelNames: ['listener'],
      registers: [registry],
    }),
    setEngineProbe(probe) {
      engineProbe = probe
    },
  }
  // Both result series exist from the start, so that rate() and alerts see a 0, not an absence.
  metrics.reloads.inc({ result: 'success' }, 0)
  metrics.reloads.inc({ result: 'failure' }, 0)
  metrics.lastReloadSuccessful.set(1)
  metrics.lastReloadSuccessTime.set(Date.now() / 1000)
  void engineUp
  return metrics
}
