// Both docker CLIs through dockgate (policy `full`) give what they give on the engine's own socket:
// same exit code, same output after normalising what differs between two runs (issue 2, "How it is
// tested"; the parity idea of cetusguard, github.com/hectorm/cetusguard). Under `read-only`, what the
// policy refuses reaches the user as dockgate's message, printed verbatim by both CLIs.
//
// Streams and hijacks (logs -f, exec -i, attach, events, build, cp, save/load) are in streams.test.ts.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { CLIS, docker, type CliName } from '../support/cli.js'
import { engineFacts } from '../support/engine-facts.js'
import { BIG_IMAGE, BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import {
  compose, ids, literals, onBoth, removeContainersLabelled, seen, times, until,
  type Hosts, type Normalizer, type Target,
} from '../support/client-parity.js'

const engineSocket = inject('engineSocket')
const clis = Object.keys(CLIS) as CliName[]
const facts = engineFacts()
/** Every container this file makes carries it, so afterAll finds them all. */
const LABEL = 'dockgate.test=cli-parity'
const PREFIX = 'dgp-'
/** Runs fixture containers: loopback-only machines (docs/testing.md). */
const RUN = ['--label', LABEL, '--network', 'none'] as const

/** A running container that has printed to both streams and changed its filesystem. */
const MAIN = `${PREFIX}main`
/** A container that exited with code 3. */
const EXITED = `${PREFIX}exited`

let full: TestProxy
let hosts: Hosts
const direct = `unix://${engineSocket}`

beforeAll(async () => {
  full = await startProxy({ policy: 'full', engineSocket })
  hosts = { direct, dockgate: full.host }
  const main = await docker(['run', '-d', '--name', MAIN, ...RUN, BUSYBOX_IMAGE, 'sh', '-c', 'mkdir /newdir; touch /tmp/x; echo out; echo err >&2; exec sleep 1000'], { host: direct })
  expect(main.code, main.stderr).toBe(0)
  const exited = await docker(['run', '--name', EXITED, ...RUN, BUSYBOX_IMAGE, 'sh', '-c', 'echo bye; exit 3'], { host: direct })
  expect(exited.code).toBe(3)
  // Ready when the shell has exec'd sleep: its changes and output are then final.
  await until(async () => (await docker(['top', MAIN], { host: direct })).stdout.toString().includes('sleep 1000'), 'the main container to reach sleep')
})

afterAll(async () => {
  await removeContainersLabelled(engineSocket, LABEL)
  await full?.close()
})

describe.each(clis)('%s CLI, full policy: same result as the direct socket', (cli) => {
  test('version: the server part', async () => {
    const json = await onBoth(hosts, ['version', '--format', '{{json .Server}}'], { cli })
    expect(json.direct.code).toBe(0)
    expect(seen(json.dockgate)).toEqual(seen(json.direct))
    const server = JSON.parse(json.dockgate.stdout.toString()) as { Version: string; ApiVersion: string; MinAPIVersion: string }
    expect(server).toMatchObject({ ApiVersion: facts.apiVersion, MinAPIVersion: facts.minApiVersion })
    expect(server.Version.startsWith(facts.versionPrefix), server.Version).toBe(true)

    const text = await onBoth(hosts, ['version'], { cli })
    expect(seen(text.dockgate)).toEqual(seen(text.direct))
    expect(text.dockgate.stdout.toString()).toMatch(new RegExp(`^Server:.*\\n Engine:\\n {2}Version: +${facts.versionPrefix.replaceAll('.', '\\.')}`, 'm'))
  })

  test('info: a few fields', async () => {
    const format = '{{.ID}}|{{.Name}}|{{.ServerVersion}}|{{.Driver}}|{{.OperatingSystem}}|{{.NCPU}}|{{.MemTotal}}|{{.DockerRootDir}}|{{.Images}}|{{.Containers}}'
    const p = await onBoth(hosts, ['info', '--format', format], { cli })
    expect(p.direct.code).toBe(0)
    expect(seen(p.dockgate)).toEqual(seen(p.direct))
    const [id, , version, , , ncpu] = p.dockgate.stdout.toString().trim().split('|')
    expect(id).toMatch(/\S/)
    expect(version?.startsWith(facts.versionPrefix), version).toBe(true)
    expect(Number(ncpu)).toBeGreaterThan(0)
  })

  test('ps: running containers only', async () => {
    const fields = await onBoth(hosts, ['ps', '--no-trunc', '--filter', `label=${LABEL}`, '--format', '{{.ID}}|{{.Image}}|{{.Command}}|{{.Names}}|{{.Labels}}'], { cli })
    expect(seen(fields.dockgate)).toEqual(seen(fields.direct))
    const rows = fields.dockgate.stdout.toString().trim().split('\n')
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatch(new RegExp(`^[0-9a-f]{64}\\|${BUSYBOX_IMAGE}\\|"sh -c 'mkdir .*'"\\|${MAIN}\\|dockgate.test=cli-parity$`))

    const table = await onBoth(hosts, ['ps'], { cli })
    expect(table.direct.code).toBe(0)
    expect(seen(table.dockgate, times)).toEqual(seen(table.direct, times))
    expect(table.dockgate.stdout.toString()).toMatch(/^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n/)
    expect(table.dockgate.stdout.toString()).toContain(MAIN)
    expect(table.dockgate.stdout.toString()).not.toContain(EXITED)
  })

  test('ps -a: the exited container too', async () => {
    const fields = await onBoth(hosts, ['ps', '-a', '--filter', `label=${LABEL}`, '--format', '{{.Names}}|{{.Status}}'], { cli })
    expect(seen(fields.dockgate, times)).toEqual(seen(fields.direct, times))
    expect(seen(fields.dockgate, times).stdout.split('\n')).toEqual(expect.arrayContaining([`${EXITED}|Exited (3) <t>`, `${MAIN}|Up <t>`]))

    const table = await onBoth(hosts, ['ps', '-a'], { cli })
    expect(seen(table.dockgate, times)).toEqual(seen(table.direct, times))
    expect(table.dockgate.stdout.toString()).toContain(EXITED)
  })

  test('images', async () => {
    // Images made in the same second come in map order, which differs from one call to the next.
    const rowsSorted: Normalizer = (s) => {
      const [header = '', ...rows] = s.split('\n').filter((l) => l !== '')
      return [header, ...rows.sort()].join('\n')
    }
    const fields = await onBoth(hosts, ['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}}|{{.ID}}|{{.Size}}'], { cli })
    expect(fields.direct.code).toBe(0)
    const sorted: Normalizer = (s) => s.split('\n').sort().join('\n')
    expect(seen(fields.dockgate, sorted)).toEqual(seen(fields.direct, sorted))
    const refs = fields.dockgate.stdout.toString().trim().split('\n').map((l) => l.split('|')[0])
    expect(refs).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, BIG_IMAGE]))

    const table = await onBoth(hosts, ['images'], { cli })
    expect(seen(table.dockgate, compose(times, rowsSorted))).toEqual(seen(table.direct, compose(times, rowsSorted)))
    expect(table.dockgate.stdout.toString()).toMatch(/^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n/)
  })

  test('run -d starts a container; rm -f removes it', async () => {
    const name = (t: Target): string => `${PREFIX}${cli}-rund-${t}`
    const run = await onBoth(hosts, (t) => ['run', '-d', '--name', name(t), ...RUN, BUSYBOX_IMAGE, 'sleep', '1000'], { cli })
    expect(run.direct.code).toBe(0)
    expect(seen(run.dockgate, ids)).toEqual(seen(run.direct, ids))
    expect(run.dockgate.stdout.toString()).toMatch(/^[0-9a-f]{64}\n$/)

    const state = await onBoth(hosts, (t) => ['inspect', '--format', '{{.State.Status}} {{.Config.Image}} {{json .Config.Cmd}} {{.HostConfig.NetworkMode}}', name(t)], { cli })
    expect(state.dockgate.stdout.toString()).toBe(`running ${BUSYBOX_IMAGE} ["sleep","1000"] none\n`)
    expect(seen(state.dockgate)).toEqual(seen(state.direct))

    const byTarget = literals({ [name('direct')]: '<name>', [name('dockgate')]: '<name>' })
    const rm = await onBoth(hosts, (t) => ['rm', '-f', name(t)], { cli })
    expect(rm.dockgate).toMatchObject({ code: 0, stderr: '' })
    expect(rm.dockgate.stdout.toString()).toBe(`${name('dockgate')}\n`)
    expect(seen(rm.dockgate, byTarget)).toEqual(seen(rm.direct, byTarget))

    // Gone on the engine: the same "No such object" either way.
    const gone = await onBoth(hosts, (t) => ['inspect', name(t)], { cli })
    expect(gone.dockgate.code).toBe(1)
    expect(gone.dockgate.stderr).toContain(`No such object: ${name('dockgate')}`)
    expect(seen(gone.dockgate, byTarget)).toEqual(seen(gone.direct, byTarget))
  })

  test('run --rm: output, stderr and the exit code come back', async () => {
    const echo = await onBoth(hosts, ['run', '--rm', ...RUN, BUSYBOX_IMAGE, 'echo', 'hello', 'from', cli], { cli })
    expect(echo.dockgate).toMatchObject({ code: 0, stderr: '' })
    expect(echo.dockgate.stdout.toString()).toBe(`hello from ${cli}\n`)
    expect(seen(echo.dockgate)).toEqual(seen(echo.direct))

    const fail = await onBoth(hosts, ['run', '--rm', ...RUN, BUSYBOX_IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 3'], { cli })
    expect(seen(fail.dockgate)).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' })
    expect(seen(fail.dockgate)).toEqual(seen(fail.direct))
  })

  test('logs, with and without timestamps', async () => {
    const plain = await onBoth(hosts, ['logs', MAIN], { cli })
    expect(seen(plain.dockgate)).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' })
    expect(seen(plain.dockgate)).toEqual(seen(plain.direct))

    const stamped = await onBoth(hosts, ['logs', '--timestamps', EXITED], { cli })
    expect(stamped.dockgate.stdout.toString()).toMatch(/^\d{4}-\d\d-\d\dT\S+Z bye\n$/)
    expect(seen(stamped.dockgate)).toEqual(seen(stamped.direct))
  })

  test('stats --no-stream', async () => {
    // The memory figure differs from one sample to the next; its shape must not.
    const usage: Normalizer = (s) => s.replace(/\|\d[\d.]*\w*B \/ \d[\d.]*\w*B$/m, '|<mem>')
    const format = '{{.Name}}|{{.Container}}|{{.ID}}|{{.PIDs}}|{{.MemUsage}}'
    const p = await onBoth(hosts, ['stats', '--no-stream', '--format', format, MAIN], { cli, parallel: true })
    expect(p.dockgate.code).toBe(0)
    expect(seen(p.dockgate, usage).stdout).toMatch(new RegExp(`^${MAIN}\\|${MAIN}\\|[0-9a-f]{12}\\|1\\|<mem>\\n$`))
    expect(seen(p.dockgate, usage)).toEqual(seen(p.direct, usage))
  })

  test('top', async () => {
    const p = await onBoth(hosts, ['top', MAIN], { cli })
    expect(p.dockgate.code).toBe(0)
    expect(p.dockgate.stdout.toString()).toMatch(/^UID +PID +PPID +C +STIME +TTY +TIME +CMD\nroot +\d+ .* sleep 1000\n$/)
    expect(seen(p.dockgate)).toEqual(seen(p.direct))
  })

  test('diff', async () => {
    // The engine lists changes in map order, which differs from one call to the next.
    const sorted: Normalizer = (s) => s.split('\n').filter((l) => l !== '').sort().join('\n')
    const p = await onBoth(hosts, ['diff', MAIN], { cli })
    expect(seen(p.dockgate, sorted)).toEqual({ code: 0, stdout: 'A /newdir\nA /tmp/x\nC /tmp', stderr: '' })
    expect(seen(p.dockgate, sorted)).toEqual(seen(p.direct, sorted))
  })

  test('inspect: a container, an image, and a name that does not exist', async () => {
    const c = await onBoth(hosts, ['inspect', MAIN], { cli })
    expect(c.dockgate.code).toBe(0)
    expect(seen(c.dockgate)).toEqual(seen(c.direct))
    const [info] = JSON.parse(c.dockgate.stdout.toString()) as Array<{ Name: string; State: { Running: boolean } }>
    expect(info).toMatchObject({ Name: `/${MAIN}`, State: { Running: true } })

    const image = await onBoth(hosts, ['image', 'inspect', BUSYBOX_IMAGE], { cli })
    expect(seen(image.dockgate)).toEqual(seen(image.direct))
    expect((JSON.parse(image.dockgate.stdout.toString()) as Array<{ RepoTags: string[] }>)[0]!.RepoTags).toContain(BUSYBOX_IMAGE)

    const missing = await onBoth(hosts, ['inspect', `${PREFIX}no-such-thing`], { cli })
    expect(missing.dockgate.code).toBe(1)
    expect(missing.dockgate.stderr).toMatch(new RegExp(`No such object: ${PREFIX}no-such-thing`))
    expect(seen(missing.dockgate)).toEqual(seen(missing.direct))
  })

  test('wait: the exit code of an exited container', async () => {
    const p = await onBoth(hosts, ['wait', EXITED], { cli })
    expect(seen(p.dockgate)).toEqual({ code: 0, stdout: '3\n', stderr: '' })
    expect(seen(p.dockgate)).toEqual(seen(p.direct))
  })

  test('kill', async () => {
    const name = (t: Target): string => `${PREFIX}${cli}-kill-${t}`
    const byTarget = literals({ [name('direct')]: '<name>', [name('dockgate')]: '<name>' })
    await onBoth(hosts, (t) => ['run', '-d', '--name', name(t), ...RUN, BUSYBOX_IMAGE, 'sleep', '1000'], { cli })
    const kill = await onBoth(hosts, (t) => ['kill', name(t)], { cli })
    expect(seen(kill.dockgate)).toEqual({ code: 0, stdout: `${name('dockgate')}\n`, stderr: '' })
    expect(seen(kill.dockgate, byTarget)).toEqual(seen(kill.direct, byTarget))
    const state = await onBoth(hosts, (t) => ['wait', name(t)], { cli })
    expect(state.dockgate.stdout.toString()).toBe('137\n')
    expect(seen(state.dockgate)).toEqual(seen(state.direct))

    // Killing what is not running is an engine error, relayed as the engine wrote it.
    const again = await onBoth(hosts, (t) => ['kill', name(t)], { cli })
    expect(again.dockgate.code).toBe(1)
    expect(again.dockgate.stderr).toMatch(/^Error response from daemon: .*is not running/m)
    expect(seen(again.dockgate, compose(ids, byTarget))).toEqual(seen(again.direct, compose(ids, byTarget)))
  })

  test('rename', async () => {
    const name = (t: Target): string => `${PREFIX}${cli}-rename-${t}`
    const byTarget = literals({ [name('direct')]: '<name>', [name('dockgate')]: '<name>' })
    await onBoth(hosts, (t) => ['create', '--name', name(t), ...RUN, BUSYBOX_IMAGE, 'true'], { cli })
    const rename = await onBoth(hosts, (t) => ['rename', name(t), `${name(t)}-new`], { cli })
    expect(seen(rename.dockgate)).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(seen(rename.dockgate)).toEqual(seen(rename.direct))
    const check = await onBoth(hosts, (t) => ['inspect', '--format', '{{.Name}}', `${name(t)}-new`], { cli })
    expect(check.dockgate.stdout.toString()).toBe(`/${name('dockgate')}-new\n`)
    expect(seen(check.dockgate, byTarget)).toEqual(seen(check.direct, byTarget))
  })

  test('an engine error (start of a missing container) reads the same', async () => {
    const p = await onBoth(hosts, ['start', `${PREFIX}missing`], { cli })
    expect(p.dockgate.code).toBe(1)
    expect(p.dockgate.stderr).toContain(`Error response from daemon: No such container: ${PREFIX}missing`)
    expect(seen(p.dockgate)).toEqual(seen(p.direct))
  })
})

