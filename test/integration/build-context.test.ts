// Builds that fetch URLs: `ADD http://…` in a Dockerfile makes the legacy builder
// fetch the URL, although the ImageBuild guard refuses `remote=`. First shown on the bare engine,
// with a loopback HTTP server as the URL (loopback only: the network rule of these machines), then
// refused through dockgate with the URL never fetched and nothing built, while ordinary Dockerfiles
// still build and guards.build.fetch_urls lets the fetch through.
//
// dockgate's upstream is a recording tap (test/support/tap.ts): it shows what the engine received
// of a refused build (the archive without its end-of-archive marker, cut short).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest'
import { compilePolicyText } from '../../src/policy/compile.js'
import { docker, type CliName } from '../support/cli.js'
import { until } from '../support/client-parity.js'
import { call, snapshot } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { parseResponses, type RawResponse } from '../support/raw.js'
import { startTap, type Tap, type TapRequest } from '../support/tap.js'
import { END, gzip, tar } from '../support/tar-build.js'
import { send } from '../support/wire.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-bc-'
const CLIS: CliName[] = ['new', 'old']

/** A loopback HTTP server standing in for "a URL on the network"; it records every request. */
interface Loopback {
  readonly hits: string[]
  url(path: string): string
  close(): Promise<void>
}

function startLoopback(): Promise<Loopback> {
  return new Promise((resolve) => {
    const hits: string[] = []
    const server = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`)
      res.end('fetched over http\n')
    })
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({ hits, url: (path) => `http://127.0.0.1:${port}${path}`, close: () => new Promise((r) => server.close(() => r())) })
    })
  })
}

let dir: string
let web: Loopback
let tap: Tap
let guarded: TestProxy
let loosened: TestProxy
let serial = 0

const policy = (name: string, guards: string[]): ReturnType<typeof compilePolicyText> =>
  compilePolicyText(['extends: [container-operator]', 'rules:', '  - allow: [ImageBuild, ImageTag]', ...guards].join('\n'), { file: `${name}.yaml` })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-build-'))
  web = await startLoopback()
  tap = await startTap(join(dir, 'tap.sock'), engineSocket)
  guarded = await startProxy({ policy: policy('dg-build', []), engineSocket: tap.socket })
  loosened = await startProxy({ policy: policy('dg-build-fetch', ['guards:', '  build: { fetch_urls: true }']), engineSocket: tap.socket })
})

afterAll(async () => {
  const images = await call(engineSocket, 'GET', '/images/json')
  for (const img of images.json as Array<{ RepoTags: string[] | null }>) {
    for (const tag of img.RepoTags ?? []) if (tag.startsWith(PREFIX)) await call(engineSocket, 'DELETE', `/images/${encodeURIComponent(tag)}?force=1`)
  }
  await guarded?.close()
  await loosened?.close()
  await tap?.close()
  await web?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

beforeEach(() => {
  web.hits.length = 0
})

/**
 * The first /build request the engine received after `start` (a count of tap requests), once the
 * engine has closed its connection: for a refused build, once it has read the cut-short upload
 * and answered.
 */
async function upstreamBuild(start: number): Promise<TapRequest> {
  const req = await tap.waitFor(() => tap.requests().slice(start).find((r) => r.target.includes('/build')), 'the build request upstream')
  await tap.connections().find((c) => c.index === req.connection)!.closed
  return req
}

/** Image ids and tags, to show a refused build left none behind. */
async function images(): Promise<string[]> {
  const res = await call(engineSocket, 'GET', '/images/json?all=1')
  return (res.json as Array<{ Id: string; RepoTags: string[] | null }>).map((i) => `${i.Id} ${(i.RepoTags ?? []).join(',')}`).sort()
}

/** A build context directory holding `files`. */
function contextDir(files: Record<string, string>): string {
  const ctx = join(dir, `ctx-${++serial}`)
  mkdirSync(ctx)
  for (const [name, content] of Object.entries(files)) writeFileSync(join(ctx, name), content)
  return ctx
}

const build = (query: string, body: Buffer): Parameters<typeof send>[1] => ({ method: 'POST', target: `/build?${query}`, body, headers: [['Content-Type', 'application/x-tar']] })

/**
 * A raw upload to the engine's own socket: the request head and `body` in one chunk of a chunked
 * request, which stays open until the caller ends or destroys it.
 */
function openUpload(query: string, body: Buffer): { sock: net.Socket; halfClose: () => Promise<RawResponse[]>; finish: () => Promise<RawResponse[]> } {
  const sock = net.connect(engineSocket)
  const parts: Buffer[] = []
  sock.on('data', (d: Buffer) => parts.push(d))
  sock.on('error', () => {})
  sock.write(`POST /build?${query} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n`)
  sock.write(`${body.length.toString(16)}\r\n`)
  sock.write(body)
  sock.write('\r\n')
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()))
  const answer = async (): Promise<RawResponse[]> => {
    await closed
    return parseResponses(Buffer.concat(parts), { closed: true }).responses
  }
  return {
    sock,
    // Half-close without the terminating chunk: the engine reads a body cut short, then answers.
    halfClose: () => {
      sock.end()
      return answer()
    },
    // The terminating chunk, then half-close: the engine finishes the build and answers.
    finish: () => {
      sock.end('0\r\n\r\n')
      return answer()
    },
  }
}

