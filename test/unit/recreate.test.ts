/**
 * The updater re-create allowance (recreate/) through the admission steps, against an in-memory
 * engine that answers as dockerd 20.10 on cgroup v1 does, with a clock the test moves: the removal
 * is remembered from the engine, the re-create under the same name may have exactly what the old
 * container had, then start; additions, another name, a late re-create, a second one, another
 * policy, and exec are refused. (test/integration/recreate.test.ts runs it against the real engine.)
 */
import { describe, expect, test } from 'vitest'
import { admit, type Admitted } from '../../src/admission.js'
import type { ContainerInfo, EngineClient } from '../../src/engine-client.js'
import { defaultMaskedPaths } from '../../src/existing.js'
import { DockgateError, isDockgateError } from '../../src/errors.js'
import { loadPolicy, type CompiledPolicy } from '../../src/policy/compile.js'
import { decodeBody } from '../../src/body/gojson.js'
import { containerCreateGuard } from '../../src/guards/container-create.js'
import { recreateCreate } from '../../src/recreate/allow.js'
import { RecreateStore, scopeKey } from '../../src/recreate/store.js'
import { RECREATE_FROM_INSPECT } from './policy/tool-calls.js'

const OLD_ID = 'a'.repeat(64)
const NEW_ID = 'b'.repeat(64)
const FACTS = { version: '20.10.24+dfsg1', cgroupVersion: '1' }

/** `docker run -d --name web --network none -v /srv/data:/data:ro --cap-add NET_ADMIN busybox:test sleep 300`, as inspect shows it. */
function webInfo(id: string, host: Record<string, unknown> = {}, config: Record<string, unknown> = {}): ContainerInfo {
  const { HostConfig, NetworkingConfig: _n, ...cfg } = RECREATE_FROM_INSPECT
  return {
    Id: id,
    Name: '/web',
    Config: { ...cfg, ...config },
    HostConfig: { ...HostConfig, Binds: ['/srv/data:/data:ro'], CapAdd: ['NET_ADMIN'], MaskedPaths: defaultMaskedPaths(FACTS.version), ...host },
    Mounts: [{ Type: 'bind', Source: '/srv/data', Destination: '/data', RW: false }],
    AppArmorProfile: '',
  }
}

/** What an updater sends to re-create `info`: its Config, HostConfig and networks (containrrr/watchtower GetCreateConfig). */
function copyOf(info: ContainerInfo, host: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...info.Config, ...config, HostConfig: { ...info.HostConfig, ...host }, NetworkingConfig: RECREATE_FROM_INSPECT.NetworkingConfig }
}

