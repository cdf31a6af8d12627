// Hardening round 2, as an attacker would try it: each vector is first shown to work on the bare
// engine, then sent through dockgate, where it is refused with nothing reaching the engine, while
// a benign sibling still passes. A recording relay between dockgate and the engine
// (test/support/tap.ts) shows what the engine received.
import http from 'node:http'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest'
import { engineRequest } from '../support/engine.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { rawExchange, type RawResponse } from '../support/raw.js'
import { startTap, type Tap } from '../support/tap.js'
import { send, type WireRequest } from '../support/wire.js'
import { docker } from '../support/cli.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-hard-'

let dir: string
let tap: Tap
let operator: TestProxy
let readOnly: TestProxy
/** A loopback HTTP server standing in for "any URL": it counts the requests it gets. */
let web: http.Server
let webHits: string[] = []
let webUrl: string

function json(res: RawResponse): { message: string } {
  return JSON.parse(res.body.toString()) as { message: string }
}

async function engine(method: string, path: string, body?: unknown): Promise<{ status: number; json: () => any }> {
  const res = await engineRequest(engineSocket, method, path, body)
  return { status: res.status, json: () => JSON.parse(res.body.toString()) }
}

async function createDirect(name: string, hostConfig: Record<string, unknown>, start = true): Promise<string> {
  const res = await engine('POST', `/containers/create?name=${PREFIX}${name}`, { Image: BUSYBOX_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none', ...hostConfig } })
  expect(res.status, JSON.stringify(res.json())).toBe(201)
  const id = res.json().Id as string
  if (start) expect((await engine('POST', `/containers/${id}/start`)).status).toBe(204)
  return id
}

async function execOutput(id: string, cmd: string[]): Promise<string> {
  const created = await engine('POST', `/containers/${id}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true })
  const res = await engineRequest(engineSocket, 'POST', `/exec/${created.json().Id}/start`, { Detach: false, Tty: true })
  return res.body.toString()
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-hard-'))
  tap = await startTap(join(dir, 'tap.sock'), engineSocket)
  operator = await startProxy({ policy: 'container-operator', engineSocket: tap.socket })
  readOnly = await startProxy({ policy: 'read-only', engineSocket: tap.socket })
  web = http.createServer((req, res) => {
    webHits.push(`${req.method} ${req.url}`)
    res.end('fetched by the engine\n')
  })
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
  webUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}/payload.tar`
})

afterAll(async () => {
  await operator?.close()
  await readOnly?.close()
  await tap?.close()
  await new Promise((r) => web?.close(r))
  const list = await engine('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [PREFIX] }))}`)
  for (const c of list.json() as Array<{ Id: string }>) await engine('DELETE', `/containers/${c.Id}?force=1`)
  for (const tag of ['dg-hard-fromsrc:ascii', 'dg-hard-fromsrc:dotted-i', 'dg-hard-fromsrc:nbsp', 'dg-hard-fromsrc:params']) await engine('DELETE', `/images/${tag}?force=1`)
  rmSync(dir, { recursive: true, force: true })
})

beforeEach(() => {
  tap.clear()
  webHits = []
})

describe('form bodies behind a Content-Type dockgate does not recognise', () => {
  // Go's mime.ParseMediaType lowercases with Unicode rules and trims Unicode spaces; ParseForm
  // then reads the body's parameters ahead of the query's, even when the parameters after the
  // media type are malformed (net/http request.go parsePostForm).
  const spellings = [
    { tag: 'ascii', type: 'application/x-www-form-urlencoded', code: 'DG_REQ_FORM_BODY' },
    { tag: 'dotted-i', type: 'applİcation/x-www-form-urlencoded', code: 'DG_REQ_CONTENT_TYPE' }, // U+0130 lowercases to i
    { tag: 'nbsp', type: '\u00a0application/x-www-form-urlencoded', code: 'DG_REQ_CONTENT_TYPE' }, // U+00A0 is trimmed
    { tag: 'params', type: 'application/x-www-form-urlencoded; =x', code: 'DG_REQ_CONTENT_TYPE' }, // media type returned with an error
  ]
  const importRequest = (type: string, tag: string): WireRequest => ({
    method: 'POST',
    // Nothing in the query: everything the engine acts on comes from the body.
    target: '/v1.41/images/create',
    headers: [['Content-Type', Buffer.from(type, 'utf8').toString('latin1')]],
    body: `fromSrc=${encodeURIComponent(webUrl)}&repo=dg-hard-fromsrc&tag=${tag}`,
  })

  test.each(spellings)('$tag: on the bare engine the body is a form: the engine fetches the URL', async ({ type, tag }) => {
    // What comes back is not an image, so the import then fails; the fetch is the point.
    await send(engineSocket, importRequest(type, tag))
    expect(webHits).toEqual(['GET /payload.tar'])
  })

  test.each(spellings)('$tag: through dockgate it is refused, nothing reaches the engine, no URL is fetched', async ({ type, tag, code }) => {
    const res = await send(operator.socket, importRequest(type, tag))
    expect(res.status).toBe(code === 'DG_REQ_CONTENT_TYPE' ? 415 : 400)
    expect(json(res).message).toMatch(new RegExp(`\\[${code}\\]$`))
    expect(tap.requests()).toEqual([])
    expect(webHits).toEqual([])
  })

  test('a build whose body is a form asking for the host network and a remote context is refused the same way', async () => {
    const res = await send(operator.socket, {
      method: 'POST',
      target: '/build?t=dg-hard-build',
      headers: [['Content-Type', Buffer.from('applİcation/x-www-form-urlencoded', 'utf8').toString('latin1')]],
      body: `remote=${encodeURIComponent(webUrl)}&networkmode=host`,
    })
    // container-operator does not allow builds: the policy refuses first, as for any client.
    expect(res.status).toBe(403)
    expect(tap.requests()).toEqual([])
  })

  test.each([
    ['two Content-Type headers', [['Content-Type', 'application/json'], ['Content-Type', 'application/x-www-form-urlencoded']]],
    ['a type with a control character', [['Content-Type', 'application/json\u0001']]],
  ] as const)('%s: refused', async (_n, headers) => {
    const res = await send(operator.socket, { method: 'POST', target: `/containers/create?name=${PREFIX}ct`, headers, body: '{"Image":"busybox:test"}' })
    expect([400, 415]).toContain(res.status)
    expect(tap.requests()).toEqual([])
  })

  test.each([
    ['application/json; charset=utf-8', 201],
    ['Application/JSON', 201],
  ])('benign sibling: %s creates the container', async (type, status) => {
    const name = `${PREFIX}ct-${status}-${type.length}`
    const res = await send(operator.socket, { method: 'POST', target: `/containers/create?name=${name}`, headers: [['Content-Type', type]], body: `{"Image":"${BUSYBOX_IMAGE}","HostConfig":{"NetworkMode":"none"}}` })
    expect(res.status, res.body.toString()).toBe(status)
    expect(tap.requests()[0]?.header('content-type')).toBe('application/json')
  })

  test('benign sibling: docker run through container-operator still works', async () => {
    // create, attach, start, wait, remove: every body is JSON, or an empty text/plain one.
    const r = await docker(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'echo', 'ok'], { host: operator.host })
    expect(r.stderr).toBe('')
    expect(r.stdout.toString().trim()).toBe('ok')
  })
})

describe('existing containers are judged on what the engine applied', () => {
  test('a container with /proc unmasked except one path: on the bare engine /proc/timer_list is readable; exec, attach, start and restart through dockgate are refused', async () => {
    const id = await createDirect('unmasked', { MaskedPaths: ['/proc/asound'] })
    expect(await execOutput(id, ['sh', '-c', 'head -c 20 /proc/timer_list | wc -c'])).toMatch(/^\s*20\s*$/m)
    for (const [method, path] of [['POST', `/containers/${PREFIX}unmasked/exec`], ['POST', `/containers/${PREFIX}unmasked/restart`], ['POST', `/containers/${PREFIX}unmasked/start`]] as const) {
      const res = await send(operator.socket, { method, target: path, ...(path.endsWith('exec') ? { body: '{"Cmd":["sh"]}' } : {}) })
      expect(res.status, `${method} ${path}`).toBe(403)
      expect(json(res).message).toContain('HostConfig.MaskedPaths=["/proc/asound"]')
      expect(json(res).message).toContain('[DG_DENY_TARGET]')
    }
    const attach = await rawExchange(operator.socket, `POST /containers/${PREFIX}unmasked/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`, { responses: 1 })
    expect(attach.responses[0]?.status).toBe(403)
    expect(tap.requests().map((r) => `${r.method} ${r.target}`)).toEqual(expect.not.arrayContaining([expect.stringMatching(/exec|restart|start|attach/)]))
  })

  test('read-only paths turned off: refused too; the engine default passes', async () => {
    await createDirect('writable-proc', { ReadonlyPaths: [] })
    const res = await send(operator.socket, { method: 'POST', target: `/containers/${PREFIX}writable-proc/exec`, body: '{"Cmd":["sh"]}' })
    expect(res.status).toBe(403)
    expect(json(res).message).toContain('HostConfig.ReadonlyPaths=[]')
    await createDirect('default', {})
    const ok = await send(operator.socket, { method: 'POST', target: `/containers/${PREFIX}default/exec`, body: '{"Cmd":["true"]}' })
    expect(ok.status, ok.body.toString()).toBe(201)
  })
})

describe('forward only by the id that was checked', () => {
  test('a name is resolved and the engine is asked by full id', async () => {
    const id = await createDirect('byid', {})
    const res = await send(operator.socket, { method: 'POST', target: `/v1.41/containers/${PREFIX}byid/exec`, body: '{"Cmd":["true"]}' })
    expect(res.status).toBe(201)
    expect(tap.requests().map((r) => r.target)).toContain(`/v1.41/containers/${id}/exec`)
  })

  test.each([
    ['exec', 'POST', `/containers/${PREFIX}ghost/exec`, '{"Cmd":["sh"]}', 'No such container'],
    ['kill', 'POST', `/containers/${PREFIX}ghost/kill`, undefined, 'No such container'],
    ['exec start', 'POST', `/exec/${'f'.repeat(64)}/start`, '{}', 'No such exec instance'],
  ])('%s of something that does not exist: dockgate answers 404 itself; only the lookup reaches the engine', async (_n, method, target, body, words) => {
    const res = await send(operator.socket, { method, target, ...(body === undefined ? {} : { body }) })
    expect(res.status).toBe(404)
    expect(json(res).message).toContain(words)
    expect(json(res).message).toContain('[DG_TARGET_NOT_FOUND]')
    expect(tap.requests().every((r) => r.method === 'GET')).toBe(true)
  })
})

describe("dockgate's own container by every name", () => {
  // dockgate runs here outside a container; the proxy below is told that a container of the test's
  // is its own, by id only: the name is never given to it, so refusing by name proves that every
  // reference is resolved through the engine.
  let me: string
  let selfProxy: TestProxy
  beforeAll(async () => {
    me = await createDirect('self', {})
    // Every operation on a container this test sends, allowed: only self-protection can refuse them.
    const { compilePolicyText } = await import('../../src/policy/compile.js')
    const policy = compilePolicyText(
      'name: dg-hard-self\nextends: [container-operator]\nrules:\n  - allow: [ContainerPause, ContainerRename, ContainerUpdate, ContainerArchive, ImageCommit, NetworkConnect, NetworkDisconnect]\n',
      { file: join(dir, 'self.yaml') },
    )
    selfProxy = await startProxy({ policy, engineSocket: tap.socket, self: { ids: [me], names: [] } })
  })
  afterAll(async () => {
    await selfProxy?.close()
  })

  // A path cannot carry `/name` (an empty segment); the query and the body can (below).
  const refs = (): Array<readonly [string, string]> => [['name', `${PREFIX}self`], ['full id', me], ['id prefix', me.slice(0, 10)]]
  test.each(['kill', 'stop', 'restart', 'pause', 'rename', 'delete', 'exec', 'update', 'archive'])('%s by name, full id and id prefix is refused, nothing reaches the engine but lookups', async (op) => {
    for (const [what, ref] of refs()) {
      const enc = encodeURIComponent(ref)
      const req: WireRequest =
        op === 'delete' ? { method: 'DELETE', target: `/containers/${enc}?force=1` }
        : op === 'rename' ? { method: 'POST', target: `/containers/${enc}/rename?name=${PREFIX}renamed` }
        : op === 'exec' ? { method: 'POST', target: `/containers/${enc}/exec`, body: '{"Cmd":["sh"]}' }
        : op === 'update' ? { method: 'POST', target: `/containers/${enc}/update`, body: '{"Memory":67108864}' }
        : op === 'archive' ? { method: 'GET', target: `/containers/${enc}/archive?path=/etc` }
        : { method: 'POST', target: `/containers/${enc}/${op}` }
      const res = await send(selfProxy.socket, req)
      expect(res.status, `${op} by ${what}: ${res.body.toString()}`).toBe(403)
      expect(json(res).message).toContain('[DG_DENY_SELF]')
    }
    expect(tap.requests().every((r) => r.method === 'GET' && /\/json$/.test(r.target.split('?')[0]!))).toBe(true)
    expect((await engine('GET', `/containers/${me}/json`)).json().State.Running).toBe(true)
  })

  test.each([
    ['commit by name', (): WireRequest => ({ method: 'POST', target: `/commit?container=${PREFIX}self&repo=dg-hard-commit` })],
    ['commit by /name', (): WireRequest => ({ method: 'POST', target: `/commit?container=%2F${PREFIX}self&repo=dg-hard-commit` })],
    ['disconnecting it from its network, by /name', (): WireRequest => ({ method: 'POST', target: '/networks/none/disconnect', body: `{"Container":"/${PREFIX}self"}` })],
    ['a new container joining its network namespace, by id prefix', (): WireRequest => ({ method: 'POST', target: `/containers/create?name=${PREFIX}joiner`, body: `{"Image":"${BUSYBOX_IMAGE}","HostConfig":{"NetworkMode":"container:${me.slice(0, 8)}"}}` })],
  ])('%s is refused', async (_n, req) => {
    const res = await send(selfProxy.socket, req())
    expect(res.status, res.body.toString()).toBe(403)
    expect(json(res).message).toContain('[DG_DENY_SELF]')
    expect(tap.requests().every((r) => r.method === 'GET')).toBe(true)
  })

  test('the same operations on another container pass', async () => {
    await createDirect('other', {})
    const res = await send(selfProxy.socket, { method: 'POST', target: `/containers/${PREFIX}other/kill` })
    expect(res.status, res.body.toString()).toBe(204)
  })
})

describe('ExecStart checks the exec itself', () => {
  test("a privileged exec someone else created in an ordinary container cannot be started; the container's own execs can", async () => {
    const id = await createDirect('execs', {})
    const priv = await engine('POST', `/containers/${id}/exec`, { Cmd: ['id'], Privileged: true, AttachStdout: true })
    expect(priv.status).toBe(201)
    // The engine keeps what the exec was created with.
    expect((await engine('GET', `/exec/${priv.json().Id}/json`)).json().ProcessConfig.privileged).toBe(true)
    const res = await send(operator.socket, { method: 'POST', target: `/exec/${priv.json().Id}/start`, body: '{"Detach":false,"Tty":false}' })
    expect(res.status).toBe(403)
    expect(json(res).message).toContain(': Privileged=true needs guards.exec.privileged (guard exec.privileged; it is false in this policy)')
    expect((await engine('GET', `/exec/${priv.json().Id}/json`)).json().Pid).toBe(0)
    const plain = await engine('POST', `/containers/${id}/exec`, { Cmd: ['true'] })
    const ok = await send(operator.socket, { method: 'POST', target: `/exec/${plain.json().Id}/start`, body: '{"Detach":true,"Tty":false}' })
    expect(ok.status, ok.body.toString()).toBe(200)
  })

  test('with exec.users set, an exec created as root elsewhere cannot be started', async () => {
    const users = await startProxy({ policy: await usersPolicy(), engineSocket: tap.socket })
    try {
      const id = await createDirect('execs-root', {})
      const root = await engine('POST', `/containers/${id}/exec`, { Cmd: ['id'], User: '0' })
      const res = await send(users.socket, { method: 'POST', target: `/exec/${root.json().Id}/start`, body: '{"Detach":true}' })
      expect(res.status).toBe(403)
      expect(json(res).message).toContain('User="0"')
    } finally {
      await users.close()
    }
  })
})

async function usersPolicy(): Promise<import('../../src/policy/compile.js').CompiledPolicy> {
  const { compilePolicyText } = await import('../../src/policy/compile.js')
  return compilePolicyText('name: dg-hard-users\nextends: [container-operator]\nguards: { exec: { users: ["1000"] } }\n', { file: join(dir, 'users.yaml') })
}

describe('HTTP framing the engine would read differently', () => {
  test.each(['identity, chunked', 'gzip, chunked', 'chunked, chunked'])('Transfer-Encoding %s is refused (the engine answers 501)', async (te) => {
    const ex = await rawExchange(readOnly.socket, `POST /containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: ${te}\r\nContent-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, { responses: 1 })
    expect(ex.responses[0]?.status).toBe(400)
    expect(tap.requests()).toEqual([])
  })

  test('an HTTP/1.0 client without Host gets its answer, and the engine a Host header', async () => {
    const conn = await rawExchange(readOnly.socket, 'GET /version HTTP/1.0\r\n\r\n', { responses: 1 })
    const res = conn.responses[0]!
    expect(res.status).toBe(200)
    expect(res.header('transfer-encoding')).toBeUndefined()
    expect(res.chunked).toBe(false)
    expect(JSON.parse(res.body.toString())).toHaveProperty('ApiVersion')
    expect(tap.requests()[0]?.header('host')).toBeDefined()
  })

  test('an HTTP/1.0 event stream (Fluent Bit writes `GET /events HTTP/1.0` and an empty line) comes unchunked, one JSON event after another', async () => {
    const since = Math.floor(Date.now() / 1000) - 1
    await createDirect('event-source', {}, false)
    const until = Math.floor(Date.now() / 1000) + 1
    const ex = await rawExchange(readOnly.socket, `GET /events?since=${since}&until=${until} HTTP/1.0\r\n\r\n`, {})
    const res = ex.responses[0]!
    expect(res.status).toBe(200)
    expect(res.header('transfer-encoding')).toBeUndefined()
    expect(res.chunked).toBe(false)
    const events = res.body.toString().trim().split('\n').map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: { name?: string } } })
    expect(events.some((e) => e.Action === 'create' && e.Actor.Attributes.name === `${PREFIX}event-source`)).toBe(true)
  })
})

describe('smaller: lookups have a deadline, a client leaving mid-body is on record', () => {
  test('an engine that never answers a lookup: 504 DG_UPSTREAM_TIMEOUT within the deadline, nothing forwarded', async () => {
    // A stand-in for a hung engine: it accepts connections and reads requests, and never answers.
    const hung = join(dir, 'hung.sock')
    const seen: string[] = []
    const server = net.createServer((c) => c.on('data', (d: Buffer) => seen.push(d.toString('latin1').split('\r\n')[0]!)))
    await new Promise<void>((r) => server.listen(hung, r))
    const proxy = await startProxy({ policy: 'container-operator', engineSocket: hung, lookupTimeoutMs: 300 })
    try {
      const res = await send(proxy.socket, { method: 'POST', target: '/containers/web/exec', body: '{"Cmd":["sh"]}' })
      expect(res.status).toBe(504)
      expect(json(res).message).toMatch(/did not answer dockgate's lookup of container web within 300 ms; nothing was forwarded \[DG_UPSTREAM_TIMEOUT\]$/)
      expect(seen).toEqual(['GET /containers/web/json HTTP/1.1'])
    } finally {
      await proxy.close()
      await new Promise((r) => server.close(r))
    }
  })

  test('a client that leaves while its create body is arriving leaves an "aborted" record; nothing reaches the engine', async () => {
    const c = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(operator.socket, () => resolve(s))
    })
    c.write(`POST /containers/create?name=${PREFIX}aborted HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Image":`)
    await new Promise((r) => setTimeout(r, 200))
    c.destroy()
    const until = Date.now() + 10_000
    while (!operator.audits().some((a) => a.decision === 'aborted') && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    const rec = operator.audits().find((a) => a.decision === 'aborted')
    expect(rec).toMatchObject({ operation: 'ContainerCreate', method: 'POST', path: '/containers/create' })
    expect(tap.requests()).toEqual([])
  })
})

