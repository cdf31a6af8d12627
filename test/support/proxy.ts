/**
 * A dockgate instance in the test process, on a temporary unix socket, with its audit records
 * captured in memory (as pino's own tests do) and its own prom-client Registry.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../../src/log.js'
import { Registry } from 'prom-client'
import { startDockgate, type RunningDockgate } from '../../src/server.js'
import { loadPolicy } from '../../src/policy/compile.js'
import type { CompiledPolicy } from '../../src/policy/compile.js'
import type { SelfIdentity } from '../../src/guards/types.js'
import type { AuditRecord } from '../../src/audit.js'

export interface TestProxy {
  /** Path of dockgate's unix socket. */
  readonly socket: string
  /** `unix://` form, for DOCKER_HOST. */
  readonly host: string
  /** Every pino line written so far, parsed. */
  readonly lines: Array<Record<string, unknown>>
  /** The audit records among them. */
  audits(): AuditRecord[]
  readonly running: RunningDockgate
  readonly registry: Registry
  close(): Promise<void>
}

export interface TestProxyOptions {
  /** Preset name, policy file path, or a compiled policy. */
  policy: string | CompiledPolicy
  engineSocket: string
  self?: SelfIdentity
  bodyBytes?: number
  bodyTimeoutMs?: number
  bodyBudgetBytes?: number
  lookupTimeoutMs?: number
  /** 'audit': policy refusals are recorded as would-deny and forwarded. Default 'enforce'. */
  mode?: 'enforce' | 'audit'
  /** dockgate's clock (ms), for the re-create window. */
  clock?: () => number
  responseBytes?: number
}

export async function startProxy(opts: TestProxyOptions): Promise<TestProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'dockgate-proxy-'))
  const socket = join(dir, 'dockgate.sock')
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  // The logger dockgate makes (ISO times, level names), writing to the test's sink.
  const logger = createLogger('debug', sink)
  const registry = new Registry()
  const policy = typeof opts.policy === 'string' ? loadPolicy(opts.policy) : opts.policy
  const running = await startDockgate(
    {
      upstream: { kind: 'unix', path: opts.engineSocket },
      limits: {
        bodyBytes: opts.bodyBytes ?? 1024 * 1024,
        bodyTimeoutMs: opts.bodyTimeoutMs ?? 30_000,
        bodyBudgetBytes: opts.bodyBudgetBytes ?? 128 * 1024 * 1024,
        lookupTimeoutMs: opts.lookupTimeoutMs ?? 10_000,
        ...(opts.responseBytes === undefined ? {} : { responseBytes: opts.responseBytes }),
      },
      listeners: [{ address: { kind: 'unix', path: socket }, policy, mode: 0o660, auditOnly: opts.mode === 'audit' }],
    },
    { logger, registry, processMetrics: false, ...(opts.self ? { self: opts.self } : {}), ...(opts.clock ? { clock: opts.clock } : {}) },
  )
  return {
    socket,
    host: `unix://${socket}`,
    lines,
    audits: () => lines.filter((l) => l['audit']).map((l) => l['audit'] as AuditRecord),
    running,
    registry,
    close: async () => {
      try {
        await running.close(1_000)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