/** An engine holding the given containers by id and name (replaceable as the test goes). */
function engine(containers: ContainerInfo[]): EngineClient & { containers: ContainerInfo[] } {
  return {
    containers,
    inspectContainer(ref) {
      const name = ref.replace(/^\//, '')
      return Promise.resolve(this.containers.find((c) => c.Id === ref || c.Name === `/${name}`))
    },
    inspectExec: () => Promise.resolve(undefined),
    inspectVolume: () => Promise.resolve(undefined),
    facts: () => Promise.resolve(FACTS),
    listContainers: () => Promise.reject(new Error('not used by the re-create check')),
    listNetworks: () => Promise.reject(new Error('not used by the re-create check')),
    createVolume: () => Promise.reject(new Error('not used by the re-create check')),
  }
}

interface World {
  readonly store: RecreateStore
  readonly engine: ReturnType<typeof engine>
  clock: number
  send(policy: CompiledPolicy, method: string, url: string, body?: unknown): Promise<Admitted>
  /** Sends, answers with `status` as the engine would, and returns the code of a refusal or 'ok'. */
  step(policy: CompiledPolicy, method: string, url: string, status: number, body?: unknown): Promise<string>
}

function world(): World {
  const w: World = {
    store: undefined as unknown as RecreateStore,
    engine: engine([webInfo(OLD_ID)]),
    clock: 1_000_000,
    async send(policy, method, url, body) {
      const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
      const headers: Record<string, string> = { host: 'localhost', ...(bytes ? { 'content-type': 'application/json', 'content-length': String(bytes.length) } : {}) }
      const raw = Object.entries(headers).flat()
      return admit(
        { policy, self: { ids: [], names: [] }, engine: w.engine, mode: 'enforce', bodyLimit: 1 << 20, recreate: w.store },
        { method, url, httpVersion: '1.1', headers, rawHeaders: raw, upgrade: false },
        () => bytes ?? Buffer.alloc(0),
      )
    },
    async step(policy, method, url, status, body) {
      try {
        const a = await w.send(policy, method, url, body)
        a.onEngineStatus?.(status)
        return 'ok'
      } catch (err) {
        if (!isDockgateError(err)) throw err
        return `${err.code}: ${err.message}`
      }
    },
  }
  ;(w as { store: RecreateStore }).store = new RecreateStore(() => w.clock)
  return w
}

const watchtower = loadPolicy('watchtower')
const hooks = loadPolicy('watchtower-hooks')

/** Removes web through `policy` (watchtower's kill, then DELETE ?force=1), as the engine confirms. */
async function removeWeb(w: World, policy: CompiledPolicy = watchtower, status = 204): Promise<void> {
  expect(await w.step(policy, 'POST', '/v1.25/containers/web/kill?signal=SIGTERM', 204)).toBe('ok')
  expect(await w.step(policy, 'DELETE', `/v1.25/containers/${OLD_ID}?force=1`, status)).toBe('ok')
  if (status === 204) w.engine.containers = []
}

const create = (w: World, body: unknown, name = 'web', policy = watchtower): Promise<string> => w.step(policy, 'POST', `/v1.25/containers/create?name=${name}`, 201, body)

describe('the updater re-create allowance', () => {
  test('inspect, kill, remove, re-create under the same name, start: each step passes, the start only for the re-created container', async () => {
    const w = world()
    const old = webInfo(OLD_ID)
    await removeWeb(w)
    const a = await w.send(watchtower, 'POST', '/v1.25/containers/create?name=web', copyOf(old))
    expect(a.note).toMatch(/^re-creates container web, removed 0 s ago through this policy, with what it had: container\.capabilities, container\.binds$/)
    a.onEngineStatus?.(201)
    w.engine.containers = [webInfo(NEW_ID)]
    w.clock += 5_000
    const start = await w.send(watchtower, 'POST', `/v1.25/containers/${NEW_ID}/start`)
    expect(start.note).toMatch(/^starts container web, re-created 5 s ago through this policy, with what it inherited$/)
    expect(start.api.target).toBe(`/v1.25/containers/${NEW_ID}/start`)
  })

  test('the same without a removal: the create is refused with what the guards refuse, and says why no re-create applies', async () => {
    const w = world()
    const r = await create(w, copyOf(webInfo(OLD_ID)))
    expect(r).toMatch(/^DG_DENY_BODY: ContainerCreate denied by policy "watchtower": HostConfig\.CapAdd\[0\]="NET_ADMIN" adds CAP_NET_ADMIN, which is not in guards\.container\.capabilities \(guard container\.capabilities; allowed now: none\); /)
    expect(r).toContain('; HostConfig.Binds[0]="/srv/data:/data:ro" mounts host path /srv/data, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: no host paths); ')
    expect(r).toMatch(/; query\.name="web" gets no re-create allowance: no container of this name was removed through policy "watchtower" in the last 600 s, so the create is checked as a new container \(guard container\.recreate\)$/)
  })

  /** The refusal of a re-create that adds something: that addition, then why the re-create allowance does not cover it. */
  const ADDED = (violation: string): string =>
    `DG_DENY_BODY: ContainerCreate denied by policy "watchtower": ${violation}; query.name="web" re-creates the container removed 0 s ago, which did not have the others listed (guard container.recreate)`

  test.each([
    ['another bind', { Binds: ['/srv/data:/data:ro', '/etc:/etc'] }, {}, 'HostConfig.Binds[1]="/etc:/etc" mounts host path /etc, which is not in guards.container.binds (guard container.binds; allowed now: /srv/data read-only)'],
    ['the same bind writable', { Binds: ['/srv/data:/data'] }, {}, 'HostConfig.Binds[0]="/srv/data:/data" mounts host path /srv/data writable, which guards.container.binds allows only read-only (guard container.binds; allowed now: /srv/data read-only)'],
    ['the docker socket', { Binds: ['/srv/data:/data:ro', '/var/run/docker.sock:/var/run/docker.sock'] }, {}, 'HostConfig.Binds[1]="/var/run/docker.sock:/var/run/docker.sock" mounts host path /var/run/docker.sock, which is not in guards.container.binds (guard container.binds; allowed now: /srv/data read-only)'],
    ['another capability', { CapAdd: ['NET_ADMIN', 'SYS_ADMIN'] }, {}, 'HostConfig.CapAdd[1]="SYS_ADMIN" adds CAP_SYS_ADMIN, which is not in guards.container.capabilities (guard container.capabilities; allowed now: CAP_NET_ADMIN)'],
    ['privileged', { Privileged: true }, {}, 'HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)'],
    ['the host network', { NetworkMode: 'host' }, {}, 'HostConfig.NetworkMode="host" is not in guards.container.namespaces.network (guard container.namespaces; allowed now: none)'],
    ['masking fewer paths than the engine default', { MaskedPaths: ['/proc/kcore'] }, {}, 'HostConfig.MaskedPaths=["/proc/kcore"] replaces the default masked/read-only /proc and /sys paths (needs systempaths=unconfined in guards.container.security_opt) (guard container.system_paths; allowed now: none)'],
    ['another command', {}, { Cmd: ['sh', '-c', 'evil'] }, 'Cmd=["sh","-c","evil"] is not the removed container\'s; a re-create keeps Cmd as it was, or unset for the image\'s default (guard container.recreate)'],
    ['another entrypoint', {}, { Entrypoint: ['/bin/sh'] }, 'Entrypoint=["/bin/sh"] is not the removed container\'s; a re-create keeps Entrypoint as it was, or unset for the image\'s default (guard container.recreate)'],
    ['another user', {}, { User: '0' }, 'User="0" is not the removed container\'s; a re-create keeps User as it was, or unset for the image\'s default (guard container.recreate)'],
    ['another image repository', {}, { Image: 'evil/busybox:test' }, 'Image="evil/busybox:test" is not of the removed container\'s image repository (busybox:test); a re-create may change only the tag or digest (guard container.recreate)'],
    ['a new environment variable', {}, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LD_PRELOAD=/x.so'] }, 'Env[1]="LD_PRELOAD" is not in the removed container\'s environment (values are not shown) (guard container.recreate)'],
    ['a new health check (a command the engine runs inside)', {}, { Healthcheck: { Test: ['CMD', 'evil'] } }, 'Healthcheck={"Test":["CMD","evil"]} is not the removed container\'s; a re-create keeps Healthcheck as it was, or unset for the image\'s default (guard container.recreate)'],
    ['another shell (it runs CMD-SHELL health checks)', {}, { Shell: ['sh', '-c', 'evil;'] }, 'Shell=["sh","-c","evil;"] is not the removed container\'s; a re-create keeps Shell as it was, or unset for the image\'s default (guard container.recreate)'],
    ['a published port', { PortBindings: { '2375/tcp': [{ HostIp: '0.0.0.0', HostPort: '2375' }] } }, {}, 'HostConfig.PortBindings["2375/tcp"][0]="{\\"HostIp\\":\\"0.0.0.0\\",\\"HostPort\\":\\"2375\\"}" publishes a port the removed container did not (guard container.recreate)'],
    ['all ports published', { PublishAllPorts: true }, {}, 'HostConfig.PublishAllPorts=true publishes ports the removed container did not (guard container.recreate)'],
  ])('an addition is refused: %s', async (_n, host, config, violation) => {
    const w = world()
    await removeWeb(w)
    // The whole message: only the addition is listed (not what the old container had, CapAdd[0]="NET_ADMIN"),
    // and what is allowed now is what the re-create inherits.
    expect(await create(w, copyOf(webInfo(OLD_ID), host, config))).toBe(ADDED(violation))
  })

  test.each([
    ['a new tag of the same repository (the update itself)', { Image: 'busybox:1.37' }],
    ['the same repository by another spelling and a digest', { Image: `docker.io/library/busybox@sha256:${'c'.repeat(64)}` }],
    ['Cmd, Entrypoint, User and Healthcheck unset (the new image\'s defaults), Env and Labels fewer', { Cmd: null, Entrypoint: null, User: '', Healthcheck: null, Env: [], Labels: {} }],
  ])('what updaters change passes: %s', async (_n, config) => {
    const w = world()
    await removeWeb(w)
    expect(await create(w, copyOf(webInfo(OLD_ID), {}, config))).toBe('ok')
  })

  test('ports the old container published may be published again', async () => {
    const w = world()
    const ports = { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } }
    w.engine.containers = [webInfo(OLD_ID, ports)]
    await removeWeb(w)
    expect(await create(w, copyOf(webInfo(OLD_ID, ports)))).toBe('ok')
  })

  test('a fresh name with the same definition is refused', async () => {
    const w = world()
    await removeWeb(w)
    expect(await create(w, copyOf(webInfo(OLD_ID)), 'web2')).toMatch(/; query\.name="web2" gets no re-create allowance: no container of this name was removed through policy "watchtower" in the last 600 s, so the create is checked as a new container \(guard container\.recreate\)$/)
  })

  test('after the window the re-create is refused, and the window is the policy\'s', async () => {
    const w = world()
    await removeWeb(w)
    w.clock += 600_001
    expect(await create(w, copyOf(webInfo(OLD_ID)))).toMatch(/; query\.name="web" gets no re-create allowance: the container of this name was removed 600 s ago, longer ago than guards\.container\.recreate\.within_ms \(600000 ms\) \(guard container\.recreate; it is 600000 in this policy\)$/)
    const w2 = world()
    await removeWeb(w2)
    w2.clock += 599_999
    expect(await create(w2, copyOf(webInfo(OLD_ID)))).toBe('ok')
  })

  test('a removal the engine did not confirm is not remembered', async () => {
    const w = world()
    await removeWeb(w, watchtower, 409)
    expect(await create(w, copyOf(webInfo(OLD_ID)))).toMatch(/no container of this name was removed/)
  })

  test('one re-create per removal; a failed one may be retried', async () => {
    const w = world()
    await removeWeb(w)
    expect(await w.step(watchtower, 'POST', '/v1.25/containers/create?name=web', 404, copyOf(webInfo(OLD_ID)))).toBe('ok')
    expect(await create(w, copyOf(webInfo(OLD_ID)))).toBe('ok')
    expect(await create(w, copyOf(webInfo(OLD_ID)))).toMatch(/was already re-created; one re-create per removal/)
  })

  test('a re-create in flight holds the removal until the engine answers', async () => {
    const w = world()
    await removeWeb(w)
    const first = await w.send(watchtower, 'POST', '/v1.25/containers/create?name=web', copyOf(webInfo(OLD_ID)))
    expect(await create(w, copyOf(webInfo(OLD_ID)))).toMatch(/already under way/)
    first.onEngineStatus?.(0)
    expect(await create(w, copyOf(webInfo(OLD_ID)))).toBe('ok')
  })

  test('a re-create refused after the guard step (here: a volume lookup that times out) releases the removal', async () => {
    const w = world()
    await removeWeb(w)
    const lookup = w.engine.inspectVolume
    w.engine.inspectVolume = () => Promise.reject(new DockgateError('DG_UPSTREAM_TIMEOUT', 'no answer'))
    const body = copyOf(webInfo(OLD_ID), { Binds: ['/srv/data:/data:ro', 'cache:/cache'] })
    expect(await create(w, body)).toMatch(/^DG_UPSTREAM_TIMEOUT/)
    w.engine.inspectVolume = lookup
    expect(await create(w, body)).toBe('ok')
  })

  test('only the policy that removed it may re-create it', async () => {
    const w = world()
    await removeWeb(w)
    expect(await create(w, copyOf(webInfo(OLD_ID)), 'web', loadPolicy('wud'))).toMatch(/no container of this name was removed through policy "wud"/)
  })

  test('within a tenant, only the same tenant may re-create what it removed', async () => {
    const store = new RecreateStore(() => 0)
    const info = webInfo(OLD_ID)
    store.remember({ scope: scopeKey({ policy: watchtower, tenant: 'alice' }), name: 'web', oldId: OLD_ID, info, facts: FACTS, had: [], withinMs: 600_000 })
    const body = decodeBody(Buffer.from(JSON.stringify(copyOf(info))), containerCreateGuard.shape)
    const query = new URLSearchParams('name=web')
    const self = { ids: [], names: [] }
    expect(recreateCreate(store, { policy: watchtower, tenant: 'bob' }, self, query, body, [])).toMatchObject({ allowed: false, violations: [{ guard: 'container.recreate', detail: expect.stringMatching(/^gets no re-create allowance: no container of this name was removed through policy "watchtower" in the last 600 s, so the create is checked as a new container$/) }] })
    expect(recreateCreate(store, { policy: watchtower }, self, query, body, [])).toMatchObject({ allowed: false })
    expect(recreateCreate(store, { policy: watchtower, tenant: 'alice' }, self, query, body, [])).toMatchObject({ allowed: false, violations: expect.arrayContaining([expect.objectContaining({ guard: 'container.capabilities' })]) })
  })

  test('without guards.container.recreate nothing is remembered', async () => {
    const w = world()
    const operator = loadPolicy('container-operator')
    expect(await w.step(operator, 'DELETE', '/containers/web?force=1', 204)).toBe('ok')
    expect(w.store.size).toBe(0)
    expect(await create(w, copyOf(webInfo(OLD_ID)), 'web', operator)).not.toMatch(/container\.recreate/)
  })

  test('an AutoRemove container is remembered when it is stopped (the engine removes it then)', async () => {
    const w = world()
    w.engine.containers = [webInfo(OLD_ID, { AutoRemove: true })]
    const wud = loadPolicy('wud')
    expect(await w.step(wud, 'POST', '/containers/web/stop', 204)).toBe('ok')
    w.engine.containers = []
    expect(await create(w, copyOf(webInfo(OLD_ID, { AutoRemove: true })), 'web', wud)).toBe('ok')
  })

  test('a plain container re-created from its inspect: only the engine\'s defaults stood in the way', async () => {
    const w = world()
    const { HostConfig, NetworkingConfig: _n, ...cfg } = RECREATE_FROM_INSPECT
    const plain: ContainerInfo = { Id: OLD_ID, Name: '/web', Config: cfg, HostConfig, Mounts: [], AppArmorProfile: '' }
    w.engine.containers = [plain]
    await removeWeb(w)
    expect(await create(w, RECREATE_FROM_INSPECT)).toBe('ok')
  })

  describe('after the re-create', () => {
    async function recreated(policy: CompiledPolicy = watchtower): Promise<World> {
      const w = world()
      await removeWeb(w, policy)
      expect(await create(w, copyOf(webInfo(OLD_ID)), 'web', policy)).toBe('ok')
      w.engine.containers = [webInfo(NEW_ID)]
      return w
    }

    test('exec into the re-created container is refused: exec never inherits', async () => {
      const w = await recreated(hooks)
      expect(await w.step(hooks, 'POST', '/v1.25/containers/web/exec', 201, { Cmd: ['sh'] })).toMatch(/^DG_DENY_TARGET: ContainerExec denied by policy "watchtower-hooks": container web has .*guard container\.binds/)
      expect(await w.step(hooks, 'POST', '/v1.25/containers/web/start', 204)).toBe('ok')
    })

    test('a container under that name with more than the old one had may not be started', async () => {
      const w = await recreated()
      w.engine.containers = [webInfo(NEW_ID, { Privileged: true })]
      expect(await w.step(watchtower, 'POST', '/v1.25/containers/web/start', 204)).toMatch(/^DG_DENY_TARGET: .*HostConfig\.Privileged=true/)
    })

    test('the start is allowed within the window after the re-create only', async () => {
      const w = await recreated()
      w.clock += 600_001
      expect(await w.step(watchtower, 'POST', '/v1.25/containers/web/start', 204)).toMatch(/^DG_DENY_TARGET: /)
    })

    test('another container with the same definition does not inherit', async () => {
      const w = await recreated()
      w.engine.containers = [{ ...webInfo('d'.repeat(64)), Name: '/web2' }]
      expect(await w.step(watchtower, 'POST', '/v1.25/containers/web2/start', 204)).toMatch(/^DG_DENY_TARGET: /)
    })
  })
})
