// Real client libraries through dockgate (policy `full`): dockerode, on dockgate's socket and on
// the engine's own, must see the same thing — start, logs, exec (output and exit code), stop,
// remove; attach both ways (hijacked with stdin, and the engine's plain 200 raw stream without
// Upgrade, which goes through forward.ts rather than hijack.ts). testcontainers, which caches its
// engine client per process, is pointed at dockgate once for this whole file (issue 2).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { docker as dockerCli, useTestcontainers } from '../support/cli.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { TARGETS, removeContainersLabelled, sha256, until, type Target } from '../support/client-parity.js'

const engineSocket = inject('engineSocket')
const LABEL_KEY = 'dockgate.test'
const LABEL_VALUE = 'clients'
const PREFIX = 'dgc-'

let proxy: TestProxy
let clients: Record<Target, Docker>
/**
 * testcontainers writes a lock file into the temp dir (testcontainers-node-<uid>.lock, from
 * build/reaper/reaper.js) and leaves it there. It gets a temp dir of its own (TMPDIR, which its
 * `tmp` package reads at each use), removed after this file; the caller's TMPDIR comes back.
 */
let tcTmp: { dir: string; saved: string | undefined } | undefined

beforeAll(async () => {
  proxy = await startProxy({ policy: 'full', engineSocket })
  clients = { direct: new Docker({ socketPath: engineSocket }), dockgate: new Docker({ socketPath: proxy.socket }) }
})

afterAll(async () => {
  await removeContainersLabelled(engineSocket, `${LABEL_KEY}=${LABEL_VALUE}`)
  await proxy?.close()
  if (tcTmp !== undefined) {
    if (tcTmp.saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = tcTmp.saved
    rmSync(tcTmp.dir, { recursive: true, force: true })
  }
})

/** Container options every test uses: the test image, no network (docs/testing.md), our label. */
function spec(name: string, cmd: string[], extra: Docker.ContainerCreateOptions = {}): Docker.ContainerCreateOptions {
  return { name, Image: BUSYBOX_IMAGE, Cmd: cmd, Labels: { [LABEL_KEY]: LABEL_VALUE }, ...extra, HostConfig: { NetworkMode: 'none', ...extra.HostConfig } }
}

/** A multiplexed stream (non-TTY attach, exec, logs) read until it ends, split per stream. */
interface Collected {
  stdout(): Buffer
  stderr(): Buffer
  /** Resolves when the stream has ended. */
  readonly ended: Promise<void>
}

function collect(client: Docker, stream: NodeJS.ReadableStream): Collected {
  const out: Buffer[] = []
  const err: Buffer[] = []
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  stdout.on('data', (c: Buffer) => out.push(c))
  stderr.on('data', (c: Buffer) => err.push(c))
  client.modem.demuxStream(stream, stdout, stderr)
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', () => resolve())
    stream.once('close', () => resolve())
    stream.once('error', reject)
  })
  return { stdout: () => Buffer.concat(out), stderr: () => Buffer.concat(err), ended }
}

/** Docker's framing of non-TTY output in a buffer (`logs` without follow): [stream,0,0,0,size BE32] payload. */
function demux(bytes: Buffer): { stdout: string; stderr: string } {
  const parts = { stdout: '', stderr: '' }
  for (let at = 0; at + 8 <= bytes.length;) {
    const size = bytes.readUInt32BE(at + 4)
    const payload = bytes.subarray(at + 8, at + 8 + size).toString('utf8')
    if (bytes[at] === 1) parts.stdout += payload
    else if (bytes[at] === 2) parts.stderr += payload
    at += 8 + size
  }
  return parts
}