describe('read-only policy: refusals reach the user verbatim', () => {
  let ro: TestProxy
  /** A build context and a file of a few MB: requests whose bodies are still streaming when refused. */
  let scratch: string
  beforeAll(async () => {
    ro = await startProxy({ policy: 'read-only', engineSocket })
    scratch = mkdtempSync(join(tmpdir(), 'dockgate-parity-'))
    writeFileSync(join(scratch, 'payload.bin'), randomBytes(4 * 1024 * 1024))
    writeFileSync(join(scratch, 'Dockerfile'), 'FROM busybox:test\nCOPY payload.bin /payload.bin\n')
  })
  afterAll(async () => {
    await ro?.close()
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
  })

  /** The shipped presets a refusal names as having each operation (test/unit/policy/advice.test.ts checks how they are chosen). */
  const PRESETS_WITH: Readonly<Record<string, string>> = {
    ContainerCreate: 'presets with it: container-operator, ci, dozzle-actions, …',
    ContainerExec: 'presets with it: container-operator, ci, acme-companion, …',
    ContainerKill: 'presets with it: container-operator, ci, acme-companion, …',
    ContainerArchive: 'presets with it: ci',
    PutContainerArchive: 'presets with it: ci',
    ImageBuild: 'presets with it: ci',
    ContainerExport: 'no preset has it',
  }

  /** dockgate's refusal message for an operation the preset has no rule for, with the line that would allow it. */
  const denied = (operation: string, method: string, template: string): string =>
    `Error response from daemon: dockgate: ${method} ${template} (${operation}) is not allowed by policy "read-only" [DG_DENY_OPERATION]; ` +
    `to allow it add "${operation}" to an allow: list in a policy that extends read-only (${PRESETS_WITH[operation] ?? '?'})`

  /** Runs `args` through read-only and returns the result and the audit records it produced. */
  async function throughReadOnly(args: readonly string[], cli: CliName, env?: Record<string, string>) {
    const before = ro.audits().length
    const result = await docker(args, { host: ro.host, cli, ...(env ? { env } : {}) })
    return { result, audits: ro.audits().slice(before) }
  }

  describe.each(clis)('%s CLI', (cli) => {
    test('ps works, with the same output as on the direct socket', async () => {
      const args = ['ps', '-a', '--no-trunc', '--filter', `label=${LABEL}`, '--format', '{{.ID}}|{{.Names}}|{{.Command}}']
      const { result, audits } = await throughReadOnly(args, cli)
      const direct = await docker(args, { host: hosts.direct, cli })
      expect(result.code).toBe(0)
      expect(seen(result)).toEqual(seen(direct))
      expect(result.stdout.toString()).toContain(MAIN)
      expect(audits.filter((a) => a.operation === 'ContainerList').map((a) => [a.decision, a.status])).toEqual([['allow', 200]])
    })

    test('run fails with exit 125 and dockgate\'s message; nothing is created; the refusal is audited', async () => {
      const name = `${PREFIX}${cli}-ro-run`
      const { result, audits } = await throughReadOnly(['run', '--rm', '--name', name, ...RUN, BUSYBOX_IMAGE, 'echo', 'hi'], cli)
      expect(result.code).toBe(125)
      expect(result.stdout.toString()).toBe('')
      expect(result.stderr).toContain(`docker: ${denied('ContainerCreate', 'POST', '/containers/create')}`)
      const refusals = audits.filter((a) => a.decision !== 'allow')
      expect(refusals).toEqual([
        expect.objectContaining({ decision: 'deny', code: 'DG_DENY_OPERATION', operation: 'ContainerCreate', method: 'POST', path: '/containers/create', policy: 'read-only', status: 403 }),
      ])
      expect(refusals[0]!.reason).toBe('POST /containers/create (ContainerCreate) is not allowed by policy "read-only"')
      const check = await docker(['inspect', name], { host: hosts.direct })
      expect(check.stderr).toContain(`No such object: ${name}`)
    })

    test.each([
      ['exec', ['exec', MAIN, 'echo', 'hi'], [['ContainerExec', 'POST']]],
      ['cp out', ['cp', `${MAIN}:/etc/passwd`, '-'], [['ContainerArchive', 'GET']]],
      ['export', ['export', MAIN], [['ContainerExport', 'GET']]],
    ] as const)('%s is refused with dockgate\'s message', async (_name, args, refused) => {
      const { result, audits } = await throughReadOnly(args, cli)
      const [operation, method] = refused[refused.length - 1]!
      const path = `/containers/${MAIN}/${{ ContainerExec: 'exec', ContainerArchive: 'archive', ContainerExport: 'export' }[operation]}`
      expect(result.code).toBe(1)
      expect(result.stdout.toString()).toBe('')
      expect(result.stderr).toContain(denied(operation, method, `/containers/{id}/${path.split('/').pop() ?? ''}`))
      expect(audits.filter((a) => a.decision !== 'allow').map((a) => [a.decision, a.code, a.operation, a.method, a.path, a.status])).toEqual(
        refused.map(([op, m]) => ['deny', 'DG_DENY_OPERATION', op, m, path, 403]),
      )
    })

    test('kill is refused, and the CLI prints the refusal verbatim: the operation, the policy, and the line that would allow it', async () => {
      const { result, audits } = await throughReadOnly(['kill', MAIN], cli)
      expect(result.code).toBe(1)
      expect(result.stdout.toString()).toBe('')
      // One whole line of its own: nothing of the message is cut or rewrapped.
      expect(result.stderr.trim().split('\n')).toEqual([denied('ContainerKill', 'POST', '/containers/{id}/kill')])
      expect(audits.filter((a) => a.decision !== 'allow').map((a) => [a.decision, a.code, a.operation, a.status])).toEqual([['deny', 'DG_DENY_OPERATION', 'ContainerKill', 403]])
      expect((await docker(['inspect', '--format', '{{.State.Running}}', MAIN], { host: hosts.direct })).stdout.toString().trim()).toBe('true')
    })

    // The CLI is still sending these bodies (a tar of a few MB) when the refusal comes: the message
    // must reach it every time, not only when it wins the race against its own upload. Five tries
    // each, since a lost message shows up only on some runs.
    test('cp in (a few MB, still uploading when refused) gets dockgate\'s message, every time', async () => {
      for (let i = 0; i < 5; i++) {
        const { result, audits } = await throughReadOnly(['cp', join(scratch, 'payload.bin'), `${MAIN}:/tmp/payload.bin`], cli)
        expect(result.stderr).toContain(denied('PutContainerArchive', 'PUT', '/containers/{id}/archive'))
        expect(result.code).toBe(1)
        // The CLI stats the destination first (HEAD, refused as well, no body to print), then uploads.
        expect(audits.filter((a) => a.decision !== 'allow').map((a) => [a.decision, a.operation, a.method])).toEqual([
          ['deny', 'ContainerArchiveInfo', 'HEAD'],
          ['deny', 'PutContainerArchive', 'PUT'],
        ])
      }
    })

    test('build (context upload still streaming when refused) gets dockgate\'s message, every time', async () => {
      for (let i = 0; i < 5; i++) {
        const { result, audits } = await throughReadOnly(['build', '--network', 'none', scratch], cli, { DOCKER_BUILDKIT: '0' })
        expect(result.stderr).toContain(denied('ImageBuild', 'POST', '/build'))
        expect(result.code).toBe(1)
        expect(audits.filter((a) => a.decision !== 'allow').map((a) => [a.decision, a.operation, a.code])).toEqual([['deny', 'ImageBuild', 'DG_DENY_OPERATION']])
      }
    })
  })
})
