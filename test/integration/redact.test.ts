/**
 * Redaction on real inspect output: containers made on the engine directly with secrets in their
 * environment, logging options and volume options, then read through dockgate with the docker
 * CLIs and raw requests. read-only: the names are there, the values are not, however the answer is
 * asked for (versioned or not, ?size=1, several at once, a committed image); container-operator:
 * the values are there. What redaction does not cover (logs) is shown too.
 *
 * Swarm tokens, secrets, configs, services, tasks and plugins are covered on spec-shaped answers in
 * test/unit/redact.test.ts: the private engine is not a swarm manager and has no plugin registry.
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { compilePolicyText } from '../../src/policy/compile.js'
import { CLIS, docker, type CliName } from '../support/cli.js'
import { engineRequest } from '../support/engine.js'
import { call, removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-redact-'
const R = '<redacted by dockgate>'
const SECRET = `s3cr3t-${process.pid}-value`
const PASSWORD = `pw-${process.pid}-cifs`
const TOKEN = `tok-${process.pid}-splunk`
const ENV_C = `${PREFIX}env`
const OPTS_C = `${PREFIX}opts`
const VOLUME = `${PREFIX}cifs`
const COMMITTED = `${PREFIX}committed:test`
const SECRETS = [SECRET, PASSWORD, TOKEN, 'visible-value', 'app.example']

let envId = ''
const proxies: TestProxy[] = []

async function proxy(policy: Parameters<typeof startProxy>[0]['policy'], extra: { responseBytes?: number } = {}): Promise<TestProxy> {
  const p = await startProxy({ policy, engineSocket, ...extra })
  proxies.push(p)
  return p
}

beforeAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
  // Running, with secrets in its environment; NOVALUE has no `=` (the engine's way to unset one).
  const env = await call(engineSocket, 'POST', `/containers/create?name=${ENV_C}`, {
    Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'],
    Env: [`SECRET_TOKEN=${SECRET}`, 'PLAIN=visible-value', 'VIRTUAL_HOST=app.example', 'NOVALUE'],
    HostConfig: { NetworkMode: 'none' },
  })
  expect(env.status, env.text).toBe(201)
  envId = env.json.Id as string
  expect((await call(engineSocket, 'POST', `/containers/${envId}/start`)).status).toBe(204)
  // Created only (never started: nothing is mounted or sent): a logging driver with a token, and a
  // CIFS volume whose options carry a password.
  const opts = await call(engineSocket, 'POST', `/containers/create?name=${OPTS_C}`, {
    Image: BUSYBOX_IMAGE, Cmd: ['true'],
    HostConfig: {
      NetworkMode: 'none',
      LogConfig: { Type: 'splunk', Config: { 'splunk-token': TOKEN, 'splunk-url': 'https://127.0.0.1:1' } },
      Mounts: [{ Type: 'volume', Source: VOLUME, Target: '/data', VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'cifs', device: '//127.0.0.1/share', o: `username=u,password=${PASSWORD}` } } } }],
    },
  })
  expect(opts.status, opts.text).toBe(201)
})

afterAll(async () => {
  for (const p of proxies) await p.close()
  await removeByPrefix(engineSocket, PREFIX)
  await call(engineSocket, 'DELETE', `/images/${COMMITTED}?force=1`)
})

const cliCases = (Object.keys(CLIS) as CliName[])

describe('read-only: names stay, values go', () => {
  let ro: TestProxy
  beforeAll(async () => {
    ro = await proxy('read-only')
  })

  test.each(cliCases)('docker inspect (%s CLI), one and several at once, with --size', async (cli) => {
    for (const args of [['inspect', ENV_C], ['inspect', ENV_C, OPTS_C], ['container', 'inspect', '--size', ENV_C]]) {
      const res = await docker(args, { host: ro.host, cli })
      expect(res.stderr).toBe('')
      expect(res.code).toBe(0)
      const out = res.stdout.toString()
      for (const s of SECRETS) expect(out, `${args.join(' ')}: ${s}`).not.toContain(s)
      expect(out).toContain(`"SECRET_TOKEN=${R}"`)
      expect(out).toContain(`"PLAIN=${R}"`)
    }
  })

  test('logging and volume driver options: the keys stay', async () => {
    const c = await docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}|{{json .HostConfig.Mounts}}', OPTS_C], { host: ro.host })
    expect(c.stderr).toBe('')
    const [log, mounts] = c.stdout.toString().trim().split('|') as [string, string]
    expect(JSON.parse(log)).toEqual({ Type: 'splunk', Config: { 'splunk-token': R, 'splunk-url': R } })
    expect(JSON.parse(mounts)[0].VolumeOptions.DriverConfig).toEqual({ Name: 'local', Options: { type: R, device: R, o: R } })
    const v = await docker(['volume', 'inspect', '--format', '{{json .Options}}', VOLUME], { host: ro.host })
    expect(v.stderr).toBe('')
    expect(JSON.parse(v.stdout.toString())).toEqual({ type: R, device: R, o: R })
    const list = await engineRequest(ro.socket, 'GET', '/volumes')
    expect(list.body.toString()).not.toContain(PASSWORD)
  })

  test.each([
    ['unversioned', `/containers/ENV/json`],
    ['versioned', `/v1.41/containers/ENV/json`],
    ['an older version', `/v1.24/containers/ENV/json`],
    ['with ?size=1', `/containers/ENV/json?size=1`],
    ['by name', `/containers/${ENV_C}/json`],
    ['by short id', `/containers/SHORT/json`],
  ])('raw GET, %s: the engine\'s status and headers, a fresh Content-Length, only the values differ', async (_name, template) => {
    const path = template.replace('ENV', envId).replace('SHORT', envId.slice(0, 12))
    const direct = await engineRequest(engineSocket, 'GET', path)
    const through = await engineRequest(ro.socket, 'GET', path)
    expect(through.status).toBe(direct.status)
    for (const h of ['api-version', 'content-type', 'docker-experimental', 'ostype', 'server']) expect(through.headers[h], h).toBe(direct.headers[h])
    expect(through.headers['content-length']).toBe(String(through.body.length))
    expect(through.headers['transfer-encoding']).toBeUndefined()
    const expected = JSON.parse(direct.body.toString())
    expected.Config.Env = (expected.Config.Env as string[]).map((e) => (e.includes('=') ? `${e.slice(0, e.indexOf('='))}=${R}` : e))
    expect(JSON.parse(through.body.toString())).toEqual(expected)
    for (const s of SECRETS) expect(through.body.toString()).not.toContain(s)
  })

  test('an error answer passes as the engine sends it', async () => {
    const missing = await engineRequest(ro.socket, 'GET', `/containers/${PREFIX}nope/json`)
    expect(missing.status).toBe(404)
    expect(JSON.parse(missing.body.toString()).message).toMatch(/No such container/)
  })

  test('the audit record and the metric say what was redacted', async () => {
    await engineRequest(ro.socket, 'GET', `/containers/${envId}/json`)
    expect(ro.audits().filter((a) => a.operation === 'ContainerInspect').at(-1)).toMatchObject({ decision: 'allow', status: 200, redacted: ['container_env'] })
    const text = await ro.registry.metrics()
    expect(text).toMatch(/dockgate_redacted_responses_total\{operation="ContainerInspect",kind="container_env"\} [1-9]/)
  })

  test('other ways to the same environment: a list has none, top shows arguments, exec inspect has none', async () => {
    const list = await engineRequest(ro.socket, 'GET', '/containers/json?all=1&size=1')
    expect(list.status).toBe(200)
    for (const s of SECRETS) expect(list.body.toString()).not.toContain(s)
    const top = await engineRequest(ro.socket, 'GET', `/containers/${envId}/top`)
    expect(top.status).toBe(200)
    expect(top.body.toString()).toContain('sleep 600')
    expect(top.body.toString()).not.toContain(SECRET)
    // ExecInspect is not in read-only; a policy that adds it gets no environment from it either.
    const exec = await call(engineSocket, 'POST', `/containers/${envId}/exec`, { Cmd: ['true'], Env: [`EXEC_SECRET=${SECRET}`] })
    expect(exec.status, exec.text).toBe(201)
    const withExec = await proxy(compilePolicyText('extends: [read-only]\nrules:\n  - allow: ExecInspect\n', { file: 'exec-inspect.yaml' }))
    const inspected = await engineRequest(withExec.socket, 'GET', `/exec/${exec.json.Id as string}/json`)
    expect(inspected.status).toBe(200)
    expect(inspected.body.toString()).not.toContain(SECRET)
  })

  test('docker commit copies the environment into an image: its inspect is redacted too', async () => {
    const withCommit = await proxy(compilePolicyText('extends: [read-only]\nrules:\n  - allow: ImageCommit\n', { file: 'commit.yaml' }))
    const [repo, tag] = COMMITTED.split(':') as [string, string]
    const committed = await call(withCommit.socket, 'POST', `/commit?container=${envId}&repo=${repo}&tag=${tag}`)
    expect(committed.status, committed.text).toBe(201)
    expect((await engineRequest(engineSocket, 'GET', `/images/${COMMITTED}/json`)).body.toString()).toContain(SECRET)
    const image = await docker(['image', 'inspect', '--format', '{{json .Config.Env}}', COMMITTED], { host: withCommit.host })
    expect(image.stderr).toBe('')
    expect(JSON.parse(image.stdout.toString())).toEqual(expect.arrayContaining([`SECRET_TOKEN=${R}`]))
    expect(image.stdout.toString()).not.toContain(SECRET)
  })

  test('not redactable, as documented: what a program prints reaches its logs', async () => {
    const printer = await call(engineSocket, 'POST', `/containers/create?name=${PREFIX}printer`, {
      Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', 'echo "token is $SECRET_TOKEN"'], Env: [`SECRET_TOKEN=${SECRET}`], HostConfig: { NetworkMode: 'none' },
    })
    expect((await call(engineSocket, 'POST', `/containers/${printer.json.Id as string}/start`)).status).toBe(204)
    await call(engineSocket, 'POST', `/containers/${printer.json.Id as string}/wait`)
    const logs = await docker(['logs', `${PREFIX}printer`], { host: ro.host })
    expect(logs.stdout.toString()).toBe(`token is ${SECRET}\n`)
  })
})

describe('presets that keep some names, and presets without redaction', () => {
  test('nginx-proxy keeps VIRTUAL_HOST for docker-gen, hides the rest', async () => {
    const p = await proxy('nginx-proxy')
    const env = (await call(p.socket, 'GET', `/containers/${envId}/json`)).json.Config.Env as string[]
    expect(env).toEqual(expect.arrayContaining(['VIRTUAL_HOST=app.example', `SECRET_TOKEN=${R}`, `PLAIN=${R}`]))
  })

  test.each(cliCases)('container-operator (%s CLI): the real values, for agents that re-create containers', async (cli) => {
    const p = await proxy('container-operator')
    const res = await docker(['inspect', ENV_C, OPTS_C], { host: p.host, cli })
    expect(res.stderr).toBe('')
    for (const s of [SECRET, PASSWORD, TOKEN]) expect(res.stdout.toString()).toContain(s)
    expect(res.stdout.toString()).not.toContain(R)
    expect(p.audits().filter((a) => a.operation === 'ContainerInspect').every((a) => a.redacted === undefined)).toBe(true)
  })
})

describe('bounded: an answer too large to redact is refused, other answers are not read at all', () => {
  test('limits.response_bytes', async () => {
    const small = await proxy('read-only', { responseBytes: 256 })
    const inspect = await engineRequest(small.socket, 'GET', `/containers/${envId}/json`)
    expect(inspect.status).toBe(502)
    expect(inspect.headers['x-dockgate-error']).toBe('DG_LIMIT_RESPONSE_SIZE')
    expect(JSON.parse(inspect.body.toString()).message).toBe(
      `dockgate: the answer of the Docker engine at unix://${engineSocket} to ContainerInspect is larger than 256 bytes (limits.response_bytes); the policy redacts values in it, so it must be read whole; it was not forwarded [DG_LIMIT_RESPONSE_SIZE]`)
    expect(small.audits().at(-1)).toMatchObject({ operation: 'ContainerInspect', decision: 'error', code: 'DG_LIMIT_RESPONSE_SIZE' })
    // Answers with nothing to redact are piped whatever their size.
    const list = await engineRequest(small.socket, 'GET', '/containers/json?all=1')
    expect(list.status).toBe(200)
    expect(list.body.length).toBeGreaterThan(256)
    // And the connection is still usable after a refusal.
    expect((await engineRequest(small.socket, 'GET', '/_ping')).status).toBe(200)
  })
})
