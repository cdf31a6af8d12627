/**
 * SIGHUP, for real: dockgate runs as a child process (`node dist/cli.js --config …`, built in
 * beforeAll) and gets real signals. A reload while a `logs -f` stream and an `exec -i` session are
 * open (both continue), with a changed policy (the next request sees it, on a new connection and
 * on a kept-alive one), then with a broken file (the old configuration stays, the problem is
 * logged with file:line:col, the failure is counted, the process lives), then adding and removing
 * listeners, and TLS files re-read. Last, in process: a `clients:` entry changed on a listener
 * applies to a connection opened before. issue 9, item 5.
 */
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type { AuditRecord } from '../../src/audit.js'
import { loadConfig, type Config } from '../../src/config.js'
import { startDockgate as startInProcess } from '../../src/server.js'
import { docker, spawnDocker } from '../support/cli.js'
import { watch, type Watched } from '../support/client-parity.js'
import { engineRequest } from '../support/engine.js'
import { call, removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { RawConnection } from '../support/raw.js'
import { makeCerts, type TestCerts } from '../support/tls.js'

const engineSocket = inject('engineSocket')
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const PREFIX = 'dg-reload-'
const TICKER = `${PREFIX}ticker`

let dir = ''
const cleanups: Array<() => unknown> = []

/** dockgate as a child process, its JSON log lines collected as they come. */
interface Dockgate {
  readonly pid: number
  readonly lines: Array<Record<string, unknown>>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  alive(): boolean
  /** Sends SIGHUP and waits for the reload's summary line; returns it. */
  hup(): Promise<Record<string, unknown>>
  waitLog(probe: (l: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>
}

function startDockgate(config: string): Promise<Dockgate> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/cli.js'), '--config', config], { cwd: dir, env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: Array<Record<string, unknown>> = []
  let buffered = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString('utf8')
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const p of parts) if (p.trim() !== '') lines.push(JSON.parse(p) as Record<string, unknown>)
  })
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
  let done = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => {
    done = true
    resolve({ code, signal })
  }))
  cleanups.push(async () => {
    if (!done) child.kill('SIGKILL')
    await exited
  })
  const waitLog = async (probe: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000, from = 0): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = lines.slice(from).find(probe)
      if (found !== undefined) return found
      if (done) throw new Error(`${what}: dockgate exited first (stderr ${JSON.stringify(stderr)})`)
      if (Date.now() > deadline) throw new Error(`${what}: not logged within ${timeoutMs} ms; log: ${JSON.stringify(lines.slice(-5))}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const d: Dockgate = {
    pid: child.pid!,
    lines,
    exited,
    alive: () => !done,
    waitLog: (probe, what, timeoutMs) => waitLog(probe, what, timeoutMs),
    async hup() {
      const from = lines.length
      process.kill(child.pid!, 'SIGHUP')
      return waitLog((l) => typeof l['reload'] === 'object' && l['reload'] !== null, 'the reload summary', 20_000, from)
    },
  }
  return d.waitLog((l) => String(l['msg']).startsWith('admin endpoints'), 'start-up').then(() => d)
}

/** One value of the admin endpoint's /metrics. */
async function metric(admin: string, series: string): Promise<number | undefined> {
  const text = (await engineRequest(admin, 'GET', '/metrics')).body.toString()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const yaml = (lines: readonly string[]): string => lines.join('\n') + '\n'

beforeAll(async () => {
  // The child runs the built CLI: build it from this tree.
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'pipe' })
  dir = mkdtempSync(join(tmpdir(), 'dockgate-reload-'))
  await removeByPrefix(engineSocket, PREFIX)
  const created = await call(engineSocket, 'POST', `/containers/create?name=${TICKER}`, {
    Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.2; done'], HostConfig: { NetworkMode: 'none' },
  })
  expect(created.status, created.text).toBe(201)
  expect((await call(engineSocket, 'POST', `/containers/${created.json.Id as string}/start`)).status).toBe(204)
}, 240_000)

afterAll(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo()
  await removeByPrefix(engineSocket, PREFIX)
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('one dockgate, reloaded while it serves', () => {
  let gate: Dockgate
  let a = ''
  let b = ''
  let admin = ''
  let config = ''
  let policy = ''
  const children: Watched[] = []
  let follow: Watched
  let session: Watched
  let kept: RawConnection

  const writeConfig = (listeners: ReadonlyArray<readonly [string, string]>): void => writeFileSync(config, yaml([
    `upstream: unix://${engineSocket}`,
    `admin: unix://${admin}`,
    'listeners:',
    ...listeners.flatMap(([sock, pol]) => [`  - listen: unix://${sock}`, `    policy: ${pol}`]),
  ]))

  beforeAll(async () => {
    a = join(dir, 'a.sock')
    b = join(dir, 'b.sock')
    admin = join(dir, 'admin.sock')
    config = join(dir, 'dockgate.yaml')
    policy = join(dir, 'ops.yaml')
    writeFileSync(policy, yaml(['extends: [container-operator]']))
    writeConfig([[a, './ops.yaml']])
    gate = await startDockgate(config)
    cleanups.push(() => {
      for (const w of children) if (!w.hasExited()) w.child.kill('SIGKILL')
      kept?.destroy()
    })
  })

  test('streams and a session are open; a kept-alive connection has made a request', async () => {
    follow = watch(spawnDocker(['logs', '-f', '--tail', '0', TICKER], { host: `unix://${a}` }))
    session = watch(spawnDocker(['exec', '-i', TICKER, 'cat'], { host: `unix://${a}` }))
    children.push(follow, session)
    await follow.waitForStdout((s) => /tick\d+\n/.test(s), 'a tick through logs -f')
    session.child.stdin!.write('before\n')
    await session.waitForStdout((s) => s === 'before\n', 'the session echoes')
    kept = await RawConnection.open(a)
    await kept.write('GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n')
    expect((await kept.waitResponses(1))[0]!.status).toBe(200)
  })

  test('a changed policy: the next request sees it; the stream and the session continue', async () => {
    writeFileSync(policy, yaml(['extends: [container-operator]', 'rules:', '  - name: no-list', '    deny: ContainerList']))
    const summary = await gate.hup()
    expect(summary).toMatchObject({ reload: { result: 'success', added: [], removed: [], updated: [`unix://${a}`] }, msg: `configuration reloaded; updated unix://${a}` })

    const ps = await docker(['ps'], { host: `unix://${a}` })
    expect(ps.code).toBe(1)
    expect(ps.stderr).toContain('dockgate: GET /containers/json (ContainerList) is denied by rule no-list (deny ContainerList) of policy "ops" [DG_DENY_OPERATION]; to allow it narrow or remove rule no-list (a deny wins over every allow)')
    // The same connection as before the reload: its next request is decided by the new policy.
    await kept.write('GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n')
    const [, second] = await kept.waitResponses(2)
    expect(second!.status).toBe(403)
    expect(second!.header('x-dockgate-error')).toBe('DG_DENY_OPERATION')

    const seen = follow.stdout().toString().length
    await follow.waitForStdout((s) => s.length > seen && /tick\d+\n$/.test(s), 'ticks after the reload')
    session.child.stdin!.write('after\n')
    await session.waitForStdout((s) => s === 'before\nafter\n', 'the session still echoes')
    // It ends as it would have without the reload (the CLI then asks for the exit code, allowed).
    session.child.stdin!.end()
    expect(await session.exited).toEqual({ code: 0, signal: null })
    expect(session.stderr()).toBe('')
    // A second session, for the removal below.
    session = watch(spawnDocker(['exec', '-i', TICKER, 'cat'], { host: `unix://${a}` }))
    children.push(session)
    session.child.stdin!.write('second\n')
    await session.waitForStdout((s) => s === 'second\n', 'the second session echoes')
    expect(await metric(admin, 'dockgate_config_reloads_total{result="success"}')).toBe(1)
    expect(await metric(admin, 'dockgate_config_last_reload_successful')).toBe(1)
  })

  test('a broken policy file: the configuration in use stays, the problem is logged with file:line:col and counted, dockgate lives', async () => {
    const before = await metric(admin, 'dockgate_config_last_reload_success_timestamp_seconds')
    writeFileSync(policy, yaml(['extends: [container-operator]', 'rules:', '  - alow: ContainerList']))
    const summary = await gate.hup()
    const problem = 'ops.yaml:3:5: rules[0].alow: unknown key "alow" (did you mean allow? allowed keys: allow, deny, name)'
    expect(summary).toMatchObject({ level: 'error', reload: { result: 'failure', problems: [problem] }, msg: 'configuration reload failed: 1 problem(s); the configuration in use stays' })
    expect(gate.lines.some((l) => l['msg'] === problem && l['level'] === 'error')).toBe(true)
    expect(gate.alive()).toBe(true)
    expect(await metric(admin, 'dockgate_config_reloads_total{result="failure"}')).toBe(1)
    expect(await metric(admin, 'dockgate_config_last_reload_successful')).toBe(0)
    expect(await metric(admin, 'dockgate_config_last_reload_success_timestamp_seconds')).toBe(before)
    // Still the last good policy: ps refused, inspect allowed.
    expect((await docker(['ps'], { host: `unix://${a}` })).stderr).toContain('[DG_DENY_OPERATION]')
    expect((await docker(['inspect', '--format', '{{.Name}}', TICKER], { host: `unix://${a}` })).stdout.toString()).toBe(`/${TICKER}\n`)
    // A broken config file: the same.
    writeFileSync(config, yaml(['upstream: unix:///x', 'listeners:', '  - listen: unix:///tmp/x.sock', '    polcy: read-only']))
    const again = await gate.hup()
    expect(again).toMatchObject({ reload: { result: 'failure', problems: [expect.stringMatching(/^dockgate\.yaml:4:5: listeners\[0\]\.polcy: unknown key "polcy" \(did you mean policy\?/)] } })
    expect(await metric(admin, 'dockgate_config_reloads_total{result="failure"}')).toBe(2)
    expect(existsSync('/tmp/x.sock')).toBe(false)
  })

  test('a listener added: it serves at once with its own policy', async () => {
    writeFileSync(policy, yaml(['extends: [container-operator]']))
    writeConfig([[a, './ops.yaml'], [b, 'read-only']])
    expect(await gate.hup()).toMatchObject({ reload: { result: 'success', added: [`unix://${b}`], removed: [], updated: [`unix://${a}`] } })
    expect((await docker(['ps', '--format', '{{.Names}}'], { host: `unix://${b}` })).stdout.toString()).toContain(TICKER)
    const exec = await docker(['exec', TICKER, 'true'], { host: `unix://${b}` })
    expect(exec.stderr).toContain('dockgate: POST /containers/{id}/exec (ContainerExec) is not allowed by policy "read-only" [DG_DENY_OPERATION]; to allow it add "ContainerExec" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, acme-companion, …)')
    expect((await docker(['ps'], { host: `unix://${a}` })).code).toBe(0)
  })

  test('a listener removed: it stops accepting, its socket file goes; its stream and session run on; its connections get no new requests', async () => {
    // A connection in the middle of sending a request when the listener goes: not idle, so not closed.
    const midway = await RawConnection.open(a)
    cleanups.push(() => midway.destroy())
    await midway.write('GET /containers/json HTTP/1.1\r\nHo')
    writeConfig([[b, 'read-only']])
    expect(await gate.hup()).toMatchObject({ reload: { result: 'success', added: [], removed: [`unix://${a}`], updated: [`unix://${b}`] } })
    expect(existsSync(a)).toBe(false)
    await expect(RawConnection.open(a)).rejects.toThrow(/ENOENT/)

    const seen = follow.stdout().toString().length
    await follow.waitForStdout((s) => s.length > seen && /tick\d+\n$/.test(s), 'ticks after the listener was removed')
    session.child.stdin!.write('still\n')
    await session.waitForStdout((s) => s === 'second\nstill\n', 'the session echoes after the removal')
    // When it ends, the CLI asks for the exec's exit code on a new connection, and the listener is
    // gone: "connection failed" gives status -1, silently (docker/cli cli/command/container/exec.go
    // getExecExitStatus).
    session.child.stdin!.end()
    expect(await session.exited).toEqual({ code: 255, signal: null })
    expect(session.stderr()).toBe('')

    // The kept-alive connection was idle: closed at the removal. The request that was on its way
    // is refused, and the connection then closed.
    await kept.waitClosed()
    await midway.write('st: docker\r\n\r\n')
    const [refused] = await midway.waitResponses(1)
    expect(refused!.status).toBe(410)
    expect(refused!.json()).toEqual({ message: 'dockgate: this listener was removed by a configuration reload; connect to a listener the configuration names [DG_DENY_LISTENER_REMOVED]' })
    await midway.waitClosed()
    expect(gate.alive()).toBe(true)
  })

  test('SIGTERM ends the rest cleanly: exit 0, socket files removed', async () => {
    process.kill(gate.pid, 'SIGTERM')
    expect(await gate.exited).toEqual({ code: 0, signal: null })
    expect(await follow.exited).toEqual({ code: 0, signal: null })
    expect(existsSync(b)).toBe(false)
    expect(existsSync(admin)).toBe(false)
  })
})

