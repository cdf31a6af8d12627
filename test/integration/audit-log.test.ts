/**
 * The audit log under load, for real: dockgate runs as a child process (`node dist/cli.js`,
 * built in beforeAll) with its standard output in a file, as a deployment writes it. Allowed
 * requests' records are batched (src/log-destination.ts), so what is proven here is that none is
 * lost: a SIGTERM right after the last answer still finds every record in the file, a refusal's
 * record is in the file by the time its answer arrives, and batched records reach the file with
 * no further traffic and no exit. (Issue 11; the timing of the batch is unit-tested.)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest'
import { engineRequest, pings } from '../support/engine.js'

const engineSocket = inject('engineSocket')
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
let dir = ''
const children: ChildProcess[] = []

beforeAll(() => {
  // The child runs the built CLI: build it from this tree.
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'pipe' })
  dir = mkdtempSync(join(tmpdir(), 'dockgate-auditlog-'))
})
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
/** Starts dockgate (policy full) with its output appended to a file; resolves once it answers. */
async function start(): Promise<{ child: ChildProcess; socket: string; logPath: string; exited: Promise<number | null> }> {
  const socket = join(dir, `dg-${n}.sock`)
  const logPath = join(dir, `dg-${n++}.log`)
  const fd = openSync(logPath, 'a')
  const child = spawn(process.execPath, [join(repoRoot, 'dist/cli.js'), '--listen', `unix://${socket}`, '--upstream', `unix://${engineSocket}`, '--policy', 'full'], { stdio: ['ignore', fd, fd], env: { PATH: process.env['PATH'] ?? '' } })
  closeSync(fd)
  children.push(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const deadline = Date.now() + 20_000
  while (!(await pings(socket))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dockgate did not start: ${readFileSync(logPath, 'utf8')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { child, socket, logPath, exited }
}

/** The audit records in the log file so far. */
function records(logPath: string): Array<{ decision: string; method: string; path: string; code?: string; status?: number }> {
  return readFileSync(logPath, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { audit?: any }).filter((l) => l.audit !== undefined).map((l) => l.audit)
}

describe('audit records are batched, never lost', () => {
  test('SIGTERM right after the last answer: every request has its record in the file', async () => {
    const d = await start()
    const allowed = 400
    const denied = 20
    // In parallel, 16 at a time: the records of the last ones are still in the batch at SIGTERM.
    const jobs: Array<() => Promise<number>> = [
      ...Array.from({ length: allowed }, () => async () => (await engineRequest(d.socket, 'HEAD', '/_ping')).status),
      ...Array.from({ length: denied }, () => async () => (await engineRequest(d.socket, 'GET', '/v1.41/../containers/json')).status),
    ]
    const statuses: number[] = []
    for (let i = 0; i < jobs.length; i += 16) statuses.push(...(await Promise.all(jobs.slice(i, i + 16).map((j) => j()))))
    for (let i = 0; i < 10; i++) statuses.push((await engineRequest(d.socket, 'HEAD', '/_ping')).status)
    d.child.kill('SIGTERM')
    expect(await d.exited).toBe(0)
    expect(statuses.filter((s) => s === 200)).toHaveLength(allowed + 10)
    expect(statuses.filter((s) => s === 400 || s === 403)).toHaveLength(denied)
    const recs = records(d.logPath)
    expect(recs.filter((r) => r.decision === 'allow' && r.method === 'HEAD' && r.path === '/_ping')).toHaveLength(allowed + 10)
    expect(recs.filter((r) => r.decision === 'deny')).toHaveLength(denied)
  })

  test("a refusal's record is in the file when its answer arrives; allowed ones follow without more traffic", async () => {
    const d = await start()
    // Whatever start-up's readiness pings left (in the batch or written) is not this test's.
    const before = (await new Promise((r) => setTimeout(r, 1_500)), records(d.logPath).length)
    const decisions = (): string[] => records(d.logPath).slice(before).map((r) => r.decision)
    for (let i = 0; i < 5; i++) expect((await engineRequest(d.socket, 'HEAD', '/_ping')).status).toBe(200)
    const refused = await engineRequest(d.socket, 'GET', '/v1.41/../containers/json')
    expect(refused.status).toBeGreaterThanOrEqual(400)
    // Written at once, after the allowed records before it (order kept).
    expect(decisions()).toEqual(['allow', 'allow', 'allow', 'allow', 'allow', 'deny'])
    for (let i = 0; i < 3; i++) expect((await engineRequest(d.socket, 'HEAD', '/_ping')).status).toBe(200)
    // No more traffic, no exit: the batch is written by its timer (within a second; a deadline
    // here only keeps a broken build from hanging the test).
    const deadline = Date.now() + 10_000
    while (decisions().length < 9 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(decisions()).toEqual(['allow', 'allow', 'allow', 'allow', 'allow', 'deny', 'allow', 'allow', 'allow'])
    expect(d.child.exitCode).toBe(null)
  })
})
