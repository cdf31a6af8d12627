/**
 * What a tenant creates, and what its bodies name: the label dockgate writes (tenant/labels.ts),
 * the references it resolves among the tenant's objects (tenant/references.ts, target.ts), the
 * names it cannot take, and the named volumes it creates first — through the whole admission path
 * against the in-memory engine of engine.ts.
 */
import { describe, expect, test } from 'vitest'
import { admit, type Admitted } from '../../../src/admission.js'
import type { DockgateError } from '../../../src/errors.js'
import { compilePolicyText } from '../../../src/policy/compile.js'
import { container, fakeEngine, type FakeEngine } from './engine.js'

const POLICY = compilePolicyText([
  'rules:', '  - allow: "* /**"',
  'guards:', '  images: { import: true }', '  container: { volumes_from: ["*"], namespaces: { ipc: ["container:*"] } }',
].join('\n') + '\n')
const A = 'ab' + '1'.repeat(62)
const B = 'ab' + '2'.repeat(62)
const ADMIN = 'ef' + '3'.repeat(62)
const NET = { a: 'a0'.repeat(32), a2: 'a1'.repeat(32), b: 'b0'.repeat(32), none: 'c0'.repeat(32) }

function world(): FakeEngine {
  return fakeEngine({
    containers: [container(A, 'alice-web', 'alice'), container(B, 'bob-web', 'bob'), container(ADMIN, 'admin-web')],
    networks: [
      { Id: NET.a, Name: 'alice-net', Labels: { 'dockgate.tenant': 'alice' } },
      // Two networks called "shared" (dockerd before 25.0 allowed that): the name no longer names one for the engine.
      { Id: NET.a2, Name: 'shared', Labels: { 'dockgate.tenant': 'alice' } },
      { Id: NET.b, Name: 'shared', Labels: { 'dockgate.tenant': 'bob' } },
      { Id: NET.none, Name: 'none', Labels: {} },
    ],
    volumes: [
      { Name: 'alice-vol', Driver: 'local', Labels: { 'dockgate.tenant': 'alice' } },
      { Name: 'bob-vol', Driver: 'local', Labels: { 'dockgate.tenant': 'bob' } },
      { Name: 'admin-vol', Driver: 'local', Labels: null },
    ],
  })
}

async function send(engine: FakeEngine, method: string, url: string, body?: unknown): Promise<Admitted> {
  const bytes = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8')
  const headers: Record<string, string> = { host: 'localhost', ...(bytes ? { 'content-type': 'application/json', 'content-length': String(bytes.length) } : {}) }
  const rawHeaders = Object.entries(headers).flat()
  return admit({ policy: POLICY, self: { ids: [], names: [] }, engine, mode: 'enforce', bodyLimit: 1 << 20, tenant: 'alice' },
    { method, url, httpVersion: '1.1', headers, rawHeaders, upgrade: false }, () => bytes ?? Buffer.alloc(0))
}
const refused = (p: Promise<Admitted>): Promise<DockgateError> => p.then(() => { throw new Error('admitted') }, (e: DockgateError) => e)
const forwarded = async (p: Promise<Admitted>): Promise<Record<string, unknown>> => JSON.parse((await p).body!.toString()) as Record<string, unknown>
const IMG = 'busybox:test'

