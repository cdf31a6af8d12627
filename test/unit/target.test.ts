/**
 * target.ts and existing.ts without an engine: the effective create body of an existing container,
 * forwarding by full id, and the target step against an in-memory EngineClient that answers
 * as the engine does (the integration tests run the same checks against real engines).
 */
import { describe, expect, test } from 'vitest'
import { defaultMaskedPaths, effectiveCreateBody } from '../../src/existing.js'
import type { ContainerInfo, EngineClient, ExecInfo, VolumeInfo } from '../../src/engine-client.js'
import { guardFor } from '../../src/guards/index.js'
import { decodeBody, encodeBody } from '../../src/body/gojson.js'
import { normalize } from '../../src/normalize.js'
import { compilePolicyText, loadPolicy } from '../../src/policy/compile.js'
import { checkTargets, withTargetId } from '../../src/target.js'
import { SELF, SELF_ID } from './guards/helpers.js'

const MASKED_2010 = defaultMaskedPaths('20.10.24+dfsg1')
const MASKED_26 = defaultMaskedPaths('26.1.5')
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']
const ENGINE_2010 = { version: '20.10.24+dfsg1', cgroupVersion: '1' }

function container(id: string, name: string, host: Record<string, unknown> = {}, extra: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    Id: id,
    Name: `/${name}`,
    Config: { Image: 'busybox:test', Cmd: ['sh'] },
    HostConfig: { NetworkMode: 'none', MaskedPaths: MASKED_2010, ReadonlyPaths: READONLY, CgroupnsMode: 'host', Privileged: false, ...host },
    Mounts: [],
    AppArmorProfile: '',
    ...extra,
  }
}

describe('effectiveCreateBody', () => {
  test('the engine defaults of 20.10 and 26.1 differ by powercap', () => {
    expect(MASKED_26).toEqual([...MASKED_2010, '/sys/devices/virtual/powercap'])
    expect(defaultMaskedPaths('unparseable')).toEqual(MASKED_26)
  })
  test.each([
    { name: 'the engine default', host: {}, want: {} },
    { name: 'more masking than the default', host: { MaskedPaths: [...MASKED_2010, '/proc/cpuinfo'] }, want: {} },
    { name: 'masking off (empty list)', host: { MaskedPaths: [] }, want: { MaskedPaths: [] } },
    { name: 'the default minus /proc/kcore', host: { MaskedPaths: MASKED_2010.filter((p) => p !== '/proc/kcore') }, want: { MaskedPaths: MASKED_2010.filter((p) => p !== '/proc/kcore') } },
    { name: 'read-only paths off', host: { ReadonlyPaths: [] }, want: { ReadonlyPaths: [] } },
    { name: 'masked paths null', host: { MaskedPaths: null }, want: { MaskedPaths: [] } },
  ])('masked and read-only paths: $name', ({ host, want }) => {
    const body = JSON.parse(effectiveCreateBody(container('a'.repeat(64), 'x', host), ENGINE_2010)) as { HostConfig: Record<string, unknown> }
    const { MaskedPaths, ReadonlyPaths } = body.HostConfig
    expect({ ...(MaskedPaths === undefined ? {} : { MaskedPaths }), ...(ReadonlyPaths === undefined ? {} : { ReadonlyPaths }) }).toEqual(want)
  })
  test('a 26.1 container judged with 20.10 defaults still passes; a 20.10 list on 26.1 does not', () => {
    const on26 = JSON.parse(effectiveCreateBody(container('a'.repeat(64), 'x', { MaskedPaths: MASKED_2010 }), { version: '26.1.5', cgroupVersion: '1' })) as { HostConfig: Record<string, unknown> }
    expect(on26.HostConfig['MaskedPaths']).toEqual(MASKED_2010)
  })
  test('CgroupnsMode host is the default on cgroup v1 only', () => {
    const v1 = JSON.parse(effectiveCreateBody(container('a'.repeat(64), 'x'), ENGINE_2010)) as { HostConfig: Record<string, unknown> }
    const v2 = JSON.parse(effectiveCreateBody(container('a'.repeat(64), 'x'), { version: '26.1.5', cgroupVersion: '2' })) as { HostConfig: Record<string, unknown> }
    expect(v1.HostConfig['CgroupnsMode']).toBeUndefined()
    expect(v2.HostConfig['CgroupnsMode']).toBe('host')
  })
  test('effective mounts replace Binds and VolumesFrom; AppArmor unconfined is reported', () => {
    const info = container('a'.repeat(64), 'x', { Binds: ['/srv:/srv'], VolumesFrom: ['other'] }, {
      Mounts: [
        { Type: 'bind', Source: '/etc', Destination: '/host-etc', RW: false },
        { Type: 'volume', Name: 'data', Source: '/var/lib/docker/volumes/data/_data', Destination: '/data', RW: true, Driver: 'local' },
        { Type: 'tmpfs', Destination: '/run' },
      ],
      AppArmorProfile: 'unconfined',
    })
    const hc = (JSON.parse(effectiveCreateBody(info, ENGINE_2010)) as { HostConfig: Record<string, unknown> }).HostConfig
    expect(hc['Binds']).toBeUndefined()
    expect(hc['VolumesFrom']).toBeUndefined()
    expect(hc['Mounts']).toEqual([
      { Type: 'bind', Source: '/etc', Target: '/host-etc', ReadOnly: true },
      { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: false },
    ])
    expect(hc['SecurityOpt']).toEqual(['apparmor=unconfined'])
  })
})

