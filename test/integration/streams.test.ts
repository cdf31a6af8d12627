// Streams, uploads, downloads and hijacked connections with both docker CLIs, through dockgate
// (policy `full`) and on the engine's own socket: the same results, and real streaming — output
// that arrives while the container is still producing it, stdin that reaches the container byte for
// byte and ends it, upstream streams that end when the client goes away (issue 2; docs/engine-notes.md,
// "Hijacked connections" and "Streams").
//
// dockgate's upstream is a recording tap (test/support/tap.ts), so tests can see what dockgate does
// on the engine side: which request carried a stream, and whether its connection was closed.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest'
import { CLIS, docker, spawnDocker, type CliName } from '../support/cli.js'
import { engineFacts } from '../support/engine-facts.js'
import { BIG_IMAGE, BUSYBOX_IMAGE, inspectImage } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { startTap, type Tap, type TapConnection } from '../support/tap.js'
import { withoutTarTimes } from '../support/tar.js'
import {
  TARGETS, compose, ids, literals, metricValue, onBoth, removeContainersLabelled, removeImages, seen, sha256, until, watch,
  type Hosts, type Normalizer, type Target, type Watched,
} from '../support/client-parity.js'

const engineSocket = inject('engineSocket')
const clis = Object.keys(CLIS) as CliName[]
const LABEL = 'dockgate.test=streams'
const PREFIX = 'dgs-'
const RUN = ['--label', LABEL, '--network', 'none'] as const
/** A running container for exec, cp and friends. */
const MAIN = `${PREFIX}main`

let dir: string
let tap: Tap
let proxy: TestProxy
let hosts: Hosts
/** A few MB of random bytes, and its digest. */
let payload: Buffer
let payloadSha: string
let payloadPath: string
/** Image tags made by build tests, removed in afterAll. */
const builtTags: string[] = []
/** `docker save` of BIG_IMAGE and its id before any test, to restore it if a load test fails. */
let bigId: string
/** Full id of MAIN. */
let mainId: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-streams-'))
  tap = await startTap(join(dir, 'tap.sock'), engineSocket)
  proxy = await startProxy({ policy: 'full', engineSocket: tap.socket })
  hosts = { direct: `unix://${engineSocket}`, dockgate: proxy.host }
  payload = randomBytes(4 * 1024 * 1024)
  payloadSha = sha256(payload)
  payloadPath = join(dir, 'payload.bin')
  writeFileSync(payloadPath, payload)
  const main = await docker(['run', '-d', '--name', MAIN, ...RUN, BUSYBOX_IMAGE, 'sleep', '1000'], { host: hosts.direct })
  expect(main.code, main.stderr).toBe(0)
  mainId = main.stdout.toString().trim()
  bigId = (await inspectImage(engineSocket, BIG_IMAGE))!.Id!
})