describe('the label on what a tenant creates', () => {
  test.each([
    ['ContainerCreate without labels', '/containers/create', { Image: IMG }, { Image: IMG, Labels: { 'dockgate.tenant': 'alice' } }],
    ['ContainerCreate with labels of its own', '/containers/create', { Image: IMG, Labels: { app: 'web' } }, { Image: IMG, Labels: { app: 'web', 'dockgate.tenant': 'alice' } }],
    ['ContainerCreate naming its own tenant', '/containers/create', { Image: IMG, labels: { 'dockgate.tenant': 'alice' } }, { Image: IMG, labels: { 'dockgate.tenant': 'alice' } }],
    ['ContainerCreate with Labels null', '/containers/create', { Image: IMG, Labels: null }, { Image: IMG, Labels: { 'dockgate.tenant': 'alice' } }],
    ['a case variant of the label key is another label', '/containers/create', { Image: IMG, Labels: { 'Dockgate.Tenant': 'bob' } }, { Image: IMG, Labels: { 'Dockgate.Tenant': 'bob', 'dockgate.tenant': 'alice' } }],
    ['an anonymous volume mount gets the label too', '/containers/create', { Image: IMG, HostConfig: { Mounts: [{ Type: 'volume', Target: '/data' }] } },
      { Image: IMG, HostConfig: { Mounts: [{ Type: 'volume', Target: '/data', VolumeOptions: { Labels: { 'dockgate.tenant': 'alice' } } }] }, Labels: { 'dockgate.tenant': 'alice' } }],
    ['VolumeCreate', '/volumes/create', { Name: 'fresh' }, { Name: 'fresh', Labels: { 'dockgate.tenant': 'alice' } }],
    ['VolumeCreate with an empty body', '/volumes/create', '', { Labels: { 'dockgate.tenant': 'alice' } }],
    ['NetworkCreate: the label, and CheckDuplicate on', '/networks/create', { Name: 'front', CheckDuplicate: false }, { Name: 'front', CheckDuplicate: true, Labels: { 'dockgate.tenant': 'alice' } }],
  ])('%s', async (_n, url, body, want) => {
    expect(await forwarded(send(world(), 'POST', url, body))).toEqual(want)
  })

  test.each([
    ['ContainerCreate labelled for bob', '/containers/create', { Image: IMG, Labels: { 'dockgate.tenant': 'bob' } }, /Labels\.dockgate\.tenant="bob" names another tenant/],
    ['an empty value is another value', '/containers/create', { Image: IMG, Labels: { 'dockgate.tenant': '' } }, /names another tenant/],
    ['VolumeCreate labelled for bob', '/volumes/create', { Name: 'x', Labels: { 'dockgate.tenant': 'bob' } }, /names another tenant/],
    ['NetworkCreate labelled for bob', '/networks/create', { Name: 'x', Labels: { 'dockgate.tenant': 'bob' } }, /names another tenant/],
    ['a mount\'s new volume labelled for bob', '/containers/create', { Image: IMG, HostConfig: { Mounts: [{ Type: 'volume', Source: 'v', Target: '/v', VolumeOptions: { Labels: { 'dockgate.tenant': 'bob' } } }] } }, /Mounts\[0\]\.VolumeOptions\.Labels/],
    ['an anonymous mount labelled for bob', '/containers/create', { Image: IMG, HostConfig: { Mounts: [{ Type: 'volume', Target: '/v', VolumeOptions: { Labels: { 'dockgate.tenant': 'bob' } } }] } }, /names another tenant/],
    ['Labels that are not an object', '/containers/create', { Image: IMG, Labels: ['dockgate.tenant=bob'] }, /Labels is not an object/],
  ])('%s is refused', async (_n, url, body, message) => {
    const engine = world()
    const e = await refused(send(engine, 'POST', url, body))
    expect(e.code).toBe('DG_DENY_TENANT')
    expect(e.message).toMatch(message)
    expect(engine.created).toEqual([])
  })

  test.each([
    ['a build: labels query, over the Dockerfile\'s', '/build?t=app&labels=%7B%22a%22%3A%22b%22%7D', 'labels', ['{"a":"b","dockgate.tenant":"alice"}']],
    ['a build without labels', '/build?t=app', 'labels', ['{"dockgate.tenant":"alice"}']],
    ['a build with labels=null', '/build?labels=null', 'labels', ['{"dockgate.tenant":"alice"}']],
    ['a commit: one LABEL line after the client\'s', '/commit?container=alice-web&changes=CMD%20%5B%22sh%22%5D', 'changes', ['CMD ["sh"]', 'LABEL dockgate.tenant=alice']],
    ['a commit naming another tenant in its own LABEL: ours comes last and wins', '/commit?container=alice-web&changes=LABEL%20dockgate.tenant%3Dbob', 'changes', ['LABEL dockgate.tenant=bob', 'LABEL dockgate.tenant=alice']],
    ['an import', '/images/create?fromSrc=-&repo=x', 'changes', ['LABEL dockgate.tenant=alice']],
    ['a pull is not labelled (the registry\'s image)', '/images/create?fromImage=busybox&tag=test', 'changes', []],
  ])('%s', async (_n, url, param, want) => {
    const out = await send(world(), 'POST', url)
    expect(out.api.query.getAll(param)).toEqual(want)
    expect(out.api.target).toContain(out.api.rawQuery)
  })

  test.each([
    ['a build labelled for bob', '/build?labels=%7B%22dockgate.tenant%22%3A%22bob%22%7D'],
    ['labels given twice', '/build?labels=%7B%7D&labels=%7B%22dockgate.tenant%22%3A%22bob%22%7D'],
    ['labels that are not JSON', '/build?labels=dockgate.tenant%3Dbob'],
    ['a label value that is not a string', '/build?labels=%7B%22a%22%3A1%7D'],
    ['a changes line ending in \\ (it would swallow the LABEL line)', '/commit?container=alice-web&changes=ENV%20X%3D1%20%5C'],
    ['\\ followed by a comment line (continuations skip comments)', '/commit?container=alice-web&changes=ENV%20X%3D1%20%5C&changes=%23%20c'],
    ['` after an escape directive', '/commit?container=alice-web&changes=%23%20escape%3D%60&changes=ENV%20X%3D1%20%60'],
    ['a heredoc', '/images/create?fromSrc=-&changes=ONBUILD%20RUN%20%3C%3CEOF'],
  ])('%s is refused', async (_n, url) => {
    expect((await refused(send(world(), 'POST', url))).code).toBe('DG_DENY_TENANT')
  })
})