describe('TLS files re-read, and TLS changed on a live port', () => {
  let certs: TestCerts
  let other: TestCerts
  beforeAll(() => {
    certs = makeCerts()
    other = makeCerts()
    cleanups.push(() => certs.remove(), () => other.remove())
  })

  /** A free loopback port (bound and released: nothing else on this machine binds loopback ports at random). */
  async function freePort(): Promise<number> {
    const s = net.createServer()
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
    const { port } = s.address() as net.AddressInfo
    await new Promise((r) => s.close(r))
    return port
  }

  /** The fingerprint of the certificate the listener presents, or the handshake's error. */
  function handshake(port: number, client?: { cert: string; key: string }): Promise<string> {
    return new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}) }, () => {
        const fp = s.getPeerCertificate().fingerprint256
        s.write('GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n')
        s.once('data', (d: Buffer) => {
          resolve(`${fp} ${d.toString('latin1').split('\r\n')[0]}`)
          s.destroy()
        })
      })
      s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`))
      s.on('close', () => resolve('closed'))
    })
  }

  test('a rotated certificate is served to the next handshake; a client CA added makes it mutual TLS', async () => {
    const port = await freePort()
    const admin = join(dir, 'admin-tls.sock')
    const config = join(dir, 'tls.yaml')
    const pem = (file: string): string => execFileSync('openssl', ['x509', '-in', file, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().split('=')[1]!
    copyFileSync(certs.server.cert, join(dir, 'server.pem'))
    copyFileSync(certs.server.key, join(dir, 'server.key'))
    const write = (ca: boolean): void => writeFileSync(config, yaml([
      `upstream: unix://${engineSocket}`, `admin: unix://${admin}`, 'listeners:',
      `  - listen: tcp://127.0.0.1:${port}`, '    policy: read-only',
      `    tls: { cert: ./server.pem, key: ./server.key${ca ? `, ca: ${certs.ca}` : ''} }`,
    ]))
    write(false)
    const gate = await startDockgate(config)
    expect(await handshake(port)).toBe(`${pem(certs.server.cert)} HTTP/1.1 200 OK`)

    copyFileSync(other.server.cert, join(dir, 'server.pem'))
    copyFileSync(other.server.key, join(dir, 'server.key'))
    expect(await gate.hup()).toMatchObject({ reload: { result: 'success', updated: [`tcp://127.0.0.1:${port}`] } })
    expect(await handshake(port)).toBe(`${pem(other.server.cert)} HTTP/1.1 200 OK`)

    // A key that does not match the certificate: refused whole, the last good pair stays.
    copyFileSync(certs.server.key, join(dir, 'server.key'))
    const col = '    tls: { cert: ./server.pem, key: ./server.key }'.indexOf('./server.key') + 1
    expect(await gate.hup()).toMatchObject({ reload: { result: 'failure', problems: [expect.stringMatching(new RegExp(`^tls\\.yaml:6:${col}: listeners\\[0\\]\\.tls\\.key: the key "\\./server\\.key" does not match the certificate`))] } })
    expect(await handshake(port)).toBe(`${pem(other.server.cert)} HTTP/1.1 200 OK`)

    // Mutual TLS from now on: the same port, a new server; a client without a certificate is refused.
    copyFileSync(certs.server.cert, join(dir, 'server.pem'))
    write(true)
    expect(await gate.hup()).toMatchObject({ reload: { result: 'success' } })
    expect(await handshake(port)).toMatch(/^(error|closed)/)
    expect(await handshake(port, certs.clients['ci'])).toBe(`${pem(certs.server.cert)} HTTP/1.1 200 OK`)
    process.kill(gate.pid, 'SIGTERM')
    expect(await gate.exited).toEqual({ code: 0, signal: null })
  })
})