afterAll(async () => {
  await removeContainersLabelled(engineSocket, LABEL)
  await removeImages(engineSocket, builtTags)
  await proxy?.close()
  await tap?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

/**
 * The tap connection that carried the first request whose target matches `target`, among the
 * requests after the first `after` (take `tap.requests().length` before starting the client).
 */
function upstreamOf(target: RegExp, what: string, after: number): Promise<TapConnection> {
  return tap.waitFor(() => {
    const req = tap.requests().slice(after).find((r) => target.test(r.target))
    return req && tap.connections().find((c) => c.index === req.connection)
  }, what)
}

const openStreams = (): Promise<number> => metricValue(proxy.registry, 'dockgate_open_streams', { kind: 'stream' })

/** CLIs a test started; afterEach kills those still running (after a failure). */
const children: Watched[] = []

afterEach(async () => {
  const running = children.splice(0).filter((w) => !w.hasExited())
  for (const w of running) w.child.kill('SIGKILL')
  await Promise.all(running.map((w) => w.exited))
})

/** Starts a CLI that the test reads while it runs. */
function spawned(args: readonly string[], host: string, cli: CliName): Watched {
  const w = watch(spawnDocker(args, { host, cli }))
  children.push(w)
  return w
}

/** Starts a CLI on each target at once. */
function spawnBoth(cli: CliName, args: (t: Target) => readonly string[]): Record<Target, Watched> {
  return { direct: spawned(args('direct'), hosts.direct, cli), dockgate: spawned(args('dockgate'), hosts.dockgate, cli) }
}

async function inspectState(name: string): Promise<string> {
  const r = await docker(['inspect', '--format', '{{.State.Status}}', name], { host: hosts.direct })
  return r.stdout.toString().trim()
}

/** Opens a gate a container is waiting on (`while [ ! -e /tmp/<gate> ]`). */
async function openGate(name: string, gate: string): Promise<void> {
  const r = await docker(['exec', name, 'touch', `/tmp/${gate}`], { host: hosts.direct })
  expect(r.code, r.stderr).toBe(0)
}

/** A shell loop that waits for /tmp/<gate>: the container goes on only when the test says so. */
const waitGate = (gate: string): string => `while [ ! -e /tmp/${gate} ]; do sleep 0.05; done`

describe.each(clis)('%s CLI', (cli) => {
  const name = (what: string, t?: Target): string => `${PREFIX}${cli}-${what}${t ? `-${t}` : ''}`

  test('logs -f: lines arrive while the container is still writing them', async () => {
    const c = name('logs')
    const script = `echo line1; ${waitGate('go1')}; echo line2; ${waitGate('go2')}; for i in 3 4 5; do echo line$i; sleep 0.3; done`
    expect((await docker(['run', '-d', '--name', c, ...RUN, BUSYBOX_IMAGE, 'sh', '-c', script], { host: hosts.direct })).code).toBe(0)
    const follow = spawnBoth(cli, () => ['logs', '-f', c])

    // The container cannot go past line1 until the gate opens: a buffering proxy would hang here.
    for (const t of TARGETS) await follow[t].waitForStdout((s) => s === 'line1\n', `line1 (${t})`)
    expect(await inspectState(c)).toBe('running')
    await openGate(c, 'go1')
    for (const t of TARGETS) await follow[t].waitForStdout((s) => s === 'line1\nline2\n', `line2 (${t})`)
    expect(await inspectState(c)).toBe('running')
    expect(follow.dockgate.hasExited()).toBe(false)
    await openGate(c, 'go2')

    const [direct, dockgate] = await Promise.all([follow.direct.exited, follow.dockgate.exited])
    const all = 'line1\nline2\nline3\nline4\nline5\n'
    expect({ ...dockgate, stdout: follow.dockgate.stdout().toString(), stderr: follow.dockgate.stderr() }).toEqual({ code: 0, signal: null, stdout: all, stderr: '' })
    expect({ ...direct, stdout: follow.direct.stdout().toString(), stderr: follow.direct.stderr() }).toEqual({ code: 0, signal: null, stdout: all, stderr: '' })
  })

  test('logs -f: a CLI that goes away takes the engine-side stream with it', async () => {
    const seenBefore = tap.requests().length
    const follow = spawned(['logs', '-f', MAIN], hosts.dockgate, cli)
    // The CLI looks the container up first, then follows it by id.
    const upstream = await upstreamOf(new RegExp(`^/v[\\d.]+/containers/${mainId}/logs\\?.*follow=1`), 'the logs request at the engine', seenBefore)
    await until(async () => (await openStreams()) === 1, 'the stream to be counted open')
    expect(upstream.isClosed).toBe(false)
    const audited = proxy.audits().length
    follow.child.kill('SIGKILL')
    await follow.exited
    await upstream.closed
    await until(async () => (await openStreams()) === 0, 'dockgate_open_streams back to 0')
    await until(() => proxy.audits().slice(audited).find((a) => a.operation === 'ContainerLogs'), 'the audit record of the stream')
  })

  test('events: an event arrives while the stream is open; killing the CLI closes the engine stream', async () => {
    const c = name('events')
    expect((await docker(['create', '--name', c, ...RUN, BUSYBOX_IMAGE, 'true'], { host: hosts.direct })).code).toBe(0)
    // --since covers the moment between the engine receiving the request and subscribing; the
    // event is still delivered on the open stream, while the CLI keeps running.
    const since = String(Math.floor(Date.now() / 1000) - 1)
    const format = '{{.Type}} {{.Status}} {{.Actor.Attributes.name}}'
    const seenBefore = tap.requests().length
    const events = spawned(['events', '--since', since, '--filter', `container=${c}`, '--filter', 'event=start', '--format', format], hosts.dockgate, cli)
    const upstream = await upstreamOf(/^\/v[\d.]+\/events\?/, 'the events request at the engine', seenBefore)
    await until(async () => (await openStreams()) === 1, 'the events stream to be counted open')
    expect(events.stdout().length).toBe(0)

    expect((await docker(['start', c], { host: hosts.direct })).code).toBe(0)
    await events.waitForStdout((s) => s === `container start ${c}\n`, 'the start event')
    expect(events.hasExited()).toBe(false)
    expect(upstream.isClosed).toBe(false)

    const audited = proxy.audits().length
    events.child.kill('SIGKILL')
    await events.exited
    await upstream.closed
    await until(async () => (await openStreams()) === 0, 'dockgate_open_streams back to 0')
    const record = await until(() => proxy.audits().slice(audited).find((a) => a.operation === 'SystemEvents'), 'the audit record of the events stream')
    expect(record).toMatchObject({ decision: 'allow', method: 'GET', path: '/events', status: 200 })

    // The same history on both sockets (a finite stream: --until), once the container has died,
    // so that its die event is inside the window however slow the machine is.
    expect((await docker(['wait', c], { host: hosts.direct })).code).toBe(0)
    const until_ = String(Math.floor(Date.now() / 1000) + 1)
    const history = await onBoth(hosts, ['events', '--since', since, '--until', until_, '--filter', `container=${c}`, '--format', format], { cli })
    expect(seen(history.dockgate)).toEqual({ code: 0, stdout: `container create ${c}\ncontainer start ${c}\ncontainer die ${c}\n`, stderr: '' })
    expect(seen(history.dockgate)).toEqual(seen(history.direct))
  })

  test('exec -i: a few MB of stdin round-trip byte for byte, and stdin\'s end ends the command', async () => {
    const seenBefore = tap.requests().length
    const cat = await onBoth(hosts, ['exec', '-i', MAIN, 'cat'], { cli, input: payload })
    for (const t of TARGETS) {
      expect(cat[t].code, cat[t].stderr).toBe(0)
      expect(cat[t].stdout.length).toBe(payload.length)
      expect(sha256(cat[t].stdout)).toBe(payloadSha)
    }
    const execConn = await upstreamOf(/^\/v[\d.]+\/exec\/[0-9a-f]+\/start$/, 'the exec start at the engine', seenBefore)
    // The end of stdin travelled to the engine as a half-close.
    expect(execConn.clientEnded).toBe(true)

    const digest = await onBoth(hosts, ['exec', '-i', MAIN, 'sha256sum'], { cli, input: payload })
    expect(seen(digest.dockgate)).toEqual({ code: 0, stdout: `${payloadSha}  -\n`, stderr: '' })
    expect(seen(digest.dockgate)).toEqual(seen(digest.direct))
  })

  test('exec -i: the exit code comes back', async () => {
    const p = await onBoth(hosts, ['exec', '-i', MAIN, 'sh', '-c', 'cat >/dev/null; echo bye >&2; exit 7'], { cli, input: payload })
    expect(seen(p.dockgate)).toEqual({ code: 7, stdout: '', stderr: 'bye\n' })
    expect(seen(p.dockgate)).toEqual(seen(p.direct))
  })

  test('exec -t: output through the container\'s pty (CRLF)', async () => {
    const pts: Normalizer = (s) => s.replace(/\/dev\/pts\/\d+/g, '/dev/pts/N')
    const p = await onBoth(hosts, ['exec', '-t', MAIN, 'sh', '-c', 'tty; echo done'], { cli })
    expect(seen(p.dockgate, pts)).toEqual({ code: 0, stdout: '/dev/pts/N\r\ndone\r\n', stderr: '' })
    expect(seen(p.dockgate, pts)).toEqual(seen(p.direct, pts))
  })

  test('exec -it: typed input reaches the command, its output and exit code come back', async () => {
    const p = await onBoth(hosts, ['exec', '-it', MAIN, 'sh', '-c', 'read x; echo "got-$x"; exit 4'], { cli, tty: true, input: 'abc\n' })
    for (const t of TARGETS) {
      expect(p[t].code).toBe(4)
      expect(p[t].stdout.toString()).toContain('got-abc\r\n')
    }
  })

  test('run --rm -i: stdin through the attach of a new container', async () => {
    const p = await onBoth(hosts, ['run', '--rm', '-i', ...RUN, BUSYBOX_IMAGE, 'sh', '-c', 'sha256sum; exit 3'], { cli, input: payload })
    expect(seen(p.dockgate)).toEqual({ code: 3, stdout: `${payloadSha}  -\n`, stderr: '' })
    expect(seen(p.dockgate)).toEqual(seen(p.direct))
  })

  test('attach to a running cat started with -i: stdin goes in, the output comes back, stdin\'s end ends it', async () => {
    const c = (t: Target): string => name('attach', t)
    const input = payload.subarray(0, 1024 * 1024)
    await onBoth(hosts, (t) => ['create', '-i', '--name', c(t), ...RUN, BUSYBOX_IMAGE, 'cat'], { cli })
    await onBoth(hosts, (t) => ['start', c(t)], { cli })
    const p = await onBoth(hosts, (t) => ['attach', c(t)], { cli, input })
    for (const t of TARGETS) {
      expect(p[t].code, p[t].stderr).toBe(0)
      expect(sha256(p[t].stdout)).toBe(sha256(input))
    }
    const exit = await onBoth(hosts, (t) => ['wait', c(t)], { cli })
    expect(seen(exit.dockgate)).toEqual({ code: 0, stdout: '0\n', stderr: '' })
    expect(seen(exit.direct)).toEqual(seen(exit.dockgate))
  })

  test('run -it: a terminal session in a new container, exit code passed back', async () => {
    const p = await onBoth(hosts, ['run', '--rm', '-it', ...RUN, BUSYBOX_IMAGE, 'sh', '-c', 'read x; echo "got-$x"; exit 4'], { cli, tty: true, input: 'xyz\n' })
    for (const t of TARGETS) {
      expect(p[t].code).toBe(4)
      expect(p[t].stdout.toString()).toContain('got-xyz\r\n')
    }
  })

  test('attach: a CLI that goes away closes the hijacked engine connection; the container runs on', async () => {
    const c = name('detach')
    expect((await docker(['run', '-d', '-i', '--name', c, ...RUN, BUSYBOX_IMAGE, 'cat'], { host: hosts.direct })).code).toBe(0)
    const seenBefore = tap.requests().length
    const attach = spawned(['attach', c], hosts.dockgate, cli)
    const upstream = await upstreamOf(/^\/v[\d.]+\/containers\/[^/]+\/attach\?/, 'the attach request at the engine', seenBefore)
    attach.child.stdin?.write('ping\n')
    await attach.waitForStdout((s) => s === 'ping\n', 'the echo of cat')
    expect(await metricValue(proxy.registry, 'dockgate_open_streams', { kind: 'hijack' })).toBe(1)

    attach.child.kill('SIGKILL')
    await attach.exited
    await upstream.closed
    await until(async () => (await metricValue(proxy.registry, 'dockgate_open_streams', { kind: 'hijack' })) === 0, 'the hijack gauge back to 0')
    expect(await inspectState(c)).toBe('running')
  })

  test('wait: blocks until the container exits, then prints its code', async () => {
    const c = name('wait')
    expect((await docker(['run', '-d', '--name', c, ...RUN, BUSYBOX_IMAGE, 'sh', '-c', `${waitGate('go')}; exit 5`], { host: hosts.direct })).code).toBe(0)
    const seenBefore = tap.requests().length
    const waiting = spawnBoth(cli, () => ['wait', c])
    await upstreamOf(new RegExp(`^/v[\\d.]+/containers/${c}/wait`), 'the wait request at the engine', seenBefore)
    expect(waiting.dockgate.hasExited()).toBe(false)
    expect(await inspectState(c)).toBe('running')
    await openGate(c, 'go')
    for (const t of TARGETS) {
      expect(await waiting[t].exited).toEqual({ code: 0, signal: null })
      expect(waiting[t].stdout().toString()).toBe('5\n')
    }
  })

  test('build: context upload, legacy builder, --network none', async () => {
    const ctx = join(dir, `ctx-${cli}`)
    mkdirSync(ctx)
    writeFileSync(join(ctx, 'payload.bin'), payload)
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${BUSYBOX_IMAGE}\nRUN echo built > /built\nCOPY payload.bin /payload.bin\n`)
    const tag = (t: Target): string => `${PREFIX}${cli}-build-${t}:test`
    builtTags.push(tag('direct'), tag('dockgate'))
    // The CLI redraws its upload progress with CR as the context goes out, as often as it likes.
    const progress: Normalizer = (s) => s.replace(/(?:Sending build context to Docker daemon +\S+\r+)*Sending build context to Docker daemon +(\S+)\r*\n/, 'Sending build context to Docker daemon $1\n')
    const norm = compose(progress, ids, literals({ [tag('direct')]: '<tag>', [tag('dockgate')]: '<tag>' }))
    const p = await onBoth(hosts, (t) => ['build', '--no-cache', '--network', 'none', '-t', tag(t), ctx], { cli, env: { DOCKER_BUILDKIT: '0' } })
    expect(p.dockgate.code, p.dockgate.stderr).toBe(0)
    expect(seen(p.dockgate, norm)).toEqual(seen(p.direct, norm))
    expect(seen(p.dockgate, norm).stdout).toMatch(/^Sending build context to Docker daemon 4\.\d+MB\n[\s\S]*Step 2\/3 : RUN echo built > \/built\n[\s\S]*Successfully built <id12>\nSuccessfully tagged <tag>\n$/)

    const check = await onBoth(hosts, (t) => ['run', '--rm', ...RUN, tag(t), 'sh', '-c', 'cat /built; sha256sum /payload.bin'], { cli })
    expect(seen(check.dockgate)).toEqual({ code: 0, stdout: `built\n${payloadSha}  /payload.bin\n`, stderr: '' })
    expect(seen(check.dockgate)).toEqual(seen(check.direct))
  })

  test('cp: a file in, and back out, byte for byte', async () => {
    const inside = (t: Target): string => `/tmp/${cli}-${t}.bin`
    const cpIn = await onBoth(hosts, (t) => ['cp', payloadPath, `${MAIN}:${inside(t)}`], { cli })
    expect(cpIn.dockgate.code, cpIn.dockgate.stderr).toBe(0)
    expect(seen(cpIn.dockgate)).toEqual(seen(cpIn.direct))
    const inContainer = await docker(['exec', MAIN, 'sha256sum', inside('direct'), inside('dockgate')], { host: hosts.direct })
    expect(inContainer.stdout.toString()).toBe(`${payloadSha}  ${inside('direct')}\n${payloadSha}  ${inside('dockgate')}\n`)

    const out = (t: Target): string => join(dir, `out-${cli}-${t}.bin`)
    const cpOut = await onBoth(hosts, (t) => ['cp', `${MAIN}:${inside(t)}`, out(t)], { cli })
    expect(seen(cpOut.dockgate)).toEqual(seen(cpOut.direct))
    for (const t of TARGETS) expect(sha256(readFileSync(out(t)))).toBe(payloadSha)

    // The archive stream itself is identical: the same tar bytes either way.
    const tar = await onBoth(hosts, ['cp', `${MAIN}:${inside('direct')}`, '-'], { cli })
    expect(tar.dockgate.code).toBe(0)
    expect(tar.dockgate.stdout.length).toBeGreaterThan(payload.length)
    expect(sha256(tar.dockgate.stdout)).toBe(sha256(tar.direct.stdout))
  })

  test(`save and load of ${BIG_IMAGE} (tens of MB)`, async () => {
    const save = await onBoth(hosts, ['save', BIG_IMAGE], { cli })
    expect(save.dockgate.code, save.dockgate.stderr).toBe(0)
    expect(save.dockgate.stdout.length).toBeGreaterThan(40 * 1024 * 1024)
    if (engineFacts().reproducibleSave) {
      expect(sha256(save.dockgate.stdout)).toBe(sha256(save.direct.stdout))
    } else {
      // Engine difference (docs/engine-notes.md): dockerd 26.1 stamps some entries of each save with
      // its time, so two saves differ in those headers' mtime (and checksum) fields alone.
      expect(save.dockgate.stdout.length).toBe(save.direct.stdout.length)
      expect(sha256(withoutTarTimes(save.dockgate.stdout))).toBe(sha256(withoutTarTimes(save.direct.stdout)))
    }

    try {
      for (const t of TARGETS) {
        const rmi = await docker(['rmi', BIG_IMAGE], { host: hosts[t], cli })
        expect(rmi.code, rmi.stderr).toBe(0)
        expect(rmi.stdout.toString()).toContain(`Untagged: ${BIG_IMAGE}\nDeleted: ${bigId}\n`)
        expect(await inspectImage(engineSocket, BIG_IMAGE)).toBeUndefined()
        const load = await docker(['load'], { host: hosts[t], cli, input: save.dockgate.stdout })
        expect(seen(load)).toEqual({ code: 0, stdout: `Loaded image: ${BIG_IMAGE}\n`, stderr: '' })
        expect((await inspectImage(engineSocket, BIG_IMAGE))?.Id).toBe(bigId)
      }
    } finally {
      // Other files need the image: put it back if a load failed half-way.
      if ((await inspectImage(engineSocket, BIG_IMAGE)) === undefined) await docker(['load'], { host: hosts.direct, input: save.direct.stdout })
    }
  })

})
