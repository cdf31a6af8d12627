// Tenants (issue 9, item 3) with the real engine and real clients: one unix socket whose
// `clients:` give uid 1000 the tenant alice and uid 1001 the tenant bob (other uids are real
// processes made with setpriv), a second listener whose own `tenant:` is carol, and an admin who
// talks to the engine directly. They drive both docker CLIs and docker-compose 1.29 against each
// other: names, full and short ids, `/name`, label filters of their own, events, references in
// bodies, names the other holds, implicit volumes, builds, commits and prunes.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type { AuditRecord } from '../../src/audit.js'
import { loadConfig, type Config } from '../../src/config.js'
import { startDockgate, type RunningDockgate } from '../../src/server.js'
import { runAs, type RanAs } from '../support/as-user.js'
import { CLIS, type CliName } from '../support/cli.js'
import { call, removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-ten-'
const ALICE = 1000
const BOB = 1001
const CLI_NAMES: readonly CliName[] = ['new', 'old']

let scratch: string
let socket: string
let carolSocket: string
let running: RunningDockgate
const lines: Array<Record<string, unknown>> = []
const audits = (): AuditRecord[] => lines.filter((l) => l['audit']).map((l) => l['audit'] as AuditRecord)

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'dockgate-tenants-'))
  chmodSync(scratch, 0o755)
  mkdirSync(join(scratch, 'docker-config'), { mode: 0o777 })
  socket = join(scratch, 'shared.sock')
  carolSocket = join(scratch, 'carol.sock')
  writeFileSync(join(scratch, 'tenant.yaml'), [
    'name: tenant',
    'extends: [ci]',
    'rules:',
    '  - allow: [ContainerPrune, VolumePrune, NetworkPrune, ImagePrune, ImageCommit, SystemDataUsage]',
    'guards:',
    '  container:',
    '    volumes_from: ["*"]',
    '    namespaces: { network: ["container:*"] }',
  ].join('\n') + '\n')
  writeFileSync(join(scratch, 'dockgate.yaml'), [
    `upstream: unix://${engineSocket}`,
    'listeners:',
    `  - listen: unix://${socket}`,
    '    mode: "0666"',
    '    policy: read-only',
    '    clients:',
    '      - { match: { uid: 1000 }, policy: ./tenant.yaml, tenant: alice, name: alice }',
    '      - { match: { uid: 1001 }, policy: ./tenant.yaml, tenant: bob, name: bob }',
    `  - listen: unix://${carolSocket}`,
    '    policy: ./tenant.yaml',
    '    tenant: carol',
  ].join('\n') + '\n')
  const config = loadConfig(['--config', join(scratch, 'dockgate.yaml')], {}, { cwd: scratch }) as Config
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  running = await startDockgate(config, { logger: pino({ level: 'info' }, sink), registry: new Registry(), processMetrics: false })
})

