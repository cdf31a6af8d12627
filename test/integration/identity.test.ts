// Who is calling (issue 9, items 1 and 2), with the real engine and both real docker CLIs:
// - a shared unix socket (mode 0666) whose `clients:` give uid 1000 container-operator while
//   everyone else keeps read-only; other uids are real processes made with setpriv(1), and the
//   audit records carry their uid, gid and pid (SO_PEERCRED);
// - without peer credentials, such a listener refuses rather than guess;
// - TLS and mutual TLS on tcp://127.0.0.1: `docker --tlsverify` with a client certificate gets
//   its subject's policy, another certificate the default, and no certificate (or one from another
//   CA) no connection at all. Certificates are made by the openssl CLI (test/support/tls.ts).
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type { AuditRecord } from '../../src/audit.js'
import { loadConfig, type Config } from '../../src/config.js'
import { unavailable, type PeerCredentialReader } from '../../src/peercred.js'
import { startDockgate, type RunningDockgate } from '../../src/server.js'
import { CLIS, type CliName } from '../support/cli.js'
import { removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { makeCerts, type TestCerts } from '../support/tls.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-id-'
const CLI_NAMES: readonly CliName[] = ['new', 'old']
let serial = 0

/** A scratch directory others may traverse (setpriv'd CLIs reach the socket through it), removed after the file. */
let scratch: string
/** An empty DOCKER_CONFIG that every uid may read. */
let dockerConfig: string
let certs: TestCerts

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'dockgate-identity-'))
  chmodSync(scratch, 0o755)
  dockerConfig = join(scratch, 'docker-config')
  mkdirSync(dockerConfig, { mode: 0o755 })
  certs = makeCerts({ ci: '/CN=ci-runner', other: '/CN=someone-else' })
})

afterAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
  certs?.remove()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

interface Started {
  readonly running: RunningDockgate
  readonly lines: Array<Record<string, unknown>>
  audits(): AuditRecord[]
  close(): Promise<void>
}

/** dockgate from a config file written to the scratch directory, logs captured in memory. */
async function start(yaml: string, peerCredentials?: PeerCredentialReader): Promise<Started> {
  const file = join(scratch, `dockgate-${++serial}.yaml`)
  writeFileSync(file, `upstream: unix://${engineSocket}\n${yaml}`)
  const config = loadConfig(['--config', file], {}, { cwd: scratch }) as Config
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  const running = await startDockgate(config, { logger: pino({ level: 'debug' }, sink), registry: new Registry(), processMetrics: false, ...(peerCredentials ? { peerCredentials } : {}) })
  return { running, lines, audits: () => lines.filter((l) => l['audit']).map((l) => l['audit'] as AuditRecord), close: () => running.close(1_000) }
}

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** pid of the docker CLI (setpriv execs it, so it keeps setpriv's pid). */
  readonly pid: number
}

/** Runs a docker CLI as `uid` (setpriv; supplementary `groups`, default none), or as this process when uid is undefined. */
function dockerAs(uid: number | undefined, cli: CliName, args: readonly string[], opts: { host?: string; input?: string; groups?: number[] } = {}): Promise<Ran> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DOCKER_')) env[k] = v
  Object.assign(env, { DOCKER_CONFIG: dockerConfig, DOCKER_CLI_HINTS: 'false', ...(opts.host ? { DOCKER_HOST: opts.host } : {}) })
  const argv = uid === undefined ? [CLIS[cli], ...args] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, ...(opts.groups ? [`--groups=${opts.groups.join(',')}`] : ['--clear-groups']), CLIS[cli], ...args]
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, cwd: scratch, stdio: 'pipe' })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), pid: child.pid ?? -1 })
    })
  })
}

const run = (name: string): string[] => ['run', '--rm', '--name', name, '--network', 'none', BUSYBOX_IMAGE, 'echo', 'hi']

