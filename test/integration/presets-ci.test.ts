/**
 * The `ci` preset with real clients: both docker CLIs run, read logs, exec and copy files both
 * ways; the legacy builder and BuildKit (CLI 20.10, DOCKER_BUILDKIT=1: /session, then
 * /build?version=2&remote=client-session) build offline from busybox:test; docker-compose 1.29
 * brings a small project up and down -v. And what stays refused: escalation flags, a build with
 * the host network or a remote context, BuildKit's raw /grpc.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { docker, type CliName } from '../support/cli.js'
import { call, removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-ci-'
const CLIS: readonly CliName[] = ['new', 'old']
let proxy: TestProxy
let dir: string

beforeAll(async () => {
  proxy = await startProxy({ policy: 'ci', engineSocket })
  dir = mkdtempSync(join(tmpdir(), 'dockgate-ci-'))
  writeFileSync(join(dir, 'f'), 'from the context\n')
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${BUSYBOX_IMAGE}\nRUN echo built > /built\nCOPY f /f\n`)
  writeFileSync(join(dir, 'docker-compose.yml'), [
    'version: "3.7"',
    'services:',
    '  app:',
    `    image: ${BUSYBOX_IMAGE}`,
    '    command: ["sleep", "600"]',
    '    network_mode: none',
    '    volumes: ["data:/data"]',
    'volumes:',
    '  data: {}',
    '',
  ].join('\n'))
})

afterAll(async () => {
  await proxy?.close()
  await removeByPrefix(engineSocket, PREFIX)
  await removeByPrefix(engineSocket, 'dgcitest_')
  const images = await call(engineSocket, 'GET', '/images/json')
  for (const img of images.json as Array<{ Id: string; RepoTags: string[] | null }>) {
    if ((img.RepoTags ?? []).some((t) => t.startsWith(PREFIX))) await call(engineSocket, 'DELETE', `/images/${img.Id}?force=1`)
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const ok = (r: { code: number | null; stderr: string }): void => expect(r.code, r.stderr).toBe(0)

describe.each(CLIS)('docker CLI (%s) through ci', (cli) => {
  const name = `${PREFIX}${cli}`
  const run = (args: string[], input?: string) => docker(args, { host: proxy.host, cli, ...(input === undefined ? {} : { input }) })

  test('run, logs, exec, cp both ways', async () => {
    const once = await run(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'echo', 'hi'])
    ok(once)
    expect(once.stdout.toString()).toBe('hi\n')
    ok(await run(['run', '-d', '--name', name, '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', 'echo started; sleep 600']))
    const logs = await run(['logs', name])
    ok(logs)
    expect(logs.stdout.toString()).toBe('started\n')
    const exec = await run(['exec', '-i', name, 'cat'], 'through exec\n')
    ok(exec)
    expect(exec.stdout.toString()).toBe('through exec\n')
    ok(await run(['cp', join(dir, 'f'), `${name}:/copied`]))
    const out = join(dir, `out-${cli}`)
    ok(await run(['cp', `${name}:/copied`, out]))
    expect(readFileSync(out, 'utf8')).toBe('from the context\n')
    ok(await run(['rm', '-f', name]))
  })

  test('the legacy builder builds, offline, from busybox:test', async () => {
    const tag = `${PREFIX}legacy-${cli}:1`
    ok(await docker(['build', '-q', '--network', 'none', '-t', tag, dir], { host: proxy.host, cli, env: { DOCKER_BUILDKIT: '0' } }))
    const r = await run(['run', '--rm', '--network', 'none', tag, 'cat', '/built', '/f'])
    ok(r)
    expect(r.stdout.toString()).toBe('built\nfrom the context\n')
  })

  test.each([
    ['--privileged', ['--privileged'], 'guard container.privileged'],
    ['-v /:/host', ['-v', '/:/host'], 'guard container.binds'],
    ['--network host', ['--network', 'host'], 'guard container.namespaces'],
  ])('docker run %s is refused', async (_flag, args, guard) => {
    const r = await run(['run', '--rm', ...args, BUSYBOX_IMAGE, 'true'])
    expect(r.code).toBe(125)
    expect(r.stderr).toContain(guard)
  })
})

describe('BuildKit through ci (docker CLI 20.10, DOCKER_BUILDKIT=1)', () => {
  const buildkit = (args: string[]) => docker(['build', ...args], { host: proxy.host, cli: 'old', env: { DOCKER_BUILDKIT: '1' }, timeoutMs: 120_000 })

  test('builds with its session: the context and Dockerfile come over /session', async () => {
    const tag = `${PREFIX}buildkit:1`
    ok(await buildkit(['--network', 'none', '-t', tag, dir]))
    const r = await docker(['run', '--rm', '--network', 'none', tag, 'cat', '/built', '/f'], { host: proxy.host })
    ok(r)
    expect(r.stdout.toString()).toBe('built\nfrom the context\n')
    const audits = proxy.audits()
    expect(audits.filter((a) => a.operation === 'Session').at(-1)).toMatchObject({ decision: 'allow', status: 101 })
    expect(audits.filter((a) => a.operation === 'ImageBuild').at(-1)).toMatchObject({ decision: 'allow', status: 200 })
  })

  test('--network host (the network.host entitlement) is refused before anything is built', async () => {
    const tag = `${PREFIX}buildkit-host:1`
    const r = await buildkit(['--network', 'host', '-t', tag, dir])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('query.networkmode="host" needs guards.build.network_host (guard build.network_mode; it is false in this policy)')
    expect((await call(engineSocket, 'GET', `/images/${tag}/json`)).status).toBe(404)
  })

  test('a git context (remote=<URL>) is refused: BuildKit would fetch it', async () => {
    const r = await buildkit(['-t', `${PREFIX}git:1`, 'https://github.com/example/example.git'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('guard build.remote')
    expect(proxy.audits().filter((a) => a.operation === 'ImageBuild').at(-1)).toMatchObject({ decision: 'deny', code: 'DG_DENY_BODY' })
  })

  test('POST /grpc (docker buildx) is refused: ci does not open it', async () => {
    const r = await call(proxy.socket, 'POST', '/grpc')
    expect(r.status).toBe(403)
    expect(r.json.message).toBe('dockgate: POST /grpc (BuildKitGrpc) is not allowed by policy "ci" [DG_DENY_OPERATION]; to allow it add "BuildKitGrpc" to an allow: list in a policy that extends ci (no preset has it)')
  })
})

describe('docker-compose 1.29 through ci', () => {
  test('up -d and down -v of a project with a named volume', async () => {
    const compose = async (...args: string[]) => promisify(execFile)('docker-compose', ['-p', 'dgcitest', ...args], {
      cwd: dir, env: { ...process.env, DOCKER_HOST: proxy.host }, timeout: 120_000,
    })
    const before = proxy.audits().length
    await compose('up', '-d')
    const running = await call(engineSocket, 'GET', '/containers/dgcitest_app_1/json')
    expect(running.json.State.Running).toBe(true)
    expect((await call(engineSocket, 'GET', '/volumes/dgcitest_data')).status).toBe(200)
    await compose('down', '-v')
    expect((await call(engineSocket, 'GET', '/containers/dgcitest_app_1/json')).status).toBe(404)
    expect((await call(engineSocket, 'GET', '/volumes/dgcitest_data')).status).toBe(404)
    expect(proxy.audits().slice(before).filter((a) => a.decision !== 'allow')).toEqual([])
  })
})
