// The log destination (src/log-destination.ts): allowed requests' audit records batched, everything
// else written at once and in order, the batch written within its flush delay and on exit, also
// when the process dies of an uncaught exception.
import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { afterAll, describe, expect, test } from 'vitest'
import { canBatch, createLogDestination } from '../../src/log-destination.js'

const dir = mkdtempSync(join(tmpdir(), 'dockgate-logdest-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = (): { path: string; fd: number } => {
  const path = join(dir, `log-${n++}.jsonl`)
  return { path, fd: openSync(path, 'w') }
}
const lines = (path: string): Array<Record<string, any>> => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>)
const allowed = (i: number) => ({ audit: { decision: 'allow', method: 'HEAD', path: '/_ping', operation: 'SystemPing', status: 200, i } })

describe('canBatch', () => {
  test('only allowed (or aborted) requests at info wait; refusals, errors, sessions and other lines do not', () => {
    expect(canBatch(30, allowed(0))).toBe(true)
    expect(canBatch(30, { audit: { decision: 'aborted' } })).toBe(true)
    expect(canBatch(40, { audit: { decision: 'deny', status: 403 } })).toBe(false)
    expect(canBatch(40, { audit: { decision: 'would-deny', status: 200 } })).toBe(false)
    expect(canBatch(50, { audit: { decision: 'error', status: 502 } })).toBe(false)
    expect(canBatch(30, { audit: { decision: 'allow', status: 101 } })).toBe(false)
    expect(canBatch(30, { listener: 'unix:///x.sock' })).toBe(false)
    expect(canBatch(30, undefined)).toBe(false)
  })
})

describe('createLogDestination with pino', () => {
  test('allowed records wait for the batch; a refusal is written at once, after them, in order', async () => {
    const { path, fd } = fresh()
    const dest = createLogDestination(fd, { flushMs: 60_000 })
    const logger = pino({ level: 'info' }, dest)
    try {
      for (let i = 0; i < 5; i++) logger.info(allowed(i), 'allow')
      expect(lines(path)).toEqual([])
      logger.warn({ audit: { decision: 'deny', status: 403 } }, 'deny')
      const got = lines(path)
      expect(got.map((l) => l['msg'])).toEqual(['allow', 'allow', 'allow', 'allow', 'allow', 'deny'])
      expect(got.slice(0, 5).map((l) => l['audit'].i)).toEqual([0, 1, 2, 3, 4])
    } finally {
      dest.end()
      closeSync(fd)
    }
  })

  test('a line that is not an audit record (start-up, reload) is written at once', () => {
    const { path, fd } = fresh()
    const dest = createLogDestination(fd, { flushMs: 60_000 })
    try {
      pino({ level: 'info' }, dest).info({ listener: 'unix:///x.sock' }, 'listening')
      expect(lines(path).map((l) => l['msg'])).toEqual(['listening'])
    } finally {
      dest.end()
      closeSync(fd)
    }
  })

  test('the batch is written after the flush delay without more traffic, and when it is full', async () => {
    const { path, fd } = fresh()
    const dest = createLogDestination(fd, { flushMs: 50, batchBytes: 1 << 20 })
    const logger = pino({ level: 'info' }, dest)
    try {
      for (let i = 0; i < 3; i++) logger.info(allowed(i), 'allow')
      expect(lines(path)).toHaveLength(0)
      const deadline = Date.now() + 5_000
      while (lines(path).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(lines(path)).toHaveLength(3)
    } finally {
      dest.end()
      closeSync(fd)
    }
    const full = fresh()
    const small = createLogDestination(full.fd, { flushMs: 60_000, batchBytes: 1024 })
    try {
      const l = pino({ level: 'info' }, small)
      let i = 0
      while (lines(full.path).length === 0 && i < 1000) l.info(allowed(i++), 'allow')
      // Written in one go once the batch passed 1 KiB: several records, none lost, none waiting.
      expect(i).toBeGreaterThan(3)
      expect(lines(full.path).map((r) => r['audit'].i)).toEqual([...Array(i).keys()])
    } finally {
      small.end()
      closeSync(full.fd)
    }
  })

  const moduleUrl = new URL('../../src/log-destination.ts', import.meta.url).href
  /** Runs `body` in a child node (TypeScript stripped) with a destination on `path`; returns its status. */
  function child(path: string, body: string): ReturnType<typeof spawnSync> {
    const script = `
      import fs from 'node:fs'
      import pino from ${JSON.stringify(fileURLToPath(new URL('../../node_modules/pino/pino.js', import.meta.url)))}
      const { createLogDestination } = await import(${JSON.stringify(moduleUrl)})
      const fd = fs.openSync(${JSON.stringify(path)}, 'w')
      const logger = pino({ level: 'info' }, createLogDestination(fd, { flushMs: 60_000 }))
      for (let i = 0; i < 200; i++) logger.info({ audit: { decision: 'allow', status: 200, i } }, 'allow')
      ${body}
    `
    return spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' })
  }

  test('what is batched is written when the process exits, also by an uncaught exception', () => {
    const a = fresh()
    closeSync(a.fd)
    const exited = child(a.path, 'process.exit(0)')
    expect(exited.status, String(exited.stderr)).toBe(0)
    expect(lines(a.path).map((l) => l['audit'].i)).toEqual([...Array(200).keys()])

    const b = fresh()
    closeSync(b.fd)
    const crashed = child(b.path, "setImmediate(() => { throw new Error('boom') })")
    expect(crashed.status).not.toBe(0)
    expect(String(crashed.stderr)).toContain('boom')
    expect(lines(b.path).map((l) => l['audit'].i)).toEqual([...Array(200).keys()])
  })
})
