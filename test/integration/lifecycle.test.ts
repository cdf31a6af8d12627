// dockgate's life around the requests: an engine that is not there yet, clients that leave,
// streams that stay quiet, shutdown with streams open, the unix listener, and the metrics.
// issue 2, "Forwarding" and "Listeners"; docs/engine-notes.md, "Streams".
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest'
import { DEFAULTS } from '../../src/config.js'
import { ListenError } from '../../src/listen.js'
import { loadPolicy } from '../../src/policy/compile.js'
import { startDockgate, type RunningDockgate, type ServerConfig } from '../../src/server.js'
import { engineRequest, type EngineResponse } from '../support/engine.js'
import { engineFacts } from '../support/engine-facts.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { RawConnection, rawExchange } from '../support/raw.js'
import { startTap, type Tap } from '../support/tap.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-life-'
const dirs: string[] = []
/** Cleanups for the test that is running (proxies, taps, raw connections), run after it. */
const cleanups: Array<() => unknown> = []

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dockgate-life-'))
  dirs.push(d)
  return d
}

afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo()
})

afterAll(async () => {
  const res = await engineRequest(engineSocket, 'GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [PREFIX] }))}`)
  for (const c of JSON.parse(res.body.toString()) as Array<{ Id: string }>) await engineRequest(engineSocket, 'DELETE', `/containers/${c.Id}?force=1`)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function proxyFor(policy: string, upstream: string): Promise<TestProxy> {
  const p = await startProxy({ policy, engineSocket: upstream })
  cleanups.push(() => p.close())
  return p
}

async function tapAt(path: string): Promise<Tap> {
  const t = await startTap(path, engineSocket)
  cleanups.push(() => t.close())
  return t
}

async function raw(socket: string): Promise<RawConnection> {
  const c = await RawConnection.open(socket)
  cleanups.push(() => c.destroy())
  return c
}

function json(res: EngineResponse): any {
  return JSON.parse(res.body.toString())
}

/** The value of one sample line of the exposition text, e.g. `dockgate_open_streams{kind="stream"}`. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const text = await registry.metrics()
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

async function until(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))])
}

const EVENTS = `GET /v1.41/events?filters=${encodeURIComponent(JSON.stringify({ type: ['container'] }))} HTTP/1.1\r\nHost: docker\r\n\r\n`

/** Opens GET /events on `socket` and waits for the response head. */
async function openEvents(socket: string, request = EVENTS): Promise<RawConnection> {
  const c = await raw(socket)
  await c.write(request)
  await c.waitFor((x) => x.responses().responses.some((r) => r.status !== 100), 'the head of the events response')
  const res = c.responses().responses.find((r) => r.status !== 100)
  expect(res!.status, res!.body.toString()).toBe(200)
  expect(res!.chunked).toBe(true)
  return c
}

async function createContainer(name: string, config: Record<string, unknown>): Promise<string> {
  const res = await engineRequest(engineSocket, 'POST', `/containers/create?name=${PREFIX}${name}`, { Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none' }, ...config })
  expect(res.status).toBe(201)
  return json(res).Id as string
}

describe('engine unreachable', () => {
  test('502 DG_UPSTREAM_UNREACHABLE while nothing listens, then recovery without a restart', async () => {
    const upstream = join(tempDir(), 'engine.sock')
    const proxy = await proxyFor('read-only', upstream)

    const down = await engineRequest(proxy.socket, 'GET', '/version')
    expect(down.status).toBe(502)
    expect(down.headers['x-dockgate-error']).toBe('DG_UPSTREAM_UNREACHABLE')
    expect(json(down)).toEqual({ message: `dockgate: cannot reach the Docker engine at unix://${upstream} (ENOENT, no such socket); check that the engine runs there and dockgate's --upstream [DG_UPSTREAM_UNREACHABLE]` })

    const tap = await tapAt(upstream)
    const up = await engineRequest(proxy.socket, 'GET', '/version')
    expect(up.status).toBe(200)
    expect(json(up).ApiVersion).toBe(engineFacts().apiVersion)
    expect(tap.requests().map((r) => r.line)).toEqual(['GET /version HTTP/1.1'])

    // Gone again, and back again: each time the next request tells the truth.
    await tap.close()
    const again = await engineRequest(proxy.socket, 'GET', '/version')
    expect(again.status).toBe(502)
    expect(again.headers['x-dockgate-error']).toBe('DG_UPSTREAM_UNREACHABLE')
    await tapAt(upstream)
    expect((await engineRequest(proxy.socket, 'GET', '/_ping')).body.toString()).toBe('OK')

    expect(await sample(proxy.registry, 'dockgate_upstream_errors_total{code="DG_UPSTREAM_UNREACHABLE"}')).toBe(2)
    const errors = proxy.audits().filter((a) => a.decision === 'error')
    expect(errors.map((a) => [a.operation, a.code, a.status])).toEqual([
      ['SystemVersion', 'DG_UPSTREAM_UNREACHABLE', 502],
      ['SystemVersion', 'DG_UPSTREAM_UNREACHABLE', 502],
    ])
  })

  test('a hijack request (its own connection to the engine) gets 502 too', async () => {
    const upstream = join(tempDir(), 'engine.sock')
    const proxy = await proxyFor('full', upstream)
    const ex = await rawExchange(proxy.socket, 'POST /containers/x/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n', {})
    expect(ex.responses).toHaveLength(1)
    expect(ex.responses[0]!.status).toBe(502)
    expect(ex.responses[0]!.header('x-dockgate-error')).toBe('DG_UPSTREAM_UNREACHABLE')
    expect(ex.closed).toBe(true)
  })
})

describe('streams', () => {
  test('a client that disconnects from GET /events closes the engine connection', async () => {
    const tap = await tapAt(join(tempDir(), 'tap.sock'))
    const proxy = await proxyFor('read-only', tap.socket)
    const c = await openEvents(proxy.socket)
    const conn = await tap.waitFor(() => tap.connections().find((x) => tap.requests().some((r) => r.connection === x.index && r.method === 'GET' && r.target.startsWith('/v1.41/events'))), 'the events request at the engine')
    expect(conn.isClosed).toBe(false)
    expect(await sample(proxy.registry, `dockgate_open_streams{listener="${proxy.host}",kind="stream"}`)).toBe(1)

    c.destroy()
    await within(conn.closed, 10_000, 'the upstream connection to close')
    await until(async () => (await sample(proxy.registry, `dockgate_open_streams{listener="${proxy.host}",kind="stream"}`)) === 0, 'the open-streams gauge to go back to 0')
  })

  test('with Expect: 100-continue too (http-proxy used to skip its abort hook for such requests)', async () => {
    const tap = await tapAt(join(tempDir(), 'tap.sock'))
    const proxy = await proxyFor('read-only', tap.socket)
    const c = await openEvents(proxy.socket, EVENTS.replace('\r\n\r\n', '\r\nExpect: 100-continue\r\n\r\n'))
    const conn = await tap.waitFor(() => tap.connections().find((x) => tap.requests().some((r) => r.connection === x.index && r.method === 'GET' && r.target.startsWith('/v1.41/events'))), 'the events request at the engine')
    c.destroy()
    await within(conn.closed, 10_000, 'the upstream connection to close')
    await until(async () => (await sample(proxy.registry, `dockgate_open_streams{listener="${proxy.host}",kind="stream"}`)) === 0, 'the open-streams gauge to go back to 0')
  })

  test('a quiet stream is not timed out: after 8 s without a byte it still delivers the next event', async () => {
    const tap = await tapAt(join(tempDir(), 'tap.sock'))
    const proxy = await proxyFor('read-only', tap.socket)
    const c = await openEvents(proxy.socket)
    const before = c.data.length
    await new Promise((r) => setTimeout(r, 8_000))
    expect(c.ended || c.closed).toBe(false)
    expect(c.error).toBeUndefined()
    expect(c.data.length).toBe(before)
    expect(tap.connections().some((x) => x.isClosed)).toBe(false)

    const id = await createContainer('quiet', { Cmd: ['true'] })
    expect((await engineRequest(engineSocket, 'POST', `/containers/${id}/start`)).status).toBe(204)
    await c.waitFor((x) => x.responses().responses[0]!.body.toString().includes(`"id":"${id}"`), 'the create event for the new container')
    const events = c.responses().responses[0]!.body.toString().trim().split('\n').map((l) => JSON.parse(l) as { status: string; id: string })
    expect(events[0]).toMatchObject({ status: 'create', id })
  })
})

describe('graceful close', () => {
  test('ends an open events stream and a hijacked attach cleanly, and removes the socket file', async () => {
    const proxy = await startProxy({ policy: 'full', engineSocket })
    cleanups.push(() => rmSync(dirname(proxy.socket), { recursive: true, force: true }))
    const events = await openEvents(proxy.socket)

    const id = await createContainer('graceful', { Cmd: ['cat'], OpenStdin: true, AttachStdin: true, AttachStdout: true })
    expect((await engineRequest(engineSocket, 'POST', `/containers/${id}/start`)).status).toBe(204)
    const attach = await raw(proxy.socket)
    await attach.write(`POST /v1.41/containers/${id}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`)
    await attach.waitFor((x) => x.responses().upgraded, 'the 101')
    await attach.write('ping\n')
    await attach.waitFor((x) => x.responses().rest.includes('ping\n'), 'the echo')
    // Clients close their side when the server closes its own, as the docker CLI does.
    attach.socket.once('end', () => attach.end())
    events.socket.once('end', () => events.end())

    await proxy.running.close(5_000)

    await events.waitClosed()
    expect(events.error).toBeUndefined() // a FIN, not a reset
    const [res] = events.responses().responses
    expect(res!.complete).toBe(true) // the chunked body was terminated properly
    await attach.waitClosed()
    expect(attach.error).toBeUndefined()
    expect(attach.ended).toBe(true)
    expect(existsSync(proxy.socket)).toBe(false)
    // The container itself lives on: only the connection to it ended.
    const inspect = await engineRequest(engineSocket, 'GET', `/containers/${id}/json`)
    expect(json(inspect).State.Running).toBe(true)
  })
})

describe('unix listener', () => {
  const logger = pino({ level: 'silent' })
  const policy = loadPolicy('read-only')

  function config(path: string, mode?: number): ServerConfig {
    return {
      upstream: { kind: 'unix', path: engineSocket },
      limits: { bodyBytes: DEFAULTS.bodyBytes, bodyTimeoutMs: DEFAULTS.bodyTimeoutMs, bodyBudgetBytes: DEFAULTS.bodyBudgetBytes, lookupTimeoutMs: DEFAULTS.lookupTimeoutMs },
      listeners: [{ address: { kind: 'unix', path }, policy, mode: mode ?? DEFAULTS.socketMode }],
    }
  }

  async function start(path: string, mode?: number): Promise<RunningDockgate> {
    const running = await startDockgate(config(path, mode), { logger, registry: new Registry(), processMetrics: false })
    cleanups.push(() => running.close(1_000))
    return running
  }

  test.each([
    ['the default mode, 0660', undefined, 0o660],
    ['a configured mode, 0600', 0o600, 0o600],
  ])('the socket is created with %s, serves, and is removed on close', async (_name, mode, expected) => {
    const path = join(tempDir(), 'dockgate.sock')
    const running = await start(path, mode)
    const st = statSync(path)
    expect(st.isSocket()).toBe(true)
    expect(st.mode & 0o777).toBe(expected)
    expect((await engineRequest(path, 'GET', '/_ping')).body.toString()).toBe('OK')
    await running.close(1_000)
    expect(existsSync(path)).toBe(false)
  })

  test('a stale socket file left by a dead process is replaced', async () => {
    const path = join(tempDir(), 'dockgate.sock')
    const child = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`])
    expect(child.signal).toBe('SIGKILL')
    expect(lstatSync(path).isSocket()).toBe(true)
    await expect(engineRequest(path, 'GET', '/_ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' })

    await start(path)
    expect((await engineRequest(path, 'GET', '/_ping')).body.toString()).toBe('OK')
  })

  test('a socket another process is serving on is an error, and that process keeps it', async () => {
    const path = join(tempDir(), 'dockgate.sock')
    const other = net.createServer((s) => s.on('error', () => {}).end('mine\n')) // dockgate's probe hangs up at once
    await new Promise<void>((r) => other.listen(path, r))
    cleanups.push(() => new Promise((r) => other.close(r)))

    const err = await startDockgate(config(path), { logger, registry: new Registry(), processMetrics: false }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ListenError)
    expect((err as Error).message).toBe(`${path} is in use by another process`)
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(path)
      let got = ''
      s.on('data', (d) => (got += d.toString())).on('end', () => resolve(got)).on('error', reject)
    })
    expect(reply).toBe('mine\n')
  })

  test.each([
    ['a regular file', (path: string) => writeFileSync(path, 'precious data\n')],
    ['a symlink to a regular file', (path: string) => {
      writeFileSync(path + '.target', 'precious data\n')
      symlinkSync(path + '.target', path)
    }],
  ])('%s at the path is never deleted: ListenError instead', async (_name, make) => {
    const path = join(tempDir(), 'dockgate.sock')
    make(path)
    const err = await startDockgate(config(path), { logger, registry: new Registry(), processMetrics: false }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ListenError)
    expect((err as Error).message).toBe(`${path} exists and is not a socket; dockgate will not delete it`)
    expect(readFileSync(path, 'utf8')).toBe('precious data\n')
  })
})

describe('metrics', () => {
  test('allowed and refused requests are counted by decision, operation, policy and code', async () => {
    const proxy = await proxyFor('read-only', engineSocket)
    expect((await engineRequest(proxy.socket, 'GET', '/containers/json')).status).toBe(200)
    expect((await engineRequest(proxy.socket, 'GET', '/v1.41/containers/json?all=1')).status).toBe(200)
    expect((await engineRequest(proxy.socket, 'POST', '/containers/create', { Image: BUSYBOX_IMAGE })).status).toBe(403)
    expect((await engineRequest(proxy.socket, 'GET', '/containers/x/export')).status).toBe(403)
    expect((await engineRequest(proxy.socket, 'GET', '/containers%2Fjson')).status).toBe(400)
    const malformed = await rawExchange(proxy.socket, 'POST /containers/create HTTP/1.1\r\nHost: docker\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', {})
    expect(malformed.responses[0]!.status).toBe(400)

    const text = await proxy.registry.metrics()
    const requests = text.split('\n').filter((l) => l.startsWith('dockgate_requests_total{')).sort()
    const L = `listener="${proxy.host}",policy="read-only"`
    expect(requests).toEqual([
      `dockgate_requests_total{${L},operation="ContainerCreate",decision="deny",code="DG_DENY_OPERATION"} 1`,
      `dockgate_requests_total{${L},operation="ContainerExport",decision="deny",code="DG_DENY_OPERATION"} 1`,
      `dockgate_requests_total{${L},operation="ContainerList",decision="allow",code="none"} 2`,
      `dockgate_requests_total{${L},operation="unknown",decision="deny",code="DG_REQ_AMBIGUOUS_PATH"} 1`,
      `dockgate_requests_total{${L},operation="unknown",decision="deny",code="DG_REQ_MALFORMED_HTTP"} 1`,
    ])
    expect(text).toContain(`dockgate_request_duration_seconds_count{listener="${proxy.host}",operation="ContainerList",decision="allow"} 2`)

    // The audit trail says the same, one record per request.
    expect(proxy.audits().map((a) => [a.decision, a.operation, a.code ?? ''])).toEqual([
      ['allow', 'ContainerList', ''],
      ['allow', 'ContainerList', ''],
      ['deny', 'ContainerCreate', 'DG_DENY_OPERATION'],
      ['deny', 'ContainerExport', 'DG_DENY_OPERATION'],
      ['deny', 'unknown', 'DG_REQ_AMBIGUOUS_PATH'],
      ['deny', 'unknown', 'DG_REQ_MALFORMED_HTTP'],
    ])
  })
})