describe('what a tenant\'s bodies name', () => {
  test('its own containers and networks are named by full id (or a name only it holds)', async () => {
    const body = await forwarded(send(world(), 'POST', '/containers/create', {
      Image: IMG,
      HostConfig: { NetworkMode: 'alice-net', VolumesFrom: ['alice-web:ro'], Links: ['/alice-web:db'] },
      NetworkingConfig: { EndpointsConfig: { 'alice-net': { Links: ['alice-web:web'], Aliases: ['a'] } } },
    }))
    expect(body['HostConfig']).toEqual({ NetworkMode: 'alice-net', VolumesFrom: [`${A}:ro`], Links: [`${A}:db`] })
    expect(body['NetworkingConfig']).toEqual({ EndpointsConfig: { 'alice-net': { Links: [`${A}:web`], Aliases: ['a'] } } })
  })

  test('a network name two networks share, or an id prefix, is forwarded as the full id — in NetworkMode and the EndpointsConfig key alike', async () => {
    for (const ref of ['shared', NET.a2.slice(0, 6)]) {
      const body = await forwarded(send(world(), 'POST', '/containers/create', { Image: IMG, HostConfig: { NetworkMode: ref }, NetworkingConfig: { EndpointsConfig: { [ref]: { Links: ['alice-web'] } } } }))
      expect(body['HostConfig']).toEqual({ NetworkMode: NET.a2 })
      expect(body['NetworkingConfig']).toEqual({ EndpointsConfig: { [NET.a2]: { Links: [`${A}:alice-web`] } } })
    }
  })

  test('two EndpointsConfig keys for one network are refused (Go keeps the last)', async () => {
    const e = await refused(send(world(), 'POST', '/containers/create', { Image: IMG, NetworkingConfig: { EndpointsConfig: { 'alice-net': {}, [NET.a.slice(0, 8)]: {} } } }))
    expect(e.code).toBe('DG_REQ_BAD_BODY')
  })

  test.each([
    ['VolumesFrom', { HostConfig: { VolumesFrom: ['bob-web'] } }, 'No such container: bob-web'],
    ['a container: namespace', { HostConfig: { IpcMode: 'container:admin-web' } }, 'No such container: admin-web'],
    ['a link', { HostConfig: { Links: ['bob-web:db'] } }, 'No such container: bob-web'],
    ['an endpoint link', { NetworkingConfig: { EndpointsConfig: { 'alice-net': { Links: [`${B.slice(0, 12)}:x`] } } } }, `No such container: ${B.slice(0, 12)}`],
    ['NetworkMode naming bob\'s network', { HostConfig: { NetworkMode: 'bob-net' } }, 'No such network: bob-net'],
    ['an EndpointsConfig key naming bob\'s network by id', { NetworkingConfig: { EndpointsConfig: { [NET.b]: {} } } }, `No such network: ${NET.b}`],
    ['an endpoint\'s NetworkID', { NetworkingConfig: { EndpointsConfig: { 'alice-net': { NetworkID: NET.b } } } }, `No such network: ${NET.b}`],
  ])('%s of another tenant or an admin: as absent', async (_n, extra, message) => {
    const e = await refused(send(world(), 'POST', '/containers/create', { Image: IMG, ...extra }))
    expect([e.code, e.message]).toEqual(['DG_TARGET_NOT_FOUND', message])
  })

  test('built-in networks are used by name or id (they are shared)', async () => {
    const body = await forwarded(send(world(), 'POST', '/containers/create', { Image: IMG, HostConfig: { NetworkMode: 'none' }, NetworkingConfig: { EndpointsConfig: { none: {}, [NET.none]: {} } } }))
    expect(Object.keys((body['NetworkingConfig'] as { EndpointsConfig: object }).EndpointsConfig)).toEqual(['none', NET.none])
  })

  test('a network connect: the container must be the tenant\'s too', async () => {
    const e = await refused(send(world(), 'POST', '/networks/alice-net/connect', { Container: 'bob-web' }))
    expect([e.code, e.message]).toEqual(['DG_TARGET_NOT_FOUND', 'No such container: bob-web'])
    const out = await send(world(), 'POST', '/networks/alice-net/connect', { Container: 'alice-web', EndpointConfig: { Links: ['alice-web:self'] } })
    expect(out.api.path).toBe(`/networks/${NET.a}/connect`)
    expect(JSON.parse(out.body!.toString())).toEqual({ Container: A, EndpointConfig: { Links: [`${A}:self`] } })
  })
})