describe('on the bare engine (legacy builder)', () => {
  test('ADD <url> in the Dockerfile makes the engine fetch it', async () => {
    const ctx = tar([{ name: 'Dockerfile', data: `FROM scratch\nADD ${web.url('/bare')} /fetched\n` }])
    const res = await send(engineSocket, build(`t=${PREFIX}bare&version=1`, ctx))
    expect(res.status).toBe(200)
    expect(res.body.toString()).toContain('Successfully built')
    expect(web.hits).toEqual(['GET /bare'])
  })

  test('the build starts before the body ends: once the end-of-archive marker and 256 KiB more are in', async () => {
    // This is why dockgate holds back the marker, not only the end of the body, until it has
    // checked the Dockerfile. (With less than 256 KiB after the marker the engine waits: Go's
    // net/http reads at most 256 KiB of a body the handler closes early.)
    const ctx = tar([{ name: 'Dockerfile', data: `FROM scratch\nADD ${web.url('/early')} /fetched\n` }])
    const upload = openUpload(`t=${PREFIX}early`, Buffer.concat([ctx, Buffer.alloc(300 * 1024, 0x41)]))
    await until(() => web.hits.includes('GET /early'), 'the engine to fetch the URL while the upload is still open')
    const [res] = await upload.finish()
    expect(res?.body.toString()).toContain('Successfully built')
  })

  test('BuildKit (version=2) takes a context sent in the body too, with no session, and fetches ADD <url>', async () => {
    const ctx = tar([{ name: 'Dockerfile', data: `FROM scratch\nADD ${web.url('/buildkit')} /fetched\n` }])
    const res = await send(engineSocket, build(`t=${PREFIX}buildkit&version=2`, ctx))
    expect(res.status, res.body.toString()).toBe(200)
    expect(web.hits).toEqual(['GET /buildkit'])
  })

  test('an upload cut before the end-of-archive marker builds nothing', async () => {
    const before = await images()
    const ctx = tar([{ name: 'Dockerfile', data: `FROM scratch\nADD ${web.url('/cut')} /fetched\n` }], { end: false })
    const [res] = await openUpload(`t=${PREFIX}cut`, ctx).halfClose()
    expect(res?.body.toString()).toMatch(/Error processing tar file.*unexpected EOF|unexpected EOF/)
    expect(web.hits).toEqual([])
    expect(await images()).toEqual(before)
  })
})

