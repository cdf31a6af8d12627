/**
 * The start-up check: a scripted sequence of probe results, with fake timers, and the log lines
 * it produces — the first failure at once with its advice, the same failure only as a reminder
 * now and then, a changed reason at once, success exactly once.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import type { EngineProbe } from '../../src/engine-probe.js'
import { watchEngine } from '../../src/engine-watch.js'

const UPSTREAM = { kind: 'unix', path: '/var/run/docker.sock' } as const
const DENIED: EngineProbe = { ok: false, code: 'EACCES', reason: "permission denied on /var/run/docker.sock: run the container with --group-add 105 / group_add: ['105']" }
const MISSING: EngineProbe = { ok: false, code: 'ENOENT', reason: 'no such file: /var/run/docker.sock' }
const OK: EngineProbe = { ok: true, apiVersion: '1.41' }

function capture(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { level: number; msg: string })
      cb()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

/** Runs the watch over `results` (one per probe), advancing fake time by each retry delay. */
async function run(results: EngineProbe[], opts: { reminderMs?: number } = {}): Promise<{ lines: Array<{ level: number; msg: string }>; probes: number; ready: boolean }> {
  const { logger, lines } = capture()
  let probes = 0
  const watch = watchEngine(UPSTREAM, {
    logger,
    probe: async () => results[Math.min(probes++, results.length - 1)]!,
    firstRetryMs: 500,
    maxRetryMs: 30_000,
    reminderMs: opts.reminderMs ?? 60_000,
    now: () => Date.now(),
  })
  await watch.settled
  while (probes < results.length) await vi.advanceTimersToNextTimerAsync()
  const ready = watch.ready()
  watch.close()
  await new Promise<void>((r) => setImmediate(r))
  return { lines, probes, ready }
}

describe('watchEngine', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  test('reachable at once: one info line, ready', async () => {
    const r = await run([OK])
    expect(r.ready).toBe(true)
    expect(r.lines.map((l) => [l.level, l.msg])).toEqual([[30, 'engine reachable at unix:///var/run/docker.sock (API 1.41)']])
  })

  test('unreachable: the advice once, no line per retry, then success logged once', async () => {
    const r = await run([DENIED, DENIED, DENIED, DENIED, DENIED, OK])
    expect(r.ready).toBe(true)
    expect(r.lines.map((l) => [l.level, l.msg])).toEqual([
      [50, `cannot reach the engine: ${DENIED.ok ? '' : DENIED.reason}. dockgate stays up, is not ready, and retries`],
      // 0.5 + 1 + 2 + 4 + 8 s of backoff
      [30, 'engine reachable at unix:///var/run/docker.sock (API 1.41) after 16 s: ready'],
    ])
  })

  test('still unreachable: a reminder now and then, not at every retry', async () => {
    // Delays 0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30 s: 151.5 s in all, reminders at most every 60 s.
    const r = await run([...Array<EngineProbe>(11).fill(DENIED)])
    expect(r.ready).toBe(false)
    expect(r.lines.map((l) => l.level)).toEqual([50, 40, 40])
    expect(r.lines[1]!.msg).toBe(`still cannot reach the engine after 62 s: ${DENIED.ok ? '' : DENIED.reason}`)
  })

  test('a new reason is logged at once', async () => {
    const r = await run([MISSING, MISSING, DENIED, DENIED, OK])
    expect(r.lines.map((l) => [l.level, l.msg.split(':')[0]])).toEqual([[50, 'cannot reach the engine'], [50, 'cannot reach the engine'], [30, 'engine reachable at unix']])
    expect(r.lines[1]!.msg).toContain('--group-add 105')
  })

  test('close() stops the retries', async () => {
    const { logger } = capture()
    let probes = 0
    const watch = watchEngine(UPSTREAM, { logger, probe: async () => (probes++, DENIED) })
    await watch.settled
    watch.close()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(probes).toBe(1)
  })
})
