// Both real docker CLIs through the container-operator preset (issue 3, "How it is tested"): an
// ordinary `docker run` works, and every escalation flag fails with dockgate's message, printed
// verbatim by the CLI, naming the field and the guard — and leaves no container behind.
// 'new' is client 28 (API 1.50, negotiated down to 1.41), 'old' is client 20.10 (test/support/cli.ts).
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { docker, type CliName } from '../support/cli.js'
import { removeByPrefix, snapshot } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-gc-'
const CLIS: readonly CliName[] = ['new', 'old']

let operator: TestProxy
let serial = 0

beforeAll(async () => {
  operator = await startProxy({ policy: 'container-operator', engineSocket })
})

afterAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
  await operator?.close()
})

const DENIED = 'Error response from daemon: dockgate: ContainerCreate denied by policy "container-operator": '

/** One escalation flag, and how dockgate names it (`field=value <what is wrong> (guard g; <allowed now>)`). */
interface Flag {
  readonly name: string
  readonly args: readonly string[]
  /** The violation as it appears in the message; the two CLIs may spell a value differently. */
  readonly violation: RegExp
}

const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** The field and value, then the guard that refused them, in one violation's sentence (no other `(guard …` between). */
const v = (field: string, value: string, guard: string): RegExp => new RegExp(`${re(field)}=${value} (?:(?!\\(guard ).)+ \\(guard ${re(guard)}[;)]`)

const FLAGS: Flag[] = [
  { name: '--privileged', args: ['--privileged'], violation: v('HostConfig.Privileged', 'true', 'container.privileged') },
  { name: '-v /:/host', args: ['-v', '/:/host'], violation: v('HostConfig.Binds[0]', re('"/:/host"'), 'container.binds') },
  { name: '--pid host', args: ['--pid', 'host'], violation: v('HostConfig.PidMode', '"host"', 'container.namespaces') },
  // Client 28 normalises to CAP_SYS_ADMIN before sending; client 20.10 sends what was typed.
  { name: '--cap-add SYS_ADMIN', args: ['--cap-add', 'SYS_ADMIN'], violation: v('HostConfig.CapAdd[0]', '"(CAP_)?SYS_ADMIN"', 'container.capabilities') },
  { name: '--security-opt seccomp=unconfined', args: ['--security-opt', 'seccomp=unconfined'], violation: v('HostConfig.SecurityOpt[0]', re('"seccomp=unconfined"'), 'container.security_opt') },
  { name: '--device /dev/mem', args: ['--device', '/dev/mem'], violation: v('HostConfig.Devices[0].PathOnHost', re('"/dev/mem"'), 'container.devices') },
]

describe.each(CLIS)('docker CLI (%s) through container-operator', (cli) => {
  test('docker run --rm --network none busybox:test echo hi works', async () => {
    const name = `${PREFIX}ok-${cli}-${++serial}`
    const res = await docker(['run', '--rm', '--name', name, '--network', 'none', BUSYBOX_IMAGE, 'echo', 'hi'], { host: operator.host, cli })
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout.toString()).toBe('hi\n')
    const audits = operator.audits().filter((a) => a.operation === 'ContainerCreate' && a.decision === 'allow')
    expect(audits.at(-1)).toMatchObject({ status: 201, policy: 'container-operator' })
  })

  test.each(FLAGS)(`docker run $name fails with exit 125 and dockgate's message naming the field and guard`, async (flag) => {
    const before = await snapshot(engineSocket)
    const name = `${PREFIX}deny-${cli}-${++serial}`
    const res = await docker(['run', '--rm', '--name', name, '--network', 'none', ...flag.args, BUSYBOX_IMAGE, 'echo', 'hi'], { host: operator.host, cli })
    expect(res.code, res.stderr).toBe(125)
    expect(res.stdout.toString()).toBe('')
    // The first line is dockgate's message, verbatim, with this one violation and nothing else.
    const first = res.stderr.split('\n')[0]!
    expect(first).toMatch(new RegExp(`^docker: ${re(DENIED)}${flag.violation.source}[^;]*\\) \\[DG_DENY_BODY\\]\\.?$`))
    // Nothing was created, and dockgate recorded the refusal.
    expect(await snapshot(engineSocket)).toEqual(before)
    expect(operator.audits().at(-1)).toMatchObject({ operation: 'ContainerCreate', decision: 'deny', code: 'DG_DENY_BODY', status: 403 })
  })
})
