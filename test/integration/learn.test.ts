/**
 * Audit-only, then `dockgate learn`, then enforce, with the docker CLI and the real engine: a
 * scripted session (run with a bind of one work dir, ps, logs, exec, cp both ways, rm) goes through
 * container-operator in audit-only mode, with would-deny records; learn turns dockgate's own log
 * lines into a policy; under that policy, enforced, the same session passes, and a privileged run,
 * another bind and an operation never seen are refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { learn } from '../../src/learn/command.js'
import { compilePolicyText } from '../../src/policy/compile.js'
import { docker } from '../support/cli.js'
import { removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-learn-'
const NAME = `${PREFIX}w`
let dir: string
let work: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-learn-'))
  work = mkdtempSync(join(dir, 'work-'))
  writeFileSync(join(dir, 'g'), 'copied in\n')
})

afterAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
  rmSync(dir, { recursive: true, force: true })
})

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
  let audit: TestProxy
  let text = ''

  beforeAll(async () => {
    audit = await startProxy({ policy: 'container-operator', engineSocket, mode: 'audit' })
  })
  afterAll(async () => {
    await audit?.close()
  })

  test('the session works in audit-only mode, and what enforcement would refuse is recorded as would-deny', async () => {
    await session(audit.host, join(dir, 'out-audit'))
    const records = audit.audits()
    const wouldDeny = records.filter((r) => r.decision === 'would-deny').map((r) => r.operation)
    expect(new Set(wouldDeny)).toEqual(new Set(['ContainerCreate', 'ContainerStart', 'ContainerExec', 'ExecStart', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerArchive']))
    expect(records.filter((r) => r.decision === 'deny')).toEqual([])
  })

  test('learn prints a policy from dockgate\'s own log lines; enforced, the same session passes and nothing else', async () => {
    let err = ''
    const code = learn(['-'], {
      out: (s) => { text += s },
      err: (s) => { err += s },
      stdin: () => Buffer.from(audit.lines.map((l) => JSON.stringify(l)).join('\n')),
    })
    expect(code, err).toBe(0)
    expect(text).toContain('extends:\n  - container-operator\n')
    expect(text).toMatch(new RegExp(`- path: ${work.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n\\s+read_only: false`))
    expect(text).toMatch(/- ContainerArchive # 1× \(would-deny 1\) by uid 0 on unix:\/\/\//)
    expect(text).toMatch(/write: true # 1× \(would-deny 1\)/)
    const policy = compilePolicyText(text, { file: join(dir, 'learned.yaml') })
    expect(policy.warnings).toEqual([])

    const enforced = await startProxy({ policy, engineSocket })
    try {
      await session(enforced.host, join(dir, 'out-enforced'), async (run) => {
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
      const records = enforced.audits()
      expect(records.filter((r) => r.decision === 'deny').map((r) => r.operation)).toEqual(['ContainerCreate', 'ContainerCreate', 'ContainerPause'])
      expect(records.filter((r) => r.decision === 'would-deny')).toEqual([])
    } finally {
      await enforced.close()
    }
  })
})
