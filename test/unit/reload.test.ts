/**
 * reload.ts without sockets: what one SIGHUP does with a valid and an invalid configuration, what
 * a failure to apply does, and that reloads never overlap (a SIGHUP during one is done once after it).
 * The real signal, listeners and streams are in test/integration/reload.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, test } from 'vitest'
import type { Config } from '../../src/config.js'
import { createMetrics } from '../../src/metrics.js'
import { createReloader } from '../../src/reload.js'
import type { ReloadSummary, RunningDockgate, ServerConfig } from '../../src/server.js'

const dir = mkdtempSync(join(tmpdir(), 'dockgate-reload-unit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const GOOD = 'upstream: unix:///run/engine.sock\nlisteners:\n  - listen: unix:///run/a.sock\n    policy: read-only\n'

function setup(applied: (c: ServerConfig) => Promise<ReloadSummary>, prepare?: (c: Config) => void): {
  file: string; lines: Array<Record<string, unknown>>; calls: ServerConfig[]; sample: (s: string) => Promise<number | undefined>; reloader: ReturnType<typeof createReloader>
} {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, GOOD)
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>); cb() } })
  const registry = new Registry()
  const metrics = createMetrics(registry, { processMetrics: false })
  const calls: ServerConfig[] = []
  const running: RunningDockgate = { metrics, close: () => Promise.resolve(), reload: (c) => { calls.push(c); return applied(c) } }
  const reloader = createReloader({ argv: ['--config', file], env: {}, logger: pino({ level: 'info' }, sink), running, ...(prepare ? { prepare } : {}) })
  const sample = async (series: string): Promise<number | undefined> => {
    const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `))
    return line === undefined ? undefined : Number(line.slice(series.length + 1))
  }
  return { file, lines, calls, sample, reloader }
}

const ok: ReloadSummary = { added: [], removed: [], updated: ['unix:///run/a.sock'], problems: [] }

describe('one SIGHUP', () => {
  test('a valid configuration is applied, logged and counted', async () => {
    const s = setup(() => Promise.resolve(ok))
    await s.reloader.request()
    expect(s.calls.map((c) => (c as Config).listeners.map((l) => l.policy.name))).toEqual([['read-only']])
    expect(s.lines.at(-1)).toMatchObject({ level: 30, reload: { result: 'success', updated: ['unix:///run/a.sock'] }, msg: 'configuration reloaded; updated unix:///run/a.sock' })
    expect(await s.sample('dockgate_config_reloads_total{result="success"}')).toBe(1)
    expect(await s.sample('dockgate_config_reloads_total{result="failure"}')).toBe(0)
    expect(await s.sample('dockgate_config_last_reload_successful')).toBe(1)
  })

  test('an invalid one is not applied: each problem logged at its place, the failure counted', async () => {
    const s = setup(() => Promise.resolve(ok))
    writeFileSync(s.file, GOOD.replace('policy: read-only', 'policy: read-onyl') + 'log_levl: debug\n')
    await s.reloader.request()
    expect(s.calls).toEqual([])
    const problems = s.lines.filter((l) => l['reload'] === 'failure').map((l) => l['msg'])
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(/\/c-[a-z0-9]+\.yaml:4:13: listeners\[0\]\.policy: unknown preset "read-onyl" \(did you mean read-only\?\)/)
    expect(problems[1]).toMatch(/\/c-[a-z0-9]+\.yaml:5:1: log_levl: unknown key "log_levl" \(did you mean log_level\?/)
    expect(s.lines.at(-1)).toMatchObject({ level: 50, reload: { result: 'failure' }, msg: 'configuration reload failed: 2 problem(s); the configuration in use stays' })
    expect(await s.sample('dockgate_config_reloads_total{result="failure"}')).toBe(1)
    expect(await s.sample('dockgate_config_last_reload_successful')).toBe(0)
  })

  test('a new address that cannot be bound: the failure is the bind\'s', async () => {
    const s = setup(() => Promise.reject(new Error('cannot listen on /run/b.sock: EACCES')))
    await s.reloader.request()
    expect(s.lines.at(-1)).toMatchObject({ reload: { result: 'failure', problems: ['cannot listen on /run/b.sock: EACCES'] }, msg: 'configuration reload failed: a new address could not be bound; the configuration in use stays' })
    expect(await s.sample('dockgate_config_reloads_total{result="failure"}')).toBe(1)
  })

  test('a socket directory that cannot be used: nothing is applied', async () => {
    const s = setup(() => Promise.resolve(ok), () => {
      throw new Error('directory /tmp/x does not exist: create it with install -d -m 0755 /tmp/x')
    })
    await s.reloader.request()
    expect(s.calls).toEqual([])
    expect(s.lines.at(-1)).toMatchObject({ reload: { result: 'failure', problems: ['directory /tmp/x does not exist: create it with install -d -m 0755 /tmp/x'] } })
  })

  test('what could not be applied after the binds is a failure too, listed', async () => {
    const s = setup(() => Promise.resolve({ ...ok, problems: ['tcp://127.0.0.1:2376: EADDRINUSE'] }))
    await s.reloader.request()
    expect(s.lines.at(-1)).toMatchObject({ reload: { result: 'failure', problems: ['tcp://127.0.0.1:2376: EADDRINUSE'] } })
    expect(await s.sample('dockgate_config_last_reload_successful')).toBe(0)
  })
})

describe('reloads never overlap', () => {
  test('SIGHUPs during a reload make exactly one more, after it', async () => {
    let release: () => void = () => {}
    let running = 0
    let most = 0
    const s = setup(async () => {
      running++
      most = Math.max(most, running)
      await new Promise<void>((r) => (release = r))
      running--
      return ok
    })
    const first = s.reloader.request()
    await new Promise((r) => setTimeout(r, 20))
    const second = s.reloader.request()
    const third = s.reloader.request()
    release()
    await new Promise((r) => setTimeout(r, 20))
    release()
    await Promise.all([first, second, third])
    expect(s.calls).toHaveLength(2)
    expect(most).toBe(1)
    expect(await s.sample('dockgate_config_reloads_total{result="success"}')).toBe(2)
  })
})
