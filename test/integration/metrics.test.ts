/**
 * /metrics after known traffic, read with a real exposition-format parser (test/support/metrics.ts):
 * request metrics carry the listener; allowed requests have code="none", never an empty value;
 * streams are timed in their own histogram, not in the request-latency one; prom-client's default
 * metrics keep their standard names; dockgate_engine_up, dockgate_build_info, dockgate_audit_only and
 * the reload series are there. Issue 10, "Metrics".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { createLogger } from '../../src/log.js'
import { loadPolicy } from '../../src/policy/compile.js'
import { startDockgate, type RunningDockgate } from '../../src/server.js'
import { engineRequest } from '../support/engine.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { family, parseMetrics, series, type Families } from '../support/metrics.js'

const engineSocket = inject('engineSocket')
let dir: string
let running: RunningDockgate
let registry: Registry
let a: string
let b: string
let families: Families

const quiet = (): Writable => new Writable({ write(_c, _e, cb) { cb() } })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-metrics-'))
  a = join(dir, 'a.sock')
  b = join(dir, 'b.sock')
  registry = new Registry()
  running = await startDockgate({
    upstream: { kind: 'unix', path: engineSocket },
    limits: { bodyBytes: 1024 * 1024, bodyTimeoutMs: 30_000, bodyBudgetBytes: 128 * 1024 * 1024, lookupTimeoutMs: 10_000 },
    listeners: [
      { address: { kind: 'unix', path: a }, policy: loadPolicy('read-only'), mode: 0o660 },
      { address: { kind: 'unix', path: b }, policy: loadPolicy('container-operator'), mode: 0o660, auditOnly: true },
    ],
  }, { logger: createLogger('info', quiet()), registry, processMetrics: true })

  // The known traffic.
  expect((await engineRequest(a, 'GET', '/containers/json')).status).toBe(200)
  expect((await engineRequest(a, 'GET', '/v1.41/containers/json?all=1')).status).toBe(200)
  expect((await engineRequest(a, 'POST', '/containers/create', { Image: BUSYBOX_IMAGE })).status).toBe(403)
  expect((await engineRequest(a, 'GET', '/containers%2Fjson')).status).toBe(400)
  // A stream that ends by itself: the events of a past second.
  const now = Math.floor(Date.now() / 1000)
  expect((await engineRequest(a, 'GET', `/v1.41/events?since=${now - 2}&until=${now - 1}`)).status).toBe(200)
  // Audit-only: a privileged create goes through.
  const created = await engineRequest(b, 'POST', '/v1.41/containers/create?name=dg-metrics-priv', { Image: BUSYBOX_IMAGE, HostConfig: { Privileged: true, NetworkMode: 'none' } })
  expect(created.status, created.body.toString()).toBe(201)
  await engineRequest(engineSocket, 'DELETE', '/containers/dg-metrics-priv?force=1')
  families = await parseMetrics(await registry.metrics())
})

afterAll(async () => {
  await running?.close(1_000)
  await engineRequest(engineSocket, 'DELETE', '/containers/dg-metrics-priv?force=1').catch(() => undefined)
  rmSync(dir, { recursive: true, force: true })
})

describe('/metrics after known traffic', () => {
  test('requests are counted by listener, policy, operation, decision and code; no code is code="none"', () => {
    const A = `unix://${a}`
    const B = `unix://${b}`
    expect(family(families, 'dockgate_requests_total').type).toBe('counter')
    expect(series(families, 'dockgate_requests_total')).toEqual([
      `{"listener":"${A}","policy":"read-only","operation":"ContainerCreate","decision":"deny","code":"DG_DENY_OPERATION"} 1`,
      `{"listener":"${A}","policy":"read-only","operation":"ContainerList","decision":"allow","code":"none"} 2`,
      `{"listener":"${A}","policy":"read-only","operation":"SystemEvents","decision":"allow","code":"none"} 1`,
      `{"listener":"${A}","policy":"read-only","operation":"unknown","decision":"deny","code":"DG_REQ_AMBIGUOUS_PATH"} 1`,
      `{"listener":"${B}","policy":"container-operator","operation":"ContainerCreate","decision":"would-deny","code":"DG_DENY_BODY"} 1`,
    ].sort())
  })

  test('the request-latency histogram has plain requests only; streams have their own', () => {
    const A = `unix://${a}`
    const latency = family(families, 'dockgate_request_duration_seconds')
    expect(latency.type).toBe('histogram')
    expect(latency.data.map((m) => `${m.labels?.['listener']} ${m.labels?.['operation']} ${m.labels?.['decision']} ${m.count}`).sort()).toEqual([
      `${A} ContainerCreate deny 1`,
      `${A} ContainerList allow 2`,
      `${A} unknown deny 1`,
      `unix://${b} ContainerCreate would-deny 1`,
    ])
    const streams = family(families, 'dockgate_stream_duration_seconds')
    expect(streams.type).toBe('histogram')
    expect(streams.data.map((m) => [m.labels, m.count])).toEqual([[{ listener: A, kind: 'stream', operation: 'SystemEvents' }, 1]])
    expect(series(families, 'dockgate_open_streams')).toEqual([`{"listener":"${A}","kind":"stream"} 0`])
  })

  test('audit-only, engine, build and reload series', () => {
    expect(series(families, 'dockgate_audit_only')).toEqual([`{"listener":"unix://${a}"} 0`, `{"listener":"unix://${b}"} 1`])
    expect(series(families, 'dockgate_engine_up')).toEqual(['{} 1'])
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
    expect(series(families, 'dockgate_build_info')).toEqual([`${JSON.stringify({ version, node_version: process.versions.node })} 1`])
    expect(series(families, 'dockgate_config_reloads_total')).toEqual(['{"result":"failure"} 0', '{"result":"success"} 0'])
    expect(series(families, 'dockgate_config_last_reload_successful')).toEqual(['{} 1'])
  })

  test('prom-client\'s default metrics keep their standard names', () => {
    const names = Object.keys(families)
    expect(names).toContain('process_cpu_user_seconds_total')
    expect(names).toContain('process_resident_memory_bytes')
    expect(names).toContain('nodejs_heap_size_total_bytes')
    expect(names.filter((n) => n.startsWith('dockgate_process_') || n.startsWith('dockgate_nodejs_'))).toEqual([])
  })

  test('no label value is empty', () => {
    const empty = Object.entries(families).flatMap(([name, f]) => f.data.flatMap((m) => Object.entries(m.labels ?? {}).filter(([, v]) => v === '').map(([k]) => `${name}{${k}=""}`)))
    expect(empty).toEqual([])
  })
})

test('dockgate_engine_up is 0 while the engine cannot be reached', async () => {
  const d = mkdtempSync(join(tmpdir(), 'dockgate-metrics-down-'))
  const reg = new Registry()
  const down = await startDockgate({
    upstream: { kind: 'unix', path: join(d, 'no-engine.sock') },
    limits: { bodyBytes: 1024, bodyTimeoutMs: 1_000, bodyBudgetBytes: 1024 * 1024, lookupTimeoutMs: 1_000 },
    listeners: [{ address: { kind: 'unix', path: join(d, 'l.sock') }, policy: loadPolicy('read-only'), mode: 0o660 }],
  }, { logger: createLogger('info', quiet()), registry: reg, processMetrics: false })
  try {
    expect(series(await parseMetrics(await reg.metrics()), 'dockgate_engine_up')).toEqual(['{} 0'])
  } finally {
    await down.close(500)
    rmSync(d, { recursive: true, force: true })
  }
})