describe('withTargetId', () => {
  test.each([
    ['exec by name', 'POST', '/v1.41/containers/web/exec', '/v1.41/containers/0123abcd/exec'],
    ['attach by prefix, with query', 'POST', '/containers/01/attach?stream=1&stdin=1', '/containers/0123abcd/attach?stream=1&stdin=1'],
    ['archive, with a path query', 'GET', '/containers/web/archive?path=/etc', '/containers/0123abcd/archive?path=%2Fetc'],
    ['a link name with a slash', 'GET', '/containers/web/db/export', '/containers/0123abcd/export'],
    ['commit names its container in the query', 'POST', '/commit?container=web&repo=x', '/commit?container=0123abcd&repo=x'],
  ])('%s is forwarded with the full id', (_n, method, url, target) => {
    expect(withTargetId(normalize(method, url), '0123abcd').target).toBe(target)
  })
})

/** An EngineClient over fixed containers, execs and volumes; resolves names, `/names` and id prefixes as the engine does. */
function fakeEngine(containers: ContainerInfo[], execs: ExecInfo[] = [], volumes: VolumeInfo[] = []): EngineClient & { lookups: string[] } {
  const lookups: string[] = []
  return {
    lookups,
    inspectContainer: (ref) => {
      lookups.push(`container ${ref}`)
      const name = ref.replace(/^\//, '')
      const found = containers.find((c) => c.Id === ref) ?? containers.find((c) => c.Name === `/${name}`) ?? (/^[0-9a-f]+$/.test(ref) ? containers.filter((c) => c.Id.startsWith(ref)) : []).at(0)
      return Promise.resolve(found)
    },
    inspectExec: (id) => {
      lookups.push(`exec ${id}`)
      return Promise.resolve(execs.find((e) => e.ID === id))
    },
    inspectVolume: (name) => Promise.resolve(volumes.find((v) => v.Name === name)),
    facts: () => Promise.resolve(ENGINE_2010),
    // Only a client with a tenant lists or creates anything (test/unit/tenant/).
    listContainers: () => Promise.reject(new Error('listed containers without a tenant')),
    listNetworks: () => Promise.reject(new Error('listed networks without a tenant')),
    createVolume: () => Promise.reject(new Error('created a volume without a tenant')),
  }
}

describe('checkTargets against an engine', () => {
  const plain = container('b'.repeat(64), 'web')
  const admin = container('c'.repeat(64), 'admin-priv', { Privileged: true })
  const unmasked = container('d'.repeat(64), 'unmasked', { MaskedPaths: [] })
  const me = container(SELF_ID, 'renamed-proxy')
  const binder = container('e'.repeat(64), 'binder', {}, { Mounts: [{ Type: 'volume', Name: 'rootvol', Destination: '/x', RW: true, Driver: 'local' }] })
  const engine = fakeEngine(
    [plain, admin, unmasked, me, binder],
    [
      { ID: '1'.repeat(64), ContainerID: plain.Id, ProcessConfig: { privileged: false, user: '' } },
      { ID: '2'.repeat(64), ContainerID: plain.Id, ProcessConfig: { privileged: true, user: '' } },
      { ID: '3'.repeat(64), ContainerID: me.Id, ProcessConfig: { privileged: false, user: '' } },
    ],
    [{ Name: 'rootvol', Driver: 'local', Options: { type: 'none', o: 'bind', device: '/' } }],
  )
  const policy = loadPolicy('container-operator')
  const ctx = { policy, self: { ids: [SELF_ID], names: [] }, engine, refuse: (e: Error) => { throw e } }
  const run = (method: string, url: string) => checkTargets(ctx, normalize(method, url), undefined, undefined)

  test.each([
    ['exec into a plain container by name', 'POST', '/v1.41/containers/web/exec', `/v1.41/containers/${plain.Id}/exec`],
    ['start by /name', 'POST', '/containers//web/start'.replace('//', '/'), `/containers/${plain.Id}/start`],
    ['kill by id prefix', 'POST', '/containers/bbbb/kill?signal=KILL', `/containers/${plain.Id}/kill?signal=KILL`],
    ['start a plain exec', 'POST', `/exec/${'1'.repeat(64)}/start`, `/exec/${'1'.repeat(64)}/start`],
  ])('%s is forwarded by full id', async (_n, method, url, target) => {
    expect((await run(method, url)).api.target).toBe(target)
  })

  test.each([
    ['exec into a privileged admin container', 'POST', '/containers/admin-priv/exec', 'DG_DENY_TARGET', /^ContainerExec denied by policy "container-operator": container admin-priv has what this policy does not allow in a container it creates: HostConfig\.Privileged=true needs guards\.container\.privileged \(guard container\.privileged; it is false in this policy\)$/],
    ['attach to a container with /proc unmasked', 'POST', '/containers/unmasked/attach', 'DG_DENY_TARGET', /^ContainerAttach denied by policy "container-operator": container unmasked has what this policy does not allow in a container it creates: HostConfig\.MaskedPaths=\[\] replaces the default masked\/read-only \/proc and \/sys paths \(needs systempaths=unconfined in guards\.container\.security_opt\) \(guard container\.system_paths; allowed now: none\)$/],
    ['exec into a container that mounts a bind-backed volume', 'POST', '/containers/binder/exec', 'DG_DENY_TARGET', new RegExp('^ContainerExec denied by policy "container-operator": container binder has what this policy does not allow in a container it creates: ' + [
      'Mounts[0] (volume rootvol: DriverOpts["type"])="none" bind-mounts a host path (needs guards.volumes.bind_options) (guard volume.options; it is false in this policy)',
      'Mounts[0] (volume rootvol: DriverOpts["o"])="bind" has option "bind", which bind-mounts a host path (needs guards.volumes.bind_options) (guard volume.options; it is false in this policy)',
      'Mounts[0] (volume rootvol: DriverOpts["device"])="/" is a host path (needs guards.volumes.bind_options) (guard volume.options; it is false in this policy)',
    ].map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('; ') + '$')],
    ['start a privileged exec someone else created', 'POST', `/exec/${'2'.repeat(64)}/start`, 'DG_DENY_TARGET', /^ExecStart denied by policy "container-operator": exec 222222222222 \(in container web\) has what this policy does not allow in an exec it creates: Privileged=true needs guards\.exec\.privileged \(guard exec\.privileged; it is false in this policy\)$/],
    ['start an exec in dockgate', 'POST', `/exec/${'3'.repeat(64)}/start`, 'DG_DENY_SELF', /^ExecStart denied by policy "container-operator": exec container="renamed-proxy" is dockgate's own container; no policy can allow this$/],
    ['kill dockgate by a name it cannot know', 'POST', '/containers/renamed-proxy/kill', 'DG_DENY_SELF', /^ContainerKill denied by policy "container-operator": params\.id="renamed-proxy" is dockgate's own container; no policy can allow this$/],
    ['stop dockgate by /name', 'POST', '/containers//renamed-proxy/stop'.replace('//', '/'), 'DG_DENY_SELF', /^ContainerStop denied by policy "container-operator": params\.id="renamed-proxy" is dockgate's own container; no policy can allow this$/],
    ['commit dockgate by name', 'POST', '/commit?container=renamed-proxy&repo=x', 'DG_DENY_SELF', /^ImageCommit denied by policy "container-operator": query\.container="renamed-proxy" is dockgate's own container; no policy can allow this$/],
    ['exec into a container that does not exist', 'POST', '/containers/ghost/exec', 'DG_TARGET_NOT_FOUND', /No such container: ghost/],
    ['start an exec that does not exist', 'POST', `/exec/${'9'.repeat(64)}/start`, 'DG_TARGET_NOT_FOUND', /No such exec instance/],
  ])('%s is refused', async (_n, method, url, code, message) => {
    await expect(run(method, url)).rejects.toMatchObject({ code, message: expect.stringMatching(message) })
  })

  test('reads are not looked up', async () => {
    const before = engine.lookups.length
    expect((await run('GET', '/containers/ghost/json')).api.target).toBe('/containers/ghost/json')
    expect(engine.lookups.length).toBe(before)
  })

  test('a loosened policy may enter what it could create', async () => {
    const loose = compilePolicyText('extends: [container-operator]\nguards:\n  container:\n    privileged: true\n')
    const out = await checkTargets({ ...ctx, policy: loose }, normalize('POST', '/containers/admin-priv/exec'), undefined, undefined)
    expect(out.api.params['id']).toBe(admin.Id)
  })

  test('body references are resolved, checked and rewritten to full ids', async () => {
    const guard = guardFor('ContainerCreate')!
    const loose = compilePolicyText('extends: [container-operator]\nguards:\n  container:\n    volumes_from: ["*"]\n    namespaces: { network: ["container:*"] }\n')
    const body = decodeBody(Buffer.from('{"Image":"busybox:test","HostConfig":{"NetworkMode":"container:web","VolumesFrom":["web:ro"]}}'), guard.shape)
    const out = await checkTargets({ ...ctx, policy: loose }, normalize('POST', '/containers/create'), guard, body)
    expect(encodeBody(out.body!)).toContain(`"NetworkMode":"container:${plain.Id}"`)
    expect(encodeBody(out.body!)).toContain(`"VolumesFrom":["${plain.Id}:ro"]`)
    const selfish = decodeBody(Buffer.from('{"Image":"busybox:test","HostConfig":{"NetworkMode":"container:renamed-proxy"}}'), guard.shape)
    await expect(checkTargets({ ...ctx, policy: loose }, normalize('POST', '/containers/create'), guard, selfish)).rejects.toMatchObject({ code: 'DG_DENY_SELF' })
    const inherit = decodeBody(Buffer.from('{"Image":"busybox:test","HostConfig":{"VolumesFrom":["binder"]}}'), guard.shape)
    await expect(checkTargets({ ...ctx, policy: loose }, normalize('POST', '/containers/create'), guard, inherit)).rejects.toMatchObject({ code: 'DG_DENY_BODY', message: expect.stringMatching(/VolumesFrom\[0\] \(container binder: Mounts\[0\]/) })
  })

  test('a service mounting an existing bind-backed volume by name is refused; a fresh name passes', async () => {
    const guard = guardFor('ServiceCreate')!
    const spec = (vol: string) => decodeBody(Buffer.from(`{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"busybox:test","Mounts":[{"Type":"volume","Source":"${vol}","Target":"/x"}]}}}`), guard.shape)
    await expect(checkTargets(ctx, normalize('POST', '/services/create'), guard, spec('rootvol'))).rejects.toMatchObject({ code: 'DG_DENY_BODY', message: expect.stringMatching(/TaskTemplate\.ContainerSpec\.Mounts\[0\] \(volume rootvol: /) })
    await expect(checkTargets(ctx, normalize('POST', '/services/create'), guard, spec('fresh'))).resolves.toMatchObject({ api: { path: '/services/create' } })
  })

  test('in audit-only mode a target refusal is recorded and the request goes on, by full id', async () => {
    const kept: Array<{ code: string }> = []
    const out = await checkTargets({ ...ctx, refuse: (e) => void kept.push(e as { code: string }) }, normalize('POST', '/containers/admin-priv/exec'), undefined, undefined)
    expect(kept.map((e) => e.code)).toEqual(['DG_DENY_TARGET'])
    expect(out.api.params['id']).toBe(admin.Id)
  })

  test('an unguarded policy looks nothing up', async () => {
    const before = engine.lookups.length
    await checkTargets({ ...ctx, policy: loadPolicy('full') }, normalize('POST', '/containers/admin-priv/exec'), undefined, undefined)
    expect(engine.lookups.length).toBe(before)
  })
})

describe('self identity', () => {
  test('the static check refuses dockgate by a known name without asking the engine', async () => {
    const engine = fakeEngine([])
    await expect(checkTargets({ policy: loadPolicy('container-operator'), self: SELF, engine, refuse: (e) => { throw e } }, normalize('POST', '/containers/dockgate/kill'), undefined, undefined)).rejects.toMatchObject({ code: 'DG_DENY_SELF' })
    expect(engine.lookups).toEqual([])
  })
})