describe('clients: entries of an existing listener, in process', () => {
  test('a connection opened before the reload: its next request is decided by the entry it now matches, under its tenant', async () => {
    const sock = join(dir, 'clients.sock')
    const file = join(dir, 'clients.yaml')
    const write = (entries: readonly string[]): void => writeFileSync(file, yaml([
      `upstream: unix://${engineSocket}`, 'listeners:', `  - listen: unix://${sock}`, '    policy: read-only', '    clients:',
      '      - match: { uid: 4242 }', '        policy: events-only', ...entries,
    ]))
    write([])
    const load = (): Config => loadConfig(['--config', file], {}, { cwd: dir }) as Config
    const lines: Array<Record<string, unknown>> = []
    const sink = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>); cb() } })
    const running = await startInProcess(load(), { logger: pino({ level: 'info' }, sink), registry: new Registry(), processMetrics: false })
    cleanups.push(() => running.close(1_000))
    const conn = await RawConnection.open(sock)
    cleanups.push(() => conn.destroy())
    const list = 'GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n'
    await conn.write(list)
    expect((await conn.waitResponses(1))[0]!.status).toBe(200)

    // This process's own primary group now gets events-only.
    write(['      - match: { gid: ' + String(process.getgid!()) + ' }', '        policy: events-only', '        name: my-group', '        tenant: reloaded'])
    expect(await running.reload(load())).toEqual({ added: [], removed: [], updated: [`unix://${sock}`], problems: [] })
    await conn.write(list)
    const [, second] = await conn.waitResponses(2)
    expect(second!.status).toBe(403)
    const audit = lines.filter((l) => l['audit']).map((l) => l['audit'] as AuditRecord).at(-1)
    expect(audit).toMatchObject({ operation: 'ContainerList', decision: 'deny', policy: 'events-only', client: { uid: process.getuid!(), entry: 'my-group', tenant: 'reloaded' } })
  })
})
