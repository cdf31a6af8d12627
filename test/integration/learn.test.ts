/**
 * Issue 10, "How it is tested": dockgate as the operator runs it (`node dist/cli.js`, built in
 * beforeAll, its JSON lines on stdout written to a file) with the docker CLI and the real engine. A
 * scripted session (run with a bind of one work dir, ps, logs, exec, cp both ways, rm) goes through
 * `--audit-only --policy container-operator`: it works, and would-deny records appear; `dockgate
 * learn` turns that log file into a policy; dockgate enforcing that policy lets the same session
 * through and refuses a privileged run, another bind and an operation never seen.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type { AuditRecord } from '../../src/audit.js'
import { compilePolicyText } from '../../src/policy/compile.js'
import { docker } from '../support/cli.js'
import { pings } from '../support/engine.js'
import { removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'

const engineSocket = inject('engineSocket')
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const cli = join(repoRoot, 'dist/cli.js')
const PREFIX = 'dg-learn-'
const NAME = `${PREFIX}w`
let dir: string
let work: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-learn-'))
  work = mkdtempSync(join(dir, 'work-'))
  writeFileSync(join(dir, 'g'), 'copied in\n')
  // The CLI runs from dist/: build it from this tree.
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'pipe' })
})

afterAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
  rmSync(dir, { recursive: true, force: true })
})

/** `dockgate ARGS…` serving `socket`, stdout (its JSON lines) to `log`; resolves once it answers /_ping. */
async function serve(args: string[], socket: string, log: string): Promise<{ stop(): Promise<void> }> {
  const fd = openSync(log, 'w')
  const child: ChildProcess = spawn(process.execPath, [cli, '--upstream', `unix://${engineSocket}`, '--listen', `unix://${socket}`, ...args], { cwd: dir, env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', fd, 'pipe'] })
  closeSync(fd)
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const deadline = Date.now() + 20_000
  while (!(existsSync(socket) && (await pings(socket)))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dockgate did not start: ${stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

function logLines(log: string): Array<Record<string, unknown>> {
  return readFileSync(log, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}
const audits = (lines: Array<Record<string, unknown>>): AuditRecord[] => lines.filter((l) => l['audit'] !== undefined).map((l) => l['audit'] as AuditRecord)

const ok = (r: { code: number | null; stderr: string }): void => expect(r.code, r.stderr).toBe(0)

/** The session: what a developer does with the CLI, start to end (the container is removed last). */
async function session(host: string, out: string, end: (run: (args: string[]) => ReturnType<typeof docker>) => Promise<void> = async () => {}): Promise<void> {
  const run = (args: string[]): ReturnType<typeof docker> => docker(args, { host })
  ok(await run(['run', '-d', '--name', NAME, '--network', 'none', '-v', `${work}:/work`, BUSYBOX_IMAGE, 'sh', '-c', 'echo started > /work/f; echo started; sleep 600']))
  const ps = await run(['ps', '--filter', `name=${NAME}`, '--format', '{{.Names}}'])
  ok(ps)
  expect(ps.stdout.toString()).toBe(`${NAME}\n`)
  for (let i = 0; i < 50 && !(await run(['logs', NAME])).stdout.toString().includes('started'); i++) await new Promise((r) => setTimeout(r, 100))
  const logs = await run(['logs', NAME])
  ok(logs)
  expect(logs.stdout.toString()).toBe('started\n')
  const exec = await run(['exec', NAME, 'cat', '/work/f'])
  ok(exec)
  expect(exec.stdout.toString()).toBe('started\n')
  ok(await run(['cp', join(dir, 'g'), `${NAME}:/tmp/g`]))
  ok(await run(['cp', `${NAME}:/tmp/g`, out]))
  expect(readFileSync(out, 'utf8')).toBe('copied in\n')
  await end(run)
  ok(await run(['rm', '-f', NAME]))
}

describe('audit-only, learn, enforce', () => {
  let auditLog = ''
  let text = ''

  test('the session works under --audit-only, and what enforcement would refuse is recorded as would-deny', async () => {
    auditLog = join(dir, 'audit.jsonl')
    const socket = join(dir, 'audit.sock')
    const gate = await serve(['--audit-only', '--policy', 'container-operator'], socket, auditLog)
    try {
      await session(`unix://${socket}`, join(dir, 'out-audit'))
    } finally {
      await gate.stop()
    }
    const lines = logLines(auditLog)
    // The loud warning at start, once for the one listener.
    expect(lines.filter((l) => String(l['msg']).includes('AUDIT-ONLY')).map((l) => [l['level'], l['listener']])).toEqual([['warn', `unix://${socket}`]])
    const records = audits(lines)
    const wouldDeny = records.filter((r) => r.decision === 'would-deny').map((r) => r.operation)
    expect(new Set(wouldDeny)).toEqual(new Set(['ContainerCreate', 'ContainerStart', 'ContainerExec', 'ExecStart', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerArchive']))
    expect(records.filter((r) => r.decision === 'deny')).toEqual([])
    const create = records.find((r) => r.operation === 'ContainerCreate')
    expect(create).toMatchObject({ decision: 'would-deny', rule: 'container.binds', object: BUSYBOX_IMAGE, status: 201, violations: [{ guard: 'container.binds', field: 'HostConfig.Binds[0]' }] })
  })

  test('dockgate learn turns the log file into a policy; enforced, the same session passes and nothing else', async () => {
    text = execFileSync(process.execPath, [cli, 'learn', auditLog], { cwd: dir, encoding: 'utf8' })
    expect(text).toContain('extends:\n  - container-operator\n')
    expect(text).toMatch(new RegExp(`- path: ${work.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n\\s+read_only: false`))
    // A stream has a start and an end record; it is seen once.
    expect(text).toMatch(/- ContainerArchive # 1× \(would-deny 1\) by uid 0 on unix:\/\/\//)
    expect(text).toMatch(/write: true # 1× \(would-deny 1\)/)
    const learned = join(dir, 'learned.yaml')
    writeFileSync(learned, text)
    expect(compilePolicyText(text, { file: learned }).warnings).toEqual([])

    const enforceLog = join(dir, 'enforce.jsonl')
    const socket = join(dir, 'enforce.sock')
    const gate = await serve(['--policy', learned], socket, enforceLog)
    try {
      await session(`unix://${socket}`, join(dir, 'out-enforced'), async (run) => {
        const privileged = await run(['run', '--rm', '--privileged', '--network', 'none', '-v', `${work}:/work`, BUSYBOX_IMAGE, 'true'])
        expect(privileged.code).toBe(125)
        expect(privileged.stderr).toContain('HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)')
        const bind = await run(['run', '--rm', '--network', 'none', '-v', `${dir}:/work`, BUSYBOX_IMAGE, 'true'])
        expect(bind.code).toBe(125)
        expect(bind.stderr).toContain(`HostConfig.Binds[0]="${dir}:/work" mounts host path ${dir}, which is not in guards.container.binds (guard container.binds; allowed now: ${work})`)
        const pause = await run(['pause', NAME])
        expect(pause.code).not.toBe(0)
        expect(pause.stderr).toContain('dockgate: POST /containers/{id}/pause (ContainerPause) is not allowed by policy "learned" [DG_DENY_OPERATION]; to allow it add "ContainerPause" to the policy\'s allow: list (no preset has it)')
        expect(pause.stderr).toContain('[DG_DENY_OPERATION]')
      })
    } finally {
      await gate.stop()
    }
    const lines = logLines(enforceLog)
    expect(lines.filter((l) => String(l['msg']).includes('AUDIT-ONLY'))).toEqual([])
    const records = audits(lines)
    expect(records.filter((r) => r.decision === 'deny').map((r) => r.operation)).toEqual(['ContainerCreate', 'ContainerCreate', 'ContainerPause'])
    expect(records.filter((r) => r.decision === 'would-deny')).toEqual([])
  })
})