describe('dockerode', () => {
  /** start → logs → exec → stop → remove with one client; returns what the client saw. */
  async function lifecycle(client: Docker, name: string) {
    // PID 1 leaves SIGTERM to a trap, so `stop` ends it at once and with code 0.
    const script = 'echo out; echo err >&2; trap "exit 0" TERM; while true; do sleep 0.05; done'
    const container = await client.createContainer(spec(name, ['sh', '-c', script]))
    await container.start()
    const running = (await container.inspect()).State.Running

    const logs = await until(async () => {
      const l = demux(await container.logs({ stdout: true, stderr: true, follow: false }))
      return l.stdout !== '' && l.stderr !== '' && l
    }, 'the container\'s first output')

    const exec = await container.exec({ Cmd: ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 6'], AttachStdout: true, AttachStderr: true })
    const stream = await exec.start({ hijack: true, stdin: false })
    const got = collect(client, stream)
    await got.ended
    const execInfo = await until(async () => {
      const info = await exec.inspect()
      return !info.Running && info
    }, 'the exec to be over')

    await container.stop({ t: 10 })
    const stopped = (await container.inspect()).State
    await container.remove()
    const gone = await container.inspect().then(() => 'still there', (err: { statusCode?: number }) => err.statusCode)
    return {
      running,
      logs,
      exec: { stdout: got.stdout().toString(), stderr: got.stderr().toString(), exitCode: execInfo.ExitCode },
      stopped: { running: stopped.Running, exitCode: stopped.ExitCode },
      gone,
    }
  }

  test('start, logs, exec (output and exit code), stop, remove: the same through dockgate as direct', async () => {
    const expected = {
      running: true,
      logs: { stdout: 'out\n', stderr: 'err\n' },
      exec: { stdout: 'exec-out\n', stderr: 'exec-err\n', exitCode: 6 },
      stopped: { running: false, exitCode: 0 },
      gone: 404,
    }
    const before = proxy.audits().length
    expect(await lifecycle(clients.dockgate, `${PREFIX}life-dockgate`)).toEqual(expected)
    expect(await lifecycle(clients.direct, `${PREFIX}life-direct`)).toEqual(expected)
    // Every step was a request dockgate let through and recorded.
    const ops = new Set(proxy.audits().slice(before).map((a) => `${a.decision} ${a.operation}`))
    for (const op of ['ContainerCreate', 'ContainerStart', 'ContainerLogs', 'ContainerExec', 'ExecStart', 'ExecInspect', 'ContainerStop', 'ContainerDelete']) {
      expect(ops).toContain(`allow ${op}`)
    }
  })

  test('attach with hijack: stdin in, output back, the end of stdin ends the container', async () => {
    const input = Buffer.alloc(512 * 1024)
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919) % 251
    const results: Record<string, unknown> = {}
    for (const t of TARGETS) {
      const client = clients[t]
      const container = await client.createContainer(spec(`${PREFIX}attach-${t}`, ['cat'], {
        OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
      }))
      const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })
      const got = collect(client, stream)
      await container.start()
      stream.end(input)
      await got.ended
      const exit = (await container.wait()) as { StatusCode: number }
      results[t] = { stdout: sha256(got.stdout()), bytes: got.stdout().length, stderr: got.stderr().toString(), exit: exit.StatusCode }
    }
    expect(results['dockgate']).toEqual({ stdout: sha256(input), bytes: input.length, stderr: '', exit: 0 })
    expect(results['dockgate']).toEqual(results['direct'])
  })

  test('attach without hijack (the engine\'s 200 raw stream): output streams while the container runs', async () => {
    const script = 'echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo second; echo bad >&2'
    const results: Record<string, unknown> = {}
    for (const t of TARGETS) {
      const client = clients[t]
      const name = `${PREFIX}plain-attach-${t}`
      const container = await client.createContainer(spec(name, ['sh', '-c', script]))
      await container.start()
      const before = proxy.audits().length
      const stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: true, hijack: false })
      const got = collect(client, stream)
      // The container waits for the gate, so this output can only have come while it runs.
      await until(() => got.stdout().toString() === 'first\n', `the first line (${t})`)
      expect((await container.inspect()).State.Running).toBe(true)
      const gate = await dockerCli(['exec', name, 'touch', '/tmp/go'], { host: `unix://${engineSocket}` })
      expect(gate.code).toBe(0)
      await got.ended
      results[t] = { stdout: got.stdout().toString(), stderr: got.stderr().toString(), exit: ((await container.wait()) as { StatusCode: number }).StatusCode }
      if (t === 'dockgate') {
        // Not an upgrade: it went through the plain path, recorded when it started and when it ended.
        const attach = await until(() => proxy.audits().slice(before).find((a) => a.operation === 'ContainerAttach' && a.phase === 'end'), 'the end record of the attach')
        expect(attach).toMatchObject({ decision: 'allow', method: 'POST', status: 200 })
        expect(proxy.audits().slice(before).filter((a) => a.operation === 'ContainerAttach').map((a) => a.phase)).toEqual(['start', 'end'])
      }
    }
    expect(results['dockgate']).toEqual({ stdout: 'first\nsecond\n', stderr: 'bad\n', exit: 0 })
    expect(results['dockgate']).toEqual(results['direct'])
  })
})

describe('testcontainers', () => {
  test('start (wait for a log line), logs, exec with output and exit code, stop (and remove)', async () => {
    // Before testcontainers makes its (cached, per-process) client: this file's client is dockgate.
    useTestcontainers(proxy.host)
    tcTmp = { dir: mkdtempSync(join(tmpdir(), 'dockgate-tc-')), saved: process.env.TMPDIR }
    process.env.TMPDIR = tcTmp.dir
    const { GenericContainer, Wait } = await import('testcontainers')
    const before = proxy.audits().length

    const container = await new GenericContainer(BUSYBOX_IMAGE)
      .withNetworkMode('none')
      .withLabels({ [LABEL_KEY]: LABEL_VALUE })
      .withCommand(['sh', '-c', 'echo tc-ready; trap "exit 0" TERM; while true; do sleep 0.05; done'])
      .withWaitStrategy(Wait.forLogMessage('tc-ready'))
      .start()
    const id = container.getId()
    const inspect = await dockerCli(['inspect', '--format', '{{.State.Status}} {{.HostConfig.NetworkMode}}', id], { host: `unix://${engineSocket}` })
    expect(inspect.stdout.toString()).toBe('running none\n')

    const logs = await container.logs()
    const text = await new Promise<string>((resolve, reject) => {
      let acc = ''
      logs.on('data', (c: Buffer | string) => {
        acc += c.toString()
        if (acc.includes('tc-ready\n')) resolve(acc)
      })
      logs.once('error', reject)
    })
    logs.destroy()
    expect(text).toBe('tc-ready\n')

    expect(await container.exec(['sh', '-c', 'echo tc-out; echo tc-err >&2; exit 3'])).toMatchObject({ stdout: 'tc-out\n', stderr: 'tc-err\n', exitCode: 3 })
    expect(await container.exec(['echo', 'fine'])).toMatchObject({ output: 'fine\n', exitCode: 0 })

    await container.stop()
    const gone = await dockerCli(['inspect', id], { host: `unix://${engineSocket}` })
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain(`No such object: ${id}`)

    // All of it went through dockgate, allowed; and nothing asked the engine to pull.
    const records = proxy.audits().slice(before)
    const ops = new Set(records.map((a) => a.operation))
    for (const op of ['ContainerCreate', 'ContainerStart', 'ContainerLogs', 'ContainerExec', 'ExecStart', 'ContainerStop', 'ContainerDelete']) expect(ops).toContain(op)
    expect(ops).not.toContain('ImageCreate')
    expect(records.filter((a) => a.decision !== 'allow')).toEqual([])
  })
})
