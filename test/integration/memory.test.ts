// Memory under half-sent bodies: 1,000 connections each send a create body one byte short of its
// 1 MiB Content-Length and wait. dockgate runs as its own process (dist/cli.js, as users run it)
// so that its RSS can be read from /proc. A bound on memory, not a timing assertion.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { engineRequest } from '../support/engine.js'

const engineSocket = inject('engineSocket')
const CONNECTIONS = 1000
const LENGTH = 1024 * 1024

let dir: string
let child: ChildProcess
let socket: string

/** VmRSS and VmHWM (peak) of the dockgate process, in MiB. */
function memory(): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
  const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN)
  return { rss: Math.round(kib('VmRSS') / 1024), peak: Math.round(kib('VmHWM') / 1024) }
}

/**
 * A connection to dockgate. A unix socket's accept queue is finite, and a connect beyond it fails
 * with EAGAIN rather than waits (unix(7)); while dockgate is busy reading a thousand bodies, retry.
 */
async function connect(): Promise<net.Socket> {
  for (;;) {
    const c = net.connect(socket)
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => c.once('connect', () => resolve(undefined)).once('error', resolve))
    if (err === undefined) {
      c.on('error', () => undefined)
      return c
    }
    if (err.code !== 'EAGAIN') throw err
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function until(probe: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-mem-'))
  socket = join(dir, 'dg.sock')
  const cli = new URL('../../dist/cli.js', import.meta.url).pathname
  child = spawn(process.execPath, [cli, '--listen', `unix://${socket}`, '--upstream', `unix://${engineSocket}`, '--policy', 'container-operator', '--log-level', 'silent'], { stdio: 'ignore' })
  await until(() => existsSync(socket), 'dockgate to listen')
  expect((await engineRequest(socket, 'GET', '/_ping')).status).toBe(200)
})

afterAll(async () => {
  child?.kill('SIGTERM')
  await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)))
  rmSync(dir, { recursive: true, force: true })
})

describe('bodies held for inspection are bounded across connections', () => {
  test(`${CONNECTIONS} connections each holding a create body one byte short: the budget answers 503, RSS stays bounded, and comes back`, async () => {
    const start = memory()
    const body = Buffer.alloc(LENGTH - 1, 'a')
    const conns: net.Socket[] = []
    let refused = 0
    let otherAnswers = 0
    try {
      for (let i = 0; i < CONNECTIONS; i++) {
        const c = await connect()
        c.once('data', (d: Buffer) => {
          if (d.toString('latin1').startsWith('HTTP/1.1 503 ')) refused++
          else otherAnswers++
        })
        c.write(`POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${LENGTH}\r\n\r\n`)
        c.write(body)
        conns.push(c)
      }
      // The default budget (128 MiB) holds ~128 of them; every other one is answered 503 at once.
      await until(() => refused >= CONNECTIONS - 200, `${CONNECTIONS - 200} refusals (have ${refused})`, 120_000)
      expect(otherAnswers).toBe(0)
      const held = memory()
      expect(held.peak).toBeLessThan(500)
    } finally {
      for (const c of conns) c.destroy()
    }
    // Once they are gone, dockgate collects (reclaim.ts) and most of the memory comes back.
    const peak = memory().peak
    await until(() => memory().rss < start.rss + Math.max(100, (peak - start.rss) * 0.6), `RSS to come back (start ${start.rss} MiB, peak ${peak} MiB, now ${memory().rss} MiB)`, 30_000)
    // And dockgate still serves.
    expect((await engineRequest(socket, 'GET', '/_ping')).status).toBe(200)
  })
})