describe('named volumes and names', () => {
  test('a named volume that does not exist yet is created first, labelled, with the mount\'s driver options', async () => {
    const engine = world()
    await send(engine, 'POST', '/containers/create', { Image: IMG, HostConfig: {
      Binds: ['fresh:/a'],
      Mounts: [{ Type: 'volume', Source: 'fresh2', Target: '/b', VolumeOptions: { Labels: { x: 'y' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } }],
    } })
    expect(engine.created).toEqual([
      { Name: 'fresh', Driver: 'local', Options: null, Labels: { 'dockgate.tenant': 'alice' } },
      { Name: 'fresh2', Driver: 'local', Options: { type: 'tmpfs', device: 'tmpfs' }, Labels: { x: 'y', 'dockgate.tenant': 'alice' } },
    ])
  })

  test('its own volume is mounted as it is; nothing is created', async () => {
    const engine = world()
    await send(engine, 'POST', '/containers/create', { Image: IMG, HostConfig: { Binds: ['alice-vol:/a'] } })
    expect(engine.created).toEqual([])
  })

  test.each([['bob-vol'], ['admin-vol']])('mounting %s: the name is taken (the engine would mount that volume)', async (name) => {
    const engine = world()
    const e = await refused(send(engine, 'POST', '/containers/create', { Image: IMG, HostConfig: { Binds: ['fresh:/a', `${name}:/b`] } }))
    expect([e.code, e.status, e.message]).toEqual(['DG_TARGET_NAME_TAKEN', 409, `the volume name "${name}" is taken by an object this client cannot see (another tenant's, or the engine administrator's); choose another name`])
    // Refused before anything was created.
    expect(engine.created).toEqual([])
  })

  test.each([
    ['ContainerCreate', '/containers/create?name=bob-web', { Image: IMG }],
    ['ContainerCreate, an admin\'s name', '/containers/create?name=admin-web', { Image: IMG }],
    ['ContainerRename', '/containers/alice-web/rename?name=bob-web', undefined],
    ['VolumeCreate', '/volumes/create', { Name: 'bob-vol' }],
  ])('%s to a name another tenant holds: taken, without saying whose', async (_n, url, body) => {
    const e = await refused(send(world(), 'POST', url, body))
    expect([e.code, e.status]).toEqual(['DG_TARGET_NAME_TAKEN', 409])
    expect(e.message).toMatch(/^the (container|volume) name "(bob-web|admin-web|bob-vol)" is taken by an object this client cannot see \(another tenant's, or the engine administrator's\); choose another name$/)
  })

  test('a name the tenant holds itself is the engine\'s to answer (its conflict names the tenant\'s own container)', async () => {
    expect((await send(world(), 'POST', '/containers/create?name=alice-web', { Image: IMG })).api.query.get('name')).toBe('alice-web')
    expect((await send(world(), 'POST', '/volumes/create', { Name: 'alice-vol' })).body).toBeDefined()
  })

  test('ContainerList since/before name the tenant\'s containers, by full id; another\'s is absent', async () => {
    const out = await send(world(), 'GET', `/containers/json?filters=${encodeURIComponent('{"since":["alice-web"]}')}`)
    expect(JSON.parse(out.api.query.get('filters')!)).toEqual({ since: { [A]: true }, label: { 'dockgate.tenant=alice': true } })
    const e = await refused(send(world(), 'GET', `/containers/json?filters=${encodeURIComponent('{"before":["bob-web"]}')}`))
    expect([e.code, e.message]).toEqual(['DG_TARGET_NOT_FOUND', 'No such container: bob-web'])
  })

  test('a build joins the tenant\'s network by full id; another\'s is absent', async () => {
    expect((await send(world(), 'POST', '/build?networkmode=alice-net')).api.query.get('networkmode')).toBe(NET.a)
    expect((await send(world(), 'POST', '/build?networkmode=none')).api.query.get('networkmode')).toBe('none')
    expect((await refused(send(world(), 'POST', '/build?networkmode=bob-net'))).code).toBe('DG_TARGET_NOT_FOUND')
  })
})