describe('through dockgate (container-operator + ImageBuild, guards at their defaults)', () => {
  test.each(CLIS)('docker build (%s CLI) of a Dockerfile with ADD <url> is refused; the URL is not fetched, nothing is built', async (cli) => {
    const url = web.url(`/cli-${cli}`)
    const ctx = contextDir({ Dockerfile: `FROM scratch\nADD ${url} /fetched\n` })
    const [imagesBefore, stateBefore] = [await images(), await snapshot(engineSocket)]
    const start = tap.requests().length
    const r = await docker(['build', '-t', `${PREFIX}refused-${cli}`, ctx], { host: guarded.host, cli, env: { DOCKER_BUILDKIT: '0' } })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain(
      `Error response from daemon: dockgate: ImageBuild denied by policy "dg-build": Dockerfile line 2: ADD source="${url}" is refused because the engine fetches ${url}; it needs guards.build.fetch_urls: true (guard build.fetch_urls; it is false in this policy) [DG_DENY_BODY]`,
    )
    // The engine received the archive without its end marker, and the request was cut short.
    const upstream = await upstreamBuild(start)
    expect(upstream.body.length).toBeGreaterThan(0)
    expect(upstream.body.subarray(-END.length).equals(END)).toBe(false)
    expect(web.hits).toEqual([])
    expect(await images()).toEqual(imagesBefore)
    expect(await snapshot(engineSocket)).toEqual(stateBefore)
    const audit = guarded.audits().filter((a) => a.operation === 'ImageBuild').at(-1)
    expect(audit).toMatchObject({ decision: 'deny', code: 'DG_DENY_BODY', status: 403, rule: 'build.fetch_urls' })
    expect(audit?.violations?.[0]).toMatchObject({ guard: 'build.fetch_urls', field: 'Dockerfile line 2: ADD source' })
  })

  test.each(CLIS)('an ordinary Dockerfile still builds (%s CLI): FROM, ADD and COPY of local files, RUN', async (cli) => {
    const tag = `${PREFIX}ok-${cli}`
    const ctx = contextDir({
      Dockerfile: `FROM ${BUSYBOX_IMAGE}\n# a comment naming ${web.url('/not-fetched')}\nADD hello.txt /hello.txt\nCOPY ["hello.txt", "/copy.txt"]\nRUN cat /hello.txt > /built\n`,
      'hello.txt': 'hello\n',
    })
    const r = await docker(['build', '--network', 'none', '-t', tag, ctx], { host: guarded.host, cli, env: { DOCKER_BUILDKIT: '0' } })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toContain(`Successfully tagged ${tag}:latest`)
    expect(web.hits).toEqual([])
    expect(guarded.audits().filter((a) => a.operation === 'ImageBuild').at(-1)).toMatchObject({ decision: 'allow', status: 200 })
  })

  test('with guards.build.fetch_urls: true the Dockerfile may fetch the URL', async () => {
    const url = web.url('/allowed')
    const ctx = contextDir({ Dockerfile: `FROM scratch\nADD ${url} /fetched\n` })
    const r = await docker(['build', '-t', `${PREFIX}allowed`, ctx], { host: loosened.host, env: { DOCKER_BUILDKIT: '0' } })
    expect(r.code, r.stderr).toBe(0)
    expect(web.hits).toEqual(['GET /allowed'])
  })

  test.each<[string, (url: string) => { query: string; body: Buffer }]>([
    ['gzip-compressed context', (u) => ({ query: '', body: gzip(tar([{ name: 'Dockerfile', data: `FROM scratch\nADD ${u} /f\n` }])) })],
    ['the URL in an ENV variable', (u) => ({ query: '', body: tar([{ name: 'Dockerfile', data: `FROM scratch\nENV U=${u}\nADD $U /f\n` }]) })],
    ['the URL in a build arg', (u) => ({ query: `buildargs=${encodeURIComponent(JSON.stringify({ U: u }))}`, body: tar([{ name: 'Dockerfile', data: 'FROM scratch\nARG U\nADD ${U} /f\n' }]) })],
    ['a lower-case dockerfile, found by the fallback', (u) => ({ query: '', body: tar([{ name: 'dockerfile', data: `FROM scratch\nADD ${u} /f\n` }]) })],
    ['the same name twice, the second with the URL', (u) => ({ query: '', body: tar([{ name: 'Dockerfile', data: 'FROM scratch\n' }, { name: 'Dockerfile', data: `FROM scratch\nADD ${u} /f\n` }]) })],
    ['a symlinked Dockerfile', (u) => ({ query: '', body: tar([{ name: 'Dockerfile', type: '2', linkname: 'build/real' }, { name: 'build/real', data: `FROM scratch\nADD ${u} /f\n` }]) })],
    ['ONBUILD ADD (a fetch planted for later builds)', (u) => ({ query: '', body: tar([{ name: 'Dockerfile', data: `FROM scratch\nONBUILD ADD ${u} /f\n` }]) })],
  ])('refused with DG_DENY_BODY: %s', async (_name, make) => {
    const url = web.url('/raw')
    const { query, body } = make(url)
    const before = await images()
    const start = tap.connections().length
    const res = await send(guarded.socket, build(`t=${PREFIX}raw&${query}`, body))
    expect(res.status, res.body.toString()).toBe(403)
    expect(res.header('x-dockgate-error')).toBe('DG_DENY_BODY')
    expect((res.json() as { message: string }).message).toMatch(
      /^dockgate: ImageBuild denied by policy "dg-build": Dockerfile line \d+: (ONBUILD )?ADD source="[^"]+" is refused because [^;]+; it needs guards\.build\.fetch_urls: true \(guard build\.fetch_urls; it is false in this policy\) \[DG_DENY_BODY\]$/)
    // A small context is refused before any of it is written upstream; a larger one reaches the
    // engine cut short. Either way, once the engine has closed the connection, nothing was built.
    await until(() => tap.connections().slice(start).every((c) => c.isClosed), 'the upstream connection to close')
    expect(web.hits).toEqual([])
    expect(await images()).toEqual(before)
  })

  test.each<[string, string, Buffer, number, string]>([
    ['BuildKit (version=2) reads the body too, unchecked', 'version=2', tar([{ name: 'Dockerfile', data: 'FROM scratch\n' }]), 403, 'DG_DENY_BODY'],
    ['a bzip2 context', '', Buffer.from('BZh91AY&SY'), 400, 'DG_REQ_BUILD_CONTEXT'],
    ['a Dockerfile reached through a symlink that comes after it', '', tar([{ name: 'real', data: 'FROM scratch\n' }, { name: 'Dockerfile', type: '2', linkname: 'real' }]), 400, 'DG_REQ_BUILD_CONTEXT'],
    ['a Dockerfile over the inspected-body limit', '', tar([{ name: 'Dockerfile', data: `FROM scratch\n${'#'.repeat(1024 * 1024)}\n` }]), 413, 'DG_REQ_BODY_TOO_LARGE'],
  ])('refused: %s', async (_name, query, body, status, code) => {
    const res = await send(guarded.socket, build(`t=${PREFIX}raw2&${query}`, body))
    expect(res.status, res.body.toString()).toBe(status)
    expect(res.header('x-dockgate-error')).toBe(code)
    expect(web.hits).toEqual([])
  })
})
