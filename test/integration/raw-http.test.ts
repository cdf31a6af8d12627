// Attacker-style requests, byte for byte, through dockgate to the real private engine, with a tap
// between the two (test/support/tap.ts) that records exactly what the engine received.
// Threats: request smuggling and framing tricks (RFC 9112 §6.3, §11.2), upgrade abuse, and paths the
// engine reads differently; facts in docs/engine-notes.md, "Routing", "Framing" and "Hijacked
// connections".
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest'
import { engineRequest } from '../support/engine.js'
import { engineFacts } from '../support/engine-facts.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { RawConnection, rawExchange, type Exchange, type RawResponse } from '../support/raw.js'
import { startTap, type Tap, type TapRequest } from '../support/tap.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-raw-'
/** A tag with a registry host, a port and a path, made locally from BUSYBOX_IMAGE. */
const TAGGED = 'localhost:5000/dg/busybox:raw'

let dir: string
let tap: Tap
let full: TestProxy
let readOnly: TestProxy
let operator: TestProxy
let imageId: string
/** Long-running container for exec and archive/export requests. */
let sleeper: string

/** Requests that would make the engine reach outside this machine if dockgate let them through. */
function wouldLeaveTheMachine(req: TapRequest): boolean {
  return /[?&]fromImage=/.test(req.target) || /[?&]remote=/.test(req.target) || /[?&]fromSrc=[a-z]+%3A/i.test(req.target)
}

async function engine(method: string, path: string, body?: unknown): Promise<{ status: number; json: () => any }> {
  const res = await engineRequest(engineSocket, method, path, body)
  return { status: res.status, json: () => JSON.parse(res.body.toString()) }
}

