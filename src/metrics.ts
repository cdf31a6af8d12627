/**
 * Prometheus instruments. Each dockgate instance gets its own Registry (no globals), so two
 * proxies can run in one test process. Label values come only from closed sets: operation ids from
 * the route table (or "unknown"), policy names from config, decision and code from fixed lists.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  readonly registry: Registry
  readonly requests: Counter<'decision' | 'operation' | 'policy' | 'code'>
  readonly duration: Histogram<'operation' | 'decision'>
  readonly openStreams: Gauge<'kind'>
  readonly upstreamErrors: Counter<'code'>
  readonly bodyBytes: Counter<'operation'>
  readonly redacted: Counter<'operation' | 'kind'>
  /** Configuration reloads (SIGHUP), named as Prometheus and Alertmanager name theirs. */
  readonly reloads: Counter<'result'>
  readonly lastReloadSuccessful: Gauge
  readonly lastReloadSuccessTime: Gauge
}

export function createMetrics(registry = new Registry(), opts: { processMetrics?: boolean } = {}): Metrics {
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'dockgate_' })
  const metrics: Metrics = {
    registry,
    requests: new Counter({
      name: 'dockgate_requests_total',
      help: 'Requests decided, by decision (allow, deny, error), operation, policy and error code ("" when allowed).',
      labelNames: ['decision', 'operation', 'policy', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'dockgate_request_duration_seconds',
      help: 'Time from request to end of response (streams included), by operation and decision.',
      labelNames: ['operation', 'decision'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
      registers: [registry],
    }),
    openStreams: new Gauge({
      name: 'dockgate_open_streams',
      help: 'Streams and hijacked connections open now, by kind (stream, hijack).',
      labelNames: ['kind'],
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
  }
  // Both result series exist from the start, so that rate() and alerts see a 0, not an absence.
  metrics.reloads.inc({ result: 'success' }, 0)
  metrics.reloads.inc({ result: 'failure' }, 0)
  metrics.lastReloadSuccessful.set(1)
  metrics.lastReloadSuccessTime.set(Date.now() / 1000)
  return metrics
}