describe('a shared unix socket: a policy per uid', () => {
  let proxy: Started
  let socket: string
  beforeAll(async () => {
    socket = join(scratch, 'shared.sock')
    proxy = await start([
      'listeners:',
      `  - listen: unix://${socket}`,
      '    mode: "0666"',
      '    policy: read-only',
      '    clients:',
      '      - match: { uid: 1000 }',
      '        policy: container-operator',
      '        tenant: alice',
      '        name: alice',
      '      - match: { gid: 2000 }',
      '        policy: events-only',
      '        name: group-2000',
    ].join('\n'))
  })
  afterAll(async () => {
    await proxy?.close()
  })

  test.each(CLI_NAMES)('uid 1000 (%s CLI) gets container-operator: docker run works, and the audit record names uid, pid and the entry', async (cli) => {
    const name = `${PREFIX}alice-${cli}-${++serial}`
    const res = await dockerAs(1000, cli, run(name), { host: `unix://${socket}` })
    expect(res.stderr).toBe('')
    expect(res.stdout).toBe('hi\n')
    expect(res.code).toBe(0)
    const create = proxy.audits().filter((a) => a.operation === 'ContainerCreate' && a.path.endsWith('/containers/create')).at(-1)
    expect(create).toMatchObject({ decision: 'allow', status: 201, policy: 'container-operator', client: { uid: 1000, gid: 1000, pid: res.pid, entry: 'alice' } })
  })

  test.each(CLI_NAMES)('uid 1001 (%s CLI) gets the listener\'s read-only: docker ps works, docker run is refused', async (cli) => {
    const ps = await dockerAs(1001, cli, ['ps', '-a', '--format', '{{.Names}}'], { host: `unix://${socket}` })
    expect(ps.stderr).toBe('')
    expect(ps.code).toBe(0)
    expect(proxy.audits().at(-1)).toMatchObject({ operation: 'ContainerList', decision: 'allow', policy: 'read-only', client: { uid: 1001, gid: 1001, pid: ps.pid } })
    const name = `${PREFIX}bob-${cli}-${++serial}`
    const res = await dockerAs(1001, cli, run(name), { host: `unix://${socket}` })
    expect(res.code).toBe(125)
    expect(res.stderr).toContain('dockgate: POST /containers/create (ContainerCreate) is not allowed by policy "read-only" [DG_DENY_OPERATION]; to allow it add "ContainerCreate" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, dozzle-actions, …)')
    const refused = proxy.audits().at(-1)
    expect(refused).toMatchObject({ operation: 'ContainerCreate', decision: 'deny', policy: 'read-only', client: { uid: 1001, pid: res.pid } })
    expect(refused?.client).not.toHaveProperty('entry')
  })

  test('a supplementary group (SO_PEERGROUPS) matches a gid entry: uid 1002 in group 2000 gets events-only', async () => {
    const version = await dockerAs(1002, 'new', ['version', '--format', '{{.Server.APIVersion}}'], { host: `unix://${socket}`, groups: [2000] })
    expect(version.code, version.stderr).toBe(0)
    expect(proxy.audits().at(-1)).toMatchObject({ operation: 'SystemVersion', decision: 'allow', policy: 'events-only', client: { uid: 1002, gid: 1002, pid: version.pid, entry: 'group-2000' } })
    const ps = await dockerAs(1002, 'new', ['ps'], { host: `unix://${socket}`, groups: [2000] })
    expect(ps.code).not.toBe(0)
    expect(ps.stderr).toContain('is not allowed by policy "events-only" [DG_DENY_OPERATION]')
    // The same uid without the group: the listener's read-only, which lists containers.
    const alone = await dockerAs(1002, 'new', ['ps'], { host: `unix://${socket}` })
    expect(alone.code, alone.stderr).toBe(0)
    expect(proxy.audits().at(-1)).toMatchObject({ operation: 'ContainerList', policy: 'read-only', client: { uid: 1002 } })
  })

  test('root (this process) matches no entry: read-only, with its own uid and pid on record', async () => {
    const res = await dockerAs(undefined, 'new', ['version', '--format', '{{.Server.APIVersion}}'], { host: `unix://${socket}` })
    expect(res.code, res.stderr).toBe(0)
    expect(proxy.audits().at(-1)).toMatchObject({ policy: 'read-only', client: { uid: 0, gid: 0, pid: res.pid } })
  })

  test('the metrics separate the clients by policy only, not by uid', async () => {
    const text = await proxy.running.metrics.registry.metrics()
    expect(text).toMatch(/dockgate_requests_total\{listener="unix:\/\/[^"]+",policy="container-operator",operation="ContainerCreate",decision="allow",code="none"\} [1-9]/)
    expect(text).not.toMatch(/uid|pid|alice/)
  })
})

describe('without peer credentials, a listener that needs them refuses', () => {
  test('every request is refused with DG_DENY_IDENTITY, and the start log says why', async () => {
    const socket = join(scratch, 'no-cred.sock')
    const proxy = await start(['listeners:', `  - listen: unix://${socket}`, '    clients:', '      - { match: { uid: 0 }, policy: full }'].join('\n'), unavailable('the addon was not built (test)'))
    try {
      const res = await dockerAs(undefined, 'new', ['ps'], { host: `unix://${socket}` })
      expect(res.code).not.toBe(0)
      expect(res.stderr).toContain('dockgate: this listener chooses a policy by who is calling (clients[0] matches on uid), and this connection\'s uid is not known: peer credentials are not available: the addon was not built (test); refused rather than guessed [DG_DENY_IDENTITY]')
      expect(proxy.audits().at(-1)).toMatchObject({ decision: 'deny', code: 'DG_DENY_IDENTITY', status: 403, client: { error: 'peer credentials are not available: the addon was not built (test)' } })
      const msgs = proxy.lines.map((l) => String(l['msg']))
      expect(msgs).toContain('unix peer credentials (uid/gid/pid) are not available: the addon was not built (test); audit records of unix listeners carry no uid')
      expect(msgs).toContain(`unix://${socket} chooses policies by clients[0] (uid): without peer credentials every connection to it is refused (DG_DENY_IDENTITY)`)
    } finally {
      await proxy.close()
    }
  })
})

/** A free loopback port (closed again at once; the listener takes it right after). */
async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

describe('TLS listeners', () => {
  let mutual: Started
  let plain: Started
  let mutualHost: string
  let plainHost: string
  const tlsArgs = (pair?: { cert: string; key: string }): string[] =>
    ['--tlsverify', '--tlscacert', certs.ca, ...(pair ? ['--tlscert', pair.cert, '--tlskey', pair.key] : [])]

  beforeAll(async () => {
    const [p1, p2] = [await freePort(), await freePort()]
    mutualHost = `tcp://127.0.0.1:${p1}`
    plainHost = `tcp://127.0.0.1:${p2}`
    mutual = await start([
      'listeners:',
      `  - listen: ${mutualHost}`,
      '    policy: read-only',
      `    tls: { cert: ${certs.server.cert}, key: ${certs.server.key}, ca: ${certs.ca} }`,
      '    clients:',
      '      - match: { subject: "CN=ci-runner" }',
      '        policy: container-operator',
    ].join('\n'))
    plain = await start(['listeners:', `  - listen: ${plainHost}`, `    tls: { cert: ${certs.server.cert}, key: ${certs.server.key} }`].join('\n'))
  })
  afterAll(async () => {
    await mutual?.close()
    await plain?.close()
  })

  test.each(CLI_NAMES)('mutual TLS (%s CLI): CN=ci-runner gets container-operator; the record carries address, port, subject and SANs', async (cli) => {
    const name = `${PREFIX}tls-${cli}-${++serial}`
    const res = await dockerAs(undefined, cli, [...tlsArgs(certs.clients['ci']), '-H', mutualHost, ...run(name)])
    expect(res.stderr).toBe('')
    expect(res.stdout).toBe('hi\n')
    expect(res.code).toBe(0)
    const create = mutual.audits().filter((a) => a.operation === 'ContainerCreate').at(-1)
    expect(create).toMatchObject({ decision: 'allow', policy: 'container-operator', client: { address: '127.0.0.1', port: expect.any(Number), subject: 'CN=ci-runner', sans: ['DNS:client.test'], entry: 'clients[0]' } })
  })

  test.each(CLI_NAMES)('mutual TLS (%s CLI): stdin reaches the container and its end ends it (half-close over TLS)', async (cli) => {
    const name = `${PREFIX}tls-i-${cli}-${++serial}`
    const res = await dockerAs(undefined, cli, [...tlsArgs(certs.clients['ci']), '-H', mutualHost, 'run', '-i', '--rm', '--name', name, '--network', 'none', BUSYBOX_IMAGE, 'cat'], { input: 'through TLS\n' })
    expect(res.stderr).toBe('')
    expect(res.stdout).toBe('through TLS\n')
    expect(res.code).toBe(0)
  })

  test.each(CLI_NAMES)('mutual TLS (%s CLI): another certificate of the same CA gets the default read-only', async (cli) => {
    const ps = await dockerAs(undefined, cli, [...tlsArgs(certs.clients['other']), '-H', mutualHost, 'ps'])
    expect(ps.code, ps.stderr).toBe(0)
    const res = await dockerAs(undefined, cli, [...tlsArgs(certs.clients['other']), '-H', mutualHost, ...run(`${PREFIX}other-${++serial}`)])
    expect(res.code).toBe(125)
    expect(res.stderr).toContain('dockgate: POST /containers/create (ContainerCreate) is not allowed by policy "read-only" [DG_DENY_OPERATION]; to allow it add "ContainerCreate" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, dozzle-actions, …)')
    expect(mutual.audits().at(-1)).toMatchObject({ decision: 'deny', policy: 'read-only', client: { subject: 'CN=someone-else' } })
  })

  test.each(CLI_NAMES)('mutual TLS (%s CLI): no client certificate, or one from another CA: no connection, nothing on record', async (cli) => {
    const before = mutual.audits().length
    for (const pair of [undefined, certs.rogue]) {
      const res = await dockerAs(undefined, cli, [...tlsArgs(pair), '-H', mutualHost, 'ps'])
      expect(res.code).not.toBe(0)
      expect(res.stderr).toMatch(/tls|certificate|remote error|connection reset|EOF/i)
      expect(res.stderr).not.toContain('dockgate:')
    }
    expect(mutual.audits().length).toBe(before)
    expect(mutual.lines.some((l) => String(l['msg']).startsWith(`TLS handshake refused on ${mutualHost}`))).toBe(true)
  })

  test.each(CLI_NAMES)('TLS without a client CA (%s CLI): the client verifies the server, no client certificate needed', async (cli) => {
    const res = await dockerAs(undefined, cli, [...tlsArgs(), '-H', plainHost, 'ps'])
    expect(res.code, res.stderr).toBe(0)
    const rec = plain.audits().at(-1)
    expect(rec).toMatchObject({ decision: 'allow', policy: 'read-only', client: { address: '127.0.0.1' } })
    expect(rec?.client).not.toHaveProperty('subject')
  })

  test('plain HTTP to a TLS port gets no Engine API answer', async () => {
    const before = plain.audits().length
    const res = await dockerAs(undefined, 'new', ['-H', plainHost, 'ps'])
    expect(res.code).not.toBe(0)
    expect(plain.audits().length).toBe(before)
  })
})