async function createContainer(name: string, config: Record<string, unknown>): Promise<string> {
  const res = await engine('POST', `/containers/create?name=${PREFIX}${name}`, { Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none' }, ...config })
  expect(res.status).toBe(201)
  return res.json().Id as string
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-raw-'))
  tap = await startTap(join(dir, 'tap.sock'), engineSocket, { block: wouldLeaveTheMachine })
  full = await startProxy({ policy: 'full', engineSocket: tap.socket })
  readOnly = await startProxy({ policy: 'read-only', engineSocket: tap.socket })
  operator = await startProxy({ policy: 'container-operator', engineSocket: tap.socket })
  const img = await engine('GET', `/images/${BUSYBOX_IMAGE}/json`)
  imageId = img.json().Id as string
  const [repo, tag] = [TAGGED.slice(0, TAGGED.lastIndexOf(':')), TAGGED.slice(TAGGED.lastIndexOf(':') + 1)]
  expect((await engine('POST', `/images/${BUSYBOX_IMAGE}/tag?repo=${encodeURIComponent(repo)}&tag=${tag}`)).status).toBe(201)
  sleeper = await createContainer('sleeper', { Cmd: ['sleep', '3600'] })
  expect((await engine('POST', `/containers/${sleeper}/start`)).status).toBe(204)
})

afterAll(async () => {
  const list = await engine('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [PREFIX] }))}`)
  for (const c of list.json() as Array<{ Id: string }>) await engine('DELETE', `/containers/${c.Id}?force=1`)
  await engine('DELETE', `/images/${TAGGED}`)
  await full?.close()
  await readOnly?.close()
  await operator?.close()
  await tap?.close()
  rmSync(dir, { recursive: true, force: true })
})

beforeEach(() => tap.clear())

/** A request written the way a client would put it on the wire. */
function http(requestLine: string, headers: Record<string, string> = {}, body = ''): string {
  let out = `${requestLine} HTTP/1.1\r\nHost: docker\r\n`
  for (const [k, v] of Object.entries(headers)) out += `${k}: ${v}\r\n`
  return out + '\r\n' + body
}

/** One refusal as the client sees it: status, the code header and the JSON message naming it. */
function expectRefusal(res: RawResponse | undefined, status: number, code: string): string {
  expect(res, 'a response').toBeDefined()
  expect(res!.status).toBe(status)
  expect(res!.header('content-type')).toBe('application/json')
  expect(res!.header('x-dockgate-error')).toBe(code)
  const { message } = res!.json() as { message: string }
  expect(message).toMatch(new RegExp(`^dockgate: .+ \\[${code}\\](; to allow it .+)?$`))
  return message
}

/**
 * The engine received no byte. Refusals happen before anything is sent upstream, so there is
 * nothing to wait for; the pause only gives a (buggy) forward the chance to show up in the tap.
 */
async function expectEngineGotNothing(): Promise<void> {
  await new Promise((r) => setTimeout(r, 150))
  expect(tap.requests().map((r) => r.line)).toEqual([])
  expect(tap.bytesToEngine()).toBe(0)
}

function lines(): string[] {
  return tap.requests().map((r) => r.line)
}

describe('canonical paths: what is accepted reaches the engine in canonical form', () => {
  test.each([
    ['percent-encoded letters are decoded', 'GET /v1.41/%63ontainers/json', 'GET /v1.41/containers/json'],
    ['empty query pairs are dropped, like Go', 'GET /containers/json?all=1&&', 'GET /containers/json?all=1'],
    ['"+" in a query is a space; "%2B" stays a plus', 'GET /v1.41/containers/json?limit=1&x=a+b%2Bc', 'GET /v1.41/containers/json?limit=1&x=a%20b%2Bc'],
    ['an image name with a tag', 'GET /images/busybox:test/json', 'GET /images/busybox:test/json'],
    ['an image name with registry, port, path and tag', `GET /v1.41/images/${TAGGED}/json`, `GET /v1.41/images/${TAGGED}/json`],
  ])('%s', async (_name, sent, received) => {
    const ex = await rawExchange(full.socket, http(sent), { responses: 1 })
    expect(ex.responses[0]!.status).toBe(200)
    expect(lines()).toEqual([`${received} HTTP/1.1`])
  })

  test('image references by id and by digest pass through unchanged, and get what the engine gives directly', async () => {
    for (const ref of [imageId, `busybox@${imageId}`, `localhost:5000/dg/busybox@${imageId}`]) {
      tap.clear()
      const direct = await engine('GET', `/images/${ref}/json`)
      const ex = await rawExchange(full.socket, http(`GET /images/${ref}/json`), { responses: 1 })
      expect(ex.responses[0]!.status).toBe(direct.status)
      expect(lines()).toEqual([`GET /images/${ref}/json HTTP/1.1`])
    }
    expect((await engine('GET', `/images/${imageId}/json`)).status).toBe(200)
  })
})

describe('ambiguous requests are refused with 400, and the engine receives nothing', () => {
  test.each([
    ['encoded slash', 'GET /v1.41/containers%2Fjson', 'DG_REQ_AMBIGUOUS_PATH'],
    ['double slash', 'GET //containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['dot-dot segment', 'GET /v1.41/../containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded dot-dot segment', 'GET /v1.41/%2e%2e/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['backslash', 'GET /containers\\json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded backslash', 'GET /containers%5cjson', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded NUL', 'GET /containers/json%00', 'DG_REQ_AMBIGUOUS_PATH'],
    ['three-part version', 'GET /v1.4.1/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['major-only version', 'GET /v1/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['double version prefix', 'GET /v1.41/v1.41/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['malformed escape in the path', 'GET /containers/%zz/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['truncated escape in the path', 'GET /containers/json%2', 'DG_REQ_AMBIGUOUS_PATH'],
    ['malformed escape in the query', 'GET /containers/json?all=%zz', 'DG_REQ_AMBIGUOUS_PATH'],
    ['";" in the query', 'GET /containers/json?all=1;filters=x', 'DG_REQ_AMBIGUOUS_PATH'],
    ['absolute-form target', 'GET http://x/containers/json', 'DG_REQ_BAD_TARGET'],
    ['fragment', 'GET /containers/json#x', 'DG_REQ_BAD_TARGET'],
    ['OPTIONS', 'OPTIONS /containers/json', 'DG_REQ_BAD_METHOD'],
  ])('%s: %s', async (_name, requestLine, code) => {
    const ex = await rawExchange(full.socket, http(requestLine), { responses: 1 })
    expectRefusal(ex.responses[0], 400, code)
    await expectEngineGotNothing()
  })

  test('a path that is no Engine API endpoint is refused with 403', async () => {
    const ex = await rawExchange(full.socket, http('GET /debug/pprof/heap'), { responses: 1 })
    expect(expectRefusal(ex.responses[0], 403, 'DG_REQ_UNKNOWN_ENDPOINT')).toContain('GET /debug/pprof/heap')
    await expectEngineGotNothing()
  })
})

describe('read-only: reading container files is refused, however it is spelled', () => {
  test.each([
    ['archive', (id: string) => `GET /containers/${id}/archive?path=/etc`, 'ContainerArchive'],
    ['archive, percent-encoded', (id: string) => `GET /v1.41/containers/${id}/%61rchive?path=/etc`, 'ContainerArchive'],
    ['export', (id: string) => `GET /containers/${id}/export`, 'ContainerExport'],
  ])('%s', async (_name, line, operation) => {
    const ex = await rawExchange(readOnly.socket, http(line(sleeper)), { responses: 1 })
    const message = expectRefusal(ex.responses[0], 403, 'DG_DENY_OPERATION')
    const presets = operation === 'ContainerArchive' ? 'presets with it: ci' : 'no preset has it'
    const template = operation === 'ContainerArchive' ? '/containers/{id}/archive' : '/containers/{id}/export'
    expect(message).toBe(`dockgate: GET ${template} (${operation}) is not allowed by policy "read-only" [DG_DENY_OPERATION]; ` +
      `to allow it add "${operation}" to an allow: list in a policy that extends read-only (${presets})`)
    await expectEngineGotNothing()
  })
})

describe('upgrade headers do not open a side door', () => {
  const createBody = JSON.stringify({ Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none' } })
  const upgradeCreate = http('POST /containers/create', { Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Type': 'application/json', 'Content-Length': String(createBody.length) }, createBody)

  test('read-only: POST /containers/create with Upgrade: tcp goes through the same policy (403)', async () => {
    const ex = await rawExchange(readOnly.socket, upgradeCreate, {})
    expect(expectRefusal(ex.responses[0], 403, 'DG_DENY_OPERATION')).toBe('dockgate: POST /containers/create (ContainerCreate) is not allowed by policy "read-only" [DG_DENY_OPERATION]; to allow it add "ContainerCreate" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, dozzle-actions, …)')
    expect(ex.closed).toBe(true)
    await expectEngineGotNothing()
  })

  test('full: create is not a hijack endpoint, so Upgrade headers there are refused (400)', async () => {
    const ex = await rawExchange(full.socket, upgradeCreate, {})
    expectRefusal(ex.responses[0], 400, 'DG_REQ_BAD_UPGRADE')
    expect(ex.closed).toBe(true)
    await expectEngineGotNothing()
  })

  test('read-only: an allowed operation with Upgrade headers is refused too (400)', async () => {
    const ex = await rawExchange(readOnly.socket, http('GET /containers/json', { Connection: 'Upgrade', Upgrade: 'tcp' }), {})
    expectRefusal(ex.responses[0], 400, 'DG_REQ_BAD_UPGRADE')
    await expectEngineGotNothing()
  })
})

describe('framing: smuggling and desync attempts', () => {
  const smuggled = http('GET /v1.41/containers/json?smuggled=1')

  const create = `POST /containers/create?name=${PREFIX}smuggle`
  const createJson = JSON.stringify({ Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none' } })
  const chunk = (data: string): string => `${data.length.toString(16)}\r\n${data}\r\n`

  // Broken in the head: node:http refuses them before any handler runs.
  test.each([
    ['Content-Length and Transfer-Encoding together', http(create, { 'Content-Length': '4', 'Transfer-Encoding': 'chunked' }, `0\r\n\r\n${smuggled}`)],
    ['two different Content-Length headers', http(create, { 'Content-Length': '0', 'content-length': String(smuggled.length) }, smuggled)],
    ['two equal Content-Length headers', http(create, { 'Content-Length': String(smuggled.length), 'content-length': String(smuggled.length) }, smuggled)],
    ['Transfer-Encoding: chunked, identity', http(create, { 'Transfer-Encoding': 'chunked, identity' }, `0\r\n\r\n${smuggled}`)],
    ['a signed Content-Length', http(create, { 'Content-Length': '+2' }, `{}${smuggled}`)],
    ['a space before the colon', `${create} HTTP/1.1\r\nHost: docker\r\nContent-Length : 2\r\n\r\n{}${smuggled}`],
    ['an obs-fold header continuation', `GET /containers/json HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n`],
    ['a NUL in a header value', 'GET /containers/json HTTP/1.1\r\nHost: docker\r\nX-A: a\x00b\r\n\r\n'],
    ['bare LF line ends', 'GET /containers/json HTTP/1.1\nHost: docker\n\n'],
    ['a lower-case method', 'get /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n'],
    ['a tab in the request target', 'GET /containers/json\t HTTP/1.1\r\nHost: docker\r\n\r\n'],
  ])('%s: 400, nothing reaches the engine', async (_name, bytes) => {
    const ex = await rawExchange(full.socket, bytes, {})
    expect(ex.responses).toHaveLength(1)
    expect(expectRefusal(ex.responses[0], 400, 'DG_REQ_MALFORMED_HTTP')).toContain('malformed HTTP request')
    expect(ex.closed).toBe(true)
    await expectEngineGotNothing()
  })

  // Broken in the body, after the head was judged.
  const badBodies: Array<[string, Record<string, string>, string[]]> = [
    ['a bad chunk size', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, [`zz\r\n{}\r\n0\r\n\r\n${smuggled}`]],
    ['a bad chunk size in a later packet', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, [chunk(createJson), `zz\r\n\r\n${smuggled}`]],
    ['Content-Length in the chunked trailers', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, [`${chunk(createJson)}0\r\nContent-Length: 5\r\n\r\n`]],
  ]

  test.each(badBodies)('%s, on a guarded operation: the body is read first, so nothing reaches the engine', async (_name, headers, body) => {
    const name = `${PREFIX}bad-body-guarded`
    const ex = await rawExchange(operator.socket, [http(`POST /containers/create?name=${name}`, headers), ...body], { gapMs: 50 })
    expect(ex.responses).toHaveLength(1)
    expectRefusal(ex.responses[0], 400, 'DG_REQ_MALFORMED_HTTP')
    expect(ex.closed).toBe(true)
    await expectEngineGotNothing()
    expect((await engine('GET', `/containers/${name}/json`)).status).toBe(404)
  })

  test.each(badBodies)('%s, unguarded under full: 400, and the engine never receives a complete request', async (_name, headers, body) => {
    // Under `full` a body is streamed as it arrives, so the engine may have seen the head and part
    // of the body (the policy allowed the operation whatever its body), but never its end.
    const ex = await rawExchange(full.socket, [http(`POST /containers/create?name=${PREFIX}bad-body-full`, headers), ...body], { gapMs: 50 })
    expect(ex.responses).toHaveLength(1)
    expectRefusal(ex.responses[0], 400, 'DG_REQ_MALFORMED_HTTP')
    await new Promise((r) => setTimeout(r, 150))
    expect(tap.requests().filter((r) => r.complete)).toEqual([])
    expect(tap.requests().every((r) => r.line.startsWith(`POST /containers/create?name=${PREFIX}bad-body-full `))).toBe(true)
  })

  test('an HTTP/1.1 request without Host gets a JSON 400 (the engine refuses it too)', async () => {
    const ex = await rawExchange(full.socket, 'GET /containers/json HTTP/1.1\r\n\r\n', { responses: 1 })
    expect(expectRefusal(ex.responses[0], 400, 'DG_REQ_MALFORMED_HTTP')).toContain('without a Host header')
    await expectEngineGotNothing()
  })

  test('a refused request, then an allowed one on the same connection: each is judged and answered on its own', async () => {
    const ex = await rawExchange(readOnly.socket, [http('GET /v1.41/containers%2Fjson'), http('POST /containers/create'), http('GET /v1.41/containers/json?all=1')].join(''), { responses: 3 })
    expectRefusal(ex.responses[0], 400, 'DG_REQ_AMBIGUOUS_PATH')
    expectRefusal(ex.responses[1], 403, 'DG_DENY_OPERATION')
    expect(ex.responses[2]!.status).toBe(200)
    expect(Array.isArray(ex.responses[2]!.json())).toBe(true)
    expect(lines()).toEqual(['GET /v1.41/containers/json?all=1 HTTP/1.1'])
  })

  test.each([
    ['Content-Length', (b: string) => ({ headers: { 'Content-Length': String(b.length) }, body: b })],
    ['chunked', (b: string) => ({ headers: { 'Transfer-Encoding': 'chunked' }, body: `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n` })],
  ])('a refused request whose %s body is a request: the smuggled request never reaches the engine', async (_name, frame) => {
    const { headers, body } = frame(smuggled)
    // The refused body is read to the void inside its framing (so a client still uploading sees
    // the answer, not a broken pipe); the request inside it is never parsed as one.
    const ex = await rawExchange(readOnly.socket, http(`POST /containers/${sleeper}/kill`, headers, body), { responses: 1 })
    expect(ex.responses).toHaveLength(1)
    expectRefusal(ex.responses[0], 403, 'DG_DENY_OPERATION')
    await expectEngineGotNothing()
  })

  test('a refused request whose chunked body is also malformed gets exactly one answer', async () => {
    const ex = await rawExchange(readOnly.socket, http(`POST /containers/${sleeper}/kill`, { 'Transfer-Encoding': 'chunked' }, `zz\r\n${smuggled}`), {})
    expect(ex.responses.map((r) => r.status)).toEqual([403])
    expectRefusal(ex.responses[0], 403, 'DG_DENY_OPERATION')
    expect(ex.rest.length).toBe(0)
    expect(ex.closed).toBe(true)
    await expectEngineGotNothing()
  })

  test('a body on a GET is forwarded inside its framing, never as a second request', async () => {
    const ex = await rawExchange(full.socket, http('GET /containers/json', { 'Content-Length': String(smuggled.length) }, smuggled), { responses: 1 })
    expect(ex.responses[0]!.status).toBe(200)
    const got = tap.requests()
    expect(got.map((r) => r.line)).toEqual(['GET /containers/json HTTP/1.1'])
    expect(got[0]!.body.toString('latin1')).toBe(smuggled)
    expect(tap.connections().every((c) => c.garbage.length === 0)).toBe(true)
  })

  test.each([
    ['application/x-www-form-urlencoded'],
    ['Application/X-WWW-Form-URLEncoded; charset=utf-8'],
  ])('a form-encoded body (%s) is refused: the engine would read fromSrc from it', async (contentType) => {
    const body = 'fromSrc=http%3A%2F%2F127.0.0.1%3A1%2Fx.tar'
    const ex = await rawExchange(full.socket, http('POST /images/create?fromImage=x&tag=latest', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body), { responses: 1 })
    expect(expectRefusal(ex.responses[0], 400, 'DG_REQ_FORM_BODY')).toContain('ImageCreate')
    await expectEngineGotNothing()
    expect(tap.blocked()).toEqual([])
  })
})

/** Docker's stream framing for non-TTY attach/exec: [stream, 0, 0, 0, size (BE32)] + payload. */
function demux(bytes: Buffer): { stdout: string; stderr: string } {
  let stdout = ''
  let stderr = ''
  let at = 0
  while (at + 8 <= bytes.length) {
    const size = bytes.readUInt32BE(at + 4)
    if (at + 8 + size > bytes.length) break
    const payload = bytes.subarray(at + 8, at + 8 + size).toString('utf8')
    if (bytes[at] === 1) stdout += payload
    else if (bytes[at] === 2) stderr += payload
    at += 8 + size
  }
  return { stdout, stderr }
}

const upgrade = { Connection: 'Upgrade', Upgrade: 'tcp' }

describe('hijacked connections (attach, exec start)', () => {
  test('attach to a running cat: 101, bytes come back, and ending stdin ends cat and the connection', async () => {
    const id = await createContainer('cat', { Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true })
    expect((await engine('POST', `/containers/${id}/start`)).status).toBe(204)
    const c = await RawConnection.open(full.socket)
    try {
      await c.write(http(`POST /v1.41/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`, { ...upgrade, 'Content-Length': '0' }))
      await c.waitFor((x) => x.responses().upgraded, 'the 101')
      const [res] = c.responses().responses
      expect(res!.status).toBe(101)
      expect(res!.header('upgrade')).toBe('tcp')
      await c.write('hello through dockgate\n')
      await c.waitFor((x) => demux(x.responses().rest).stdout === 'hello through dockgate\n', 'the echo')
      c.end()
      await c.waitClosed()
      expect(c.error).toBeUndefined()
    } finally {
      c.destroy()
    }
    const waited = await engine('POST', `/containers/${id}/wait`)
    expect(waited.json().StatusCode).toBe(0)
    const [req] = tap.requests()
    expect(req!.line).toBe(`POST /v1.41/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1`)
    expect(req!.tunnel.toString()).toBe('hello through dockgate\n')
    const [conn] = tap.connections()
    expect(conn!.clientEnded).toBe(true)
  })

  test('exec start with a JSON body split across packets', async () => {
    const created = await engine('POST', `/containers/${sleeper}/exec`, { AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['sh', '-c', 'cat; echo done >&2'] })
    expect(created.status).toBe(201)
    const execId = created.json().Id as string
    const body = '{"Detach":false,"Tty":false}'
    const c = await RawConnection.open(full.socket)
    try {
      await c.write(http(`POST /v1.41/exec/${execId}/start`, { ...upgrade, 'Content-Type': 'application/json', 'Content-Length': String(body.length) }, body.slice(0, 11)))
      await new Promise((r) => setTimeout(r, 100))
      await c.write(body.slice(11))
      await c.waitFor((x) => x.responses().upgraded, 'the 101')
      expect(c.responses().responses[0]!.status).toBe(101)
      await c.write('line one\n')
      await new Promise((r) => setTimeout(r, 50))
      await c.write('line two\n')
      c.end()
      await c.waitClosed()
      expect(demux(c.responses().rest)).toEqual({ stdout: 'line one\nline two\n', stderr: 'done\n' })
    } finally {
      c.destroy()
    }
    expect((await engine('GET', `/exec/${execId}/json`)).json()).toMatchObject({ Running: false, ExitCode: 0 })
    const [req] = tap.requests()
    expect(req!.body.toString()).toBe(body)
    expect(req!.header('content-length')).toBe(String(body.length))
    expect(req!.tunnel.toString()).toBe('line one\nline two\n')
  })

  test('upgrade to a missing container: the engine\'s 404 is relayed, the connection closed, and later bytes are not a new request', async () => {
    const c = await RawConnection.open(full.socket)
    try {
      const next = http('POST /containers/create', { 'Content-Type': 'application/json', 'Content-Length': '2' }, '{}')
      await c.write(http(`POST /containers/${PREFIX}no-such-container/attach?stream=1&stdin=1&stdout=1`, { ...upgrade, 'Content-Length': '0' }) + next)
      await new Promise((r) => setTimeout(r, 50))
      await c.write(next).catch(() => undefined)
      await c.waitClosed()
      const { responses, rest } = c.responses()
      expect(responses).toHaveLength(1)
      expect(responses[0]!.status).toBe(404)
      // On hijack endpoints the engine writes its errors as plain text.
      expect(responses[0]!.body.toString()).toMatch(/No such container/)
      expect(rest.length).toBe(0)
    } finally {
      c.destroy()
    }
    await new Promise((r) => setTimeout(r, 150))
    const got = tap.requests()
    expect(got.map((r) => r.line)).toEqual([`POST /containers/${PREFIX}no-such-container/attach?stream=1&stdin=1&stdout=1 HTTP/1.1`])
    expect(got[0]!.tunnel.length).toBe(0)
    expect(tap.connections().every((x) => x.garbage.length === 0)).toBe(true)
  })
})

describe('HEAD /_ping', () => {
  test('answers with the engine\'s headers and no body, and the connection goes on', async () => {
    const direct = await engineRequest(engineSocket, 'HEAD', '/_ping')
    const ex: Exchange = await rawExchange(full.socket, http('HEAD /_ping') + http('GET /_ping'), { responses: 2, headOnly: [0] })
    const [head, get] = ex.responses
    expect(head!.status).toBe(200)
    expect(head!.body.length).toBe(0)
    for (const name of ['api-version', 'docker-experimental', 'ostype', 'server', 'cache-control', 'pragma']) {
      expect(head!.header(name), name).toBe(direct.headers[name])
    }
    expect(head!.header('api-version')).toBe(engineFacts().apiVersion)
    expect(get!.status).toBe(200)
    expect(get!.body.toString()).toBe('OK')
    expect(ex.rest.length).toBe(0)
    expect(lines()).toEqual(['HEAD /_ping HTTP/1.1', 'GET /_ping HTTP/1.1'])
  })
})