afterAll(async () => {
  await running?.close(1_000)
  await removeByPrefix(engineSocket, PREFIX)
  for (const project of ['dgtena', 'dgtenb']) await removeByPrefix(engineSocket, `${project}_`)
  const networks = await call(engineSocket, 'GET', '/networks')
  for (const n of networks.json as Array<{ Id: string; Name: string }>) {
    if (n.Name.startsWith(PREFIX) || n.Name.startsWith('dgten')) await call(engineSocket, 'DELETE', `/networks/${n.Id}`)
  }
  const images = await call(engineSocket, 'GET', '/images/json?all=1')
  for (const img of images.json as Array<{ Id: string; RepoTags: string[] | null; Labels: Record<string, string> | null }>) {
    if ((img.RepoTags ?? []).some((t) => t.startsWith(PREFIX)) || ['alice', 'bob', 'carol'].includes(img.Labels?.['dockgate.tenant'] ?? '')) await call(engineSocket, 'DELETE', `/images/${img.Id}?force=1`)
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

const env = { DOCKER_HOST: '', DOCKER_CONFIG: '', DOCKER_CLI_HINTS: 'false' }
function as(uid: number, cli: CliName, args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RanAs> {
  return runAs(uid, [CLIS[cli], ...args], { cwd: scratch, env: { ...env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(scratch, 'docker-config'), ...opts.env }, ...(opts.input === undefined ? {} : { input: opts.input }) })
}
const ok = (r: RanAs): RanAs => {
  expect(r.code, r.stderr).toBe(0)
  return r
}
const runDetached = (name: string): string[] => ['run', '-d', '--name', name, '--network', 'none', BUSYBOX_IMAGE, 'sleep', '600']

/** Creates a container straight on the engine, as an admin (or another tenant's label, to stage ids). */
async function adminContainer(name: string, labels: Record<string, string> = {}): Promise<string> {
  const res = await call(engineSocket, 'POST', `/containers/create?name=${name}`, { Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'], Labels: labels, HostConfig: { NetworkMode: 'none' } })
  expect(res.status, res.text).toBe(201)
  expect((await call(engineSocket, 'POST', `/containers/${res.json.Id}/start`)).status).toBe(204)
  return res.json.Id as string
}

describe('containers another tenant or an admin owns do not exist', () => {
  let bobId: string
  let adminId: string
  beforeAll(async () => {
    ok(await as(ALICE, 'new', runDetached(`${PREFIX}a-web`)))
    bobId = ok(await as(BOB, 'new', runDetached(`${PREFIX}b-web`))).stdout.trim()
    adminId = await adminContainer(`${PREFIX}admin`)
  })

  test('each lists its own containers only; a label filter naming the other tenant finds nothing', async () => {
    for (const cli of CLI_NAMES) {
      const mine = ok(await as(ALICE, cli, ['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.startsWith(PREFIX))
      expect(mine).toEqual([`${PREFIX}a-web`])
      expect(ok(await as(ALICE, cli, ['ps', '-aq', '--filter', 'label=dockgate.tenant=bob'])).stdout).toBe('')
      expect(ok(await as(ALICE, cli, ['ps', '-aq', '--filter', `name=${PREFIX}b-web`])).stdout).toBe('')
      expect(ok(await as(BOB, cli, ['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.startsWith(PREFIX))).toEqual([`${PREFIX}b-web`])
    }
    // The admin sees both, labelled.
    const all = await call(engineSocket, 'GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [PREFIX] }))}`)
    expect(Object.fromEntries((all.json as Array<{ Names: string[]; Labels: Record<string, string> }>).map((c) => [c.Names[0], c.Labels['dockgate.tenant'] ?? '']))).toEqual({
      [`/${PREFIX}a-web`]: 'alice', [`/${PREFIX}b-web`]: 'bob', [`/${PREFIX}admin`]: '',
    })
  })

  test.each(CLI_NAMES)('by name, full id, short id or an admin\'s name, bob\'s container is "No such container" for alice (%s CLI)', async (cli) => {
    const refs = [`${PREFIX}b-web`, bobId, bobId.slice(0, 12), bobId.slice(0, 5), `${PREFIX}admin`, adminId.slice(0, 12)]
    for (const ref of refs) {
      for (const args of [['inspect', '--type', 'container', ref], ['logs', ref], ['stop', ref], ['rm', ref], ['exec', ref, 'true'], ['kill', ref], ['start', ref], ['wait', ref]]) {
        const r = await as(ALICE, cli, args)
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).not.toBe(0)
        expect(r.stderr, args.join(' ')).toMatch(new RegExp(`No such (container|object): ${ref}`))
      }
      // rm -f of a container that is not there exits 0 (the CLI forgives a 404 when forced).
      expect(ok(await as(ALICE, cli, ['rm', '-f', ref])).stderr).toMatch(new RegExp(`^(Error response from daemon: dockgate: No such container: ${ref} \\[DG_TARGET_NOT_FOUND\\]|Error: No such container: ${ref})\n$`))
    }
    // Nothing happened to them; the record says who asked, as which tenant, and what dockgate answered.
    for (const id of [bobId, adminId]) expect((await call(engineSocket, 'GET', `/containers/${id}/json`)).json.State.Running).toBe(true)
    expect(audits().filter((a) => a.operation === 'ContainerStop').at(-1)).toMatchObject({ decision: 'deny', code: 'DG_TARGET_NOT_FOUND', status: 404, client: { uid: ALICE, entry: 'alice', tenant: 'alice' } })
  })

  test('the answer for bob\'s container is the answer for no container, byte for byte (but the date)', async () => {
    const name = `${PREFIX}b-gone`
    ok(await as(BOB, 'new', runDetached(name)))
    const curl = async (): Promise<string> => {
      const r = await runAs(ALICE, ['curl', '-s', '-i', '--unix-socket', socket, `http://localhost/v1.41/containers/${name}/json`], { cwd: scratch })
      return r.stdout.replace(/^Date: .*\r\n/m, '')
    }
    const whileThere = await curl()
    ok(await as(BOB, 'new', ['rm', '-f', name]))
    expect(whileThere).toBe(await curl())
    expect(whileThere).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/)
    expect(whileThere).toContain(`{"message":"dockgate: No such container: ${name} [DG_TARGET_NOT_FOUND]"}`)
  })

  test('an id prefix bob\'s id starts too, which the engine finds ambiguous, names alice\'s own', async () => {
    const aliceId = (await call(engineSocket, 'GET', `/containers/${PREFIX}a-web/json`)).json.Id as string
    // Stage containers with bob's label until one starts like alice's (1 in 16 each).
    for (let i = 0; i < 64; i++) {
      const id = await adminContainer(`${PREFIX}b-stage-${i}`, { 'dockgate.tenant': 'bob' })
      if (id[0] === aliceId[0]) break
    }
    const direct = await call(engineSocket, 'GET', `/containers/${aliceId[0]!}/json`)
    expect(direct.text).toMatch(/multiple IDs found with provided prefix/i) // 20.10 capitalises, 26.1 does not
    const r = ok(await as(ALICE, 'new', ['inspect', '--type', 'container', '--format', '{{.Name}}', aliceId[0]!]))
    expect(r.stdout.trim()).toBe(`/${PREFIX}a-web`)
  })

  test('events: alice follows her own containers only, even when she asks for bob\'s', async () => {
    const since = Math.floor(Date.now() / 1000) - 1
    ok(await as(BOB, 'new', ['run', '--rm', '--name', `${PREFIX}b-ev`, '--network', 'none', BUSYBOX_IMAGE, 'true']))
    ok(await as(ALICE, 'new', ['run', '--rm', '--name', `${PREFIX}a-ev`, '--network', 'none', BUSYBOX_IMAGE, 'true']))
    const until = String(Math.floor(Date.now() / 1000) + 1)
    for (const cli of CLI_NAMES) {
      const seen = ok(await as(ALICE, cli, ['events', '--since', String(since), '--until', until, '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'])).stdout
      expect(seen).toContain(`container destroy ${PREFIX}a-ev`)
      expect(seen).not.toContain(`${PREFIX}b-ev`)
      expect(ok(await as(ALICE, cli, ['events', '--since', String(since), '--until', until, '--filter', 'label=dockgate.tenant=bob'])).stdout).toBe('')
      expect(ok(await as(ALICE, cli, ['events', '--since', String(since), '--until', until, '--filter', `container=${PREFIX}b-ev`])).stdout).toBe('')
    }
  })

  test.each([
    ['--volumes-from', ['--volumes-from', `${PREFIX}b-web`], `No such container: ${PREFIX}b-web`],
    ['--network container:', ['--network', `container:${PREFIX}b-web`], `No such container: ${PREFIX}b-web`],
    ['--link', ['--network', 'none', '--link', `${PREFIX}admin:db`], `No such container: ${PREFIX}admin`],
  ])('docker run %s naming another\'s container is refused as absent', async (_n, args, message) => {
    // A 404 to a create makes the CLI pull the image and try again, as it does with the engine: --pull never.
    const r = await as(ALICE, 'new', ['run', '--rm', '--pull', 'never', ...args, BUSYBOX_IMAGE, 'true'])
    expect(r.code).toBe(125)
    expect(r.stderr).toContain(`dockgate: ${message} [DG_TARGET_NOT_FOUND]`)
  })

  test('a label naming another tenant is refused; naming its own is fine', async () => {
    const r = await as(ALICE, 'new', ['run', '--rm', '--network', 'none', '-l', 'dockgate.tenant=bob', BUSYBOX_IMAGE, 'true'])
    expect(r.code).toBe(125)
    expect(r.stderr).toContain('ContainerCreate refused: Labels.dockgate.tenant="bob" names another tenant')
    expect(r.stderr).toContain('[DG_DENY_TENANT]')
    ok(await as(ALICE, 'old', ['run', '--rm', '--network', 'none', '-l', 'dockgate.tenant=alice', BUSYBOX_IMAGE, 'true']))
  })

  test('a container name another tenant holds: taken, the holder unnamed (the engine\'s own answer names its id)', async () => {
    const r = await as(ALICE, 'new', ['create', '--name', `${PREFIX}b-web`, '--network', 'none', BUSYBOX_IMAGE])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(`dockgate: the container name "${PREFIX}b-web" is taken by an object this client cannot see`)
    expect(r.stderr).not.toContain(bobId.slice(0, 12))
  })

  test('a listener\'s own tenant: carol sees neither alice\'s nor bob\'s', async () => {
    const carol = (args: string[]): Promise<RanAs> => runAs(0, [CLIS.new, ...args], { cwd: scratch, env: { ...env, DOCKER_HOST: `unix://${carolSocket}`, DOCKER_CONFIG: join(scratch, 'docker-config') } })
    ok(await carol(runDetached(`${PREFIX}c-web`)))
    expect(ok(await carol(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.startsWith(PREFIX))).toEqual([`${PREFIX}c-web`])
    expect((await carol(['stop', `${PREFIX}a-web`])).stderr).toContain(`No such container: ${PREFIX}a-web`)
    expect((await as(ALICE, 'new', ['logs', `${PREFIX}c-web`])).stderr).toContain(`No such container: ${PREFIX}c-web`)
  })

  test('engine-wide operations are refused to a tenant', async () => {
    const r = await as(ALICE, 'new', ['system', 'df'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('SystemDataUsage is not available to clients with a tenant')
  })
})

describe('volumes and networks', () => {
  test('a named volume another tenant holds cannot be created, mounted or seen; a new one is created with the label', async () => {
    ok(await as(BOB, 'new', ['volume', 'create', `${PREFIX}b-vol`]))
    const create = await as(ALICE, 'new', ['volume', 'create', `${PREFIX}b-vol`])
    expect(create.code).not.toBe(0)
    expect(create.stderr).toContain(`the volume name "${PREFIX}b-vol" is taken`)
    for (const args of [['volume', 'inspect', `${PREFIX}b-vol`], ['volume', 'rm', `${PREFIX}b-vol`]]) {
      expect((await as(ALICE, 'old', args)).stderr).toContain(`No such volume: ${PREFIX}b-vol`)
    }
    const mount = await as(ALICE, 'new', ['run', '--rm', '--network', 'none', '-v', `${PREFIX}b-vol:/x`, BUSYBOX_IMAGE, 'true'])
    expect(mount.stderr).toContain('[DG_TARGET_NAME_TAKEN]')
    // docker run -v NEW:/x: the engine would create NEW unlabelled; dockgate creates it first, alice's.
    ok(await as(ALICE, 'new', ['run', '--rm', '--network', 'none', '-v', `${PREFIX}a-new:/x`, BUSYBOX_IMAGE, 'touch', '/x/f']))
    expect((await call(engineSocket, 'GET', `/volumes/${PREFIX}a-new`)).json.Labels).toEqual({ 'dockgate.tenant': 'alice' })
    expect(ok(await as(ALICE, 'new', ['volume', 'ls', '-q'])).stdout.split('\n').filter((v) => v.startsWith(PREFIX))).toEqual([`${PREFIX}a-new`])
    expect(ok(await as(BOB, 'new', ['volume', 'ls', '-q'])).stdout.split('\n').filter((v) => v.startsWith(PREFIX))).toEqual([`${PREFIX}b-vol`])
  })

  test('networks: each sees its own; the other\'s cannot be joined, connected to or inspected; its name cannot be taken', async () => {
    ok(await as(ALICE, 'new', ['network', 'create', '--internal', `${PREFIX}a-net`]))
    const twin = await as(BOB, 'new', ['network', 'create', '--internal', `${PREFIX}a-net`])
    expect(twin.stderr).toContain(`network with name ${PREFIX}a-net already exists`)
    expect(twin.stderr).not.toMatch(/\(id : /)
    expect(ok(await as(BOB, 'new', ['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter((n) => n.startsWith(PREFIX))).toEqual([])
    for (const args of [['network', 'inspect', `${PREFIX}a-net`], ['network', 'rm', `${PREFIX}a-net`], ['network', 'connect', `${PREFIX}a-net`, `${PREFIX}b-web`]]) {
      expect((await as(BOB, 'new', args)).stderr, args.join(' ')).toContain(`No such network: ${PREFIX}a-net`)
    }
    // Bob's container on alice's network, never started (containers here never join a bridge).
    expect((await as(BOB, 'new', ['create', '--pull', 'never', '--network', `${PREFIX}a-net`, BUSYBOX_IMAGE])).stderr).toContain(`No such network: ${PREFIX}a-net`)
    // Alice's network connect of bob's container.
    expect((await as(ALICE, 'new', ['network', 'connect', `${PREFIX}a-net`, `${PREFIX}b-web`])).stderr).toContain(`No such container: ${PREFIX}b-web`)
    // The built-in networks are used, not looked at (an inspect lists every tenant's containers on them).
    expect((await as(ALICE, 'new', ['network', 'inspect', 'none'])).stderr).toContain('No such network: none')
    ok(await as(ALICE, 'new', ['network', 'rm', `${PREFIX}a-net`]))
  })
})

describe('docker-compose 1.29 in each tenant', () => {
  const compose = (uid: number, dir: string, project: string, ...args: string[]): Promise<RanAs> =>
    runAs(uid, ['docker-compose', '-p', project, ...args], { cwd: dir, env: { ...env, DOCKER_HOST: `unix://${socket}` } })

  test('up and down -v of the same project file: networks, volumes and containers stay each tenant\'s', async () => {
    const dir = join(scratch, 'compose')
    mkdirSync(dir, { mode: 0o755 })
    writeFileSync(join(dir, 'docker-compose.yml'), [
      'version: "3.7"',
      'services:',
      '  app:',
      `    image: ${BUSYBOX_IMAGE}`,
      '    command: ["sleep", "600"]',
      '    network_mode: none',
      '    volumes: ["data:/data"]',
      '  web:',
      `    image: ${BUSYBOX_IMAGE}`,
      '    command: ["sleep", "600"]',
      '    networks: [front]',
      'volumes:',
      '  data: {}',
      'networks:',
      '  front:',
      '    internal: true',
      '',
    ].join('\n'))
    chmodSync(join(dir, 'docker-compose.yml'), 0o644)
    // Containers on `front` are created, never started: nothing here joins a bridge network.
    for (const [uid, project] of [[ALICE, 'dgtena'], [BOB, 'dgtenb']] as const) {
      const up = await compose(uid, dir, project, 'up', '--no-start')
      expect(up.code, up.stderr).toBe(0)
      ok(await compose(uid, dir, project, 'start', 'app'))
    }
    const labelOf = async (path: string): Promise<string | undefined> => ((await call(engineSocket, 'GET', path)).json.Labels ?? (await call(engineSocket, 'GET', path)).json.Config?.Labels)?.['dockgate.tenant']
    expect(await labelOf('/volumes/dgtena_data')).toBe('alice')
    expect(await labelOf('/networks/dgtena_front')).toBe('alice')
    expect(await labelOf('/containers/dgtena_web_1/json')).toBe('alice')
    expect(await labelOf('/volumes/dgtenb_data')).toBe('bob')
    // Bob cannot take alice's project: its names are alice's.
    const clash = await compose(BOB, dir, 'dgtena', 'up', '--no-start')
    expect(clash.code).not.toBe(0)
    expect(clash.stderr).toMatch(/already exists|is taken/)
    const ps = ok(await compose(ALICE, dir, 'dgtena', 'ps'))
    expect(ps.stdout).toContain('dgtena_app_1')
    expect(ps.stdout).not.toContain('dgtenb')
    // Alice's down -v removes hers, and nothing of bob's.
    ok(await compose(ALICE, dir, 'dgtena', 'down', '-v'))
    expect((await call(engineSocket, 'GET', '/volumes/dgtena_data')).status).toBe(404)
    expect((await call(engineSocket, 'GET', '/networks/dgtena_front')).status).toBe(404)
    expect((await call(engineSocket, 'GET', '/containers/dgtenb_app_1/json')).json.State.Running).toBe(true)
    expect((await call(engineSocket, 'GET', '/volumes/dgtenb_data')).status).toBe(200)
    ok(await compose(BOB, dir, 'dgtenb', 'down', '-v'))
    expect(audits().filter((a) => a.decision === 'deny' && a.client.entry === 'bob' && a.operation === 'ContainerDelete')).toEqual([])
  })
})

describe('images: shared, and labelled when a tenant makes them', () => {
  test('builds (legacy and BuildKit) and commits carry the tenant\'s label, over a Dockerfile\'s or a --change of another', async () => {
    const ctx = join(scratch, 'ctx')
    mkdirSync(ctx, { mode: 0o755 })
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${BUSYBOX_IMAGE}\nLABEL dockgate.tenant=bob\nRUN echo built > /built\n`)
    chmodSync(join(ctx, 'Dockerfile'), 0o644)
    ok(await as(ALICE, 'old', ['build', '-q', '--network', 'none', '-t', `${PREFIX}legacy:1`, ctx], { env: { DOCKER_BUILDKIT: '0' } }))
    ok(await as(ALICE, 'old', ['build', '-q', '--network', 'none', '-t', `${PREFIX}buildkit:1`, ctx], { env: { DOCKER_BUILDKIT: '1' } }))
    ok(await as(ALICE, 'new', ['commit', '--change', 'LABEL dockgate.tenant=bob', `${PREFIX}a-web`, `${PREFIX}commit:1`]))
    for (const tag of ['legacy', 'buildkit', 'commit']) {
      expect((await call(engineSocket, 'GET', `/images/${PREFIX}${tag}:1/json`)).json.Config.Labels['dockgate.tenant'], tag).toBe('alice')
    }
    // Shared: bob runs alice's image.
    expect(ok(await as(BOB, 'new', ['run', '--rm', '--network', 'none', `${PREFIX}legacy:1`, 'cat', '/built'])).stdout).toBe('built\n')
    const hidden = await as(ALICE, 'new', ['commit', '--change', 'ENV X=1 \\', `${PREFIX}a-web`, `${PREFIX}commit:2`])
    expect(hidden.stderr).toContain('[DG_DENY_TENANT]')
  })

  test('prunes take the tenant\'s own objects only', async () => {
    ok(await as(ALICE, 'new', ['create', '--name', `${PREFIX}a-stopped`, '--network', 'none', BUSYBOX_IMAGE, 'true']))
    const adminStopped = await call(engineSocket, 'POST', `/containers/create?name=${PREFIX}admin-stopped`, { Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none' } })
    expect(adminStopped.status).toBe(201)
    ok(await as(BOB, 'new', ['container', 'prune', '-f']))
    expect((await call(engineSocket, 'GET', `/containers/${PREFIX}a-stopped/json`)).status).toBe(200)
    expect((await call(engineSocket, 'GET', `/containers/${PREFIX}admin-stopped/json`)).status).toBe(200)
    ok(await as(ALICE, 'new', ['container', 'prune', '-f']))
    expect((await call(engineSocket, 'GET', `/containers/${PREFIX}a-stopped/json`)).status).toBe(404)
    expect((await call(engineSocket, 'GET', `/containers/${PREFIX}admin-stopped/json`)).status).toBe(200)
    // Bob's image prune -a leaves alice's images (and the admin's busybox) alone; alice's takes hers.
    ok(await as(BOB, 'new', ['image', 'prune', '-a', '-f']))
    expect((await call(engineSocket, 'GET', `/images/${PREFIX}legacy:1/json`)).status).toBe(200)
    ok(await as(ALICE, 'new', ['image', 'prune', '-a', '-f']))
    expect((await call(engineSocket, 'GET', `/images/${PREFIX}legacy:1/json`)).status).toBe(404)
    expect((await call(engineSocket, 'GET', `/images/${BUSYBOX_IMAGE}/json`)).status).toBe(200)
  })
})
