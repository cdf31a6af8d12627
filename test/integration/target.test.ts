/**
 * Existing containers as targets (src/target.ts): under container-operator a client may exec into
 * or attach to a container only if the policy would have let it create that container.
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { docker } from '../support/cli.js'
import { engineRequest } from '../support/engine.js'
import { BUSYBOX_IMAGE } from '../support/images.js'

const PREFIX = 'dg-target-'
let engineSocket: string
let proxy: TestProxy

async function createDirect(name: string, hostConfig: Record<string, unknown>): Promise<string> {
  const res = await engineRequest(engineSocket, 'POST', `/containers/create?name=${name}`, {
    Image: BUSYBOX_IMAGE,
    Cmd: ['sleep', '600'],
    OpenStdin: true,
    HostConfig: { NetworkMode: 'none', ...hostConfig },
  })
  expect(res.status).toBe(201)
  const id = (JSON.parse(res.body.toString()) as { Id: string }).Id
  expect((await engineRequest(engineSocket, 'POST', `/containers/${id}/start`)).status).toBe(204)
  return id
}

beforeAll(async () => {
  engineSocket = inject('engineSocket')
  proxy = await startProxy({ policy: 'container-operator', engineSocket })
})

afterAll(async () => {
  await proxy?.close()
  for (const name of ['admin-bind', 'plain', 'masked']) await engineRequest(engineSocket, 'DELETE', `/containers/${PREFIX}${name}?force=1`)
})

describe('exec and attach into existing containers', () => {
  test('a container an admin started with a host bind: exec is refused with DG_DENY_TARGET, naming the option', async () => {
    await createDirect(`${PREFIX}admin-bind`, { Binds: ['/etc:/hostetc:ro'] })
    for (const cli of ['new', 'old'] as const) {
      const r = await docker(['exec', `${PREFIX}admin-bind`, 'cat', '/hostetc/hostname'], { host: proxy.host, cli })
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(`Error response from daemon: dockgate: ContainerExec denied by policy "container-operator": container ${PREFIX}admin-bind has what this policy does not allow in a container it creates: Mounts[0].Source="/etc" mounts host path /etc, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: no host paths) [DG_DENY_TARGET]`)
    }
    // Nothing was executed: the engine holds no exec for it.
    const info = JSON.parse((await engineRequest(engineSocket, 'GET', `/containers/${PREFIX}admin-bind/json`)).body.toString()) as { ExecIDs: string[] | null }
    expect(info.ExecIDs ?? []).toEqual([])
    const audit = proxy.audits().filter((a) => a.code === 'DG_DENY_TARGET')
    expect(audit.length).toBeGreaterThanOrEqual(2)
    expect(audit[0]!.operation).toBe('ContainerExec')
  })

  test('attach to the same container is refused too (the CLI shows only the status of a refused upgrade; the audit record says why)', async () => {
    const r = await docker(['attach', '--no-stdin', `${PREFIX}admin-bind`], { host: proxy.host, timeoutMs: 20_000 })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('unable to upgrade to tcp, received 403')
    const last = proxy.audits().filter((a) => a.operation === 'ContainerAttach').at(-1)
    expect(last?.code).toBe('DG_DENY_TARGET')
    expect(last?.reason).toContain('Mounts[0].Source="/etc"')
  })

  test('a container with masking turned off (empty MaskedPaths) is refused', async () => {
    await createDirect(`${PREFIX}masked`, { MaskedPaths: [] })
    const r = await docker(['exec', `${PREFIX}masked`, 'true'], { host: proxy.host })
    expect(r.stderr).toContain('HostConfig.MaskedPaths')
    expect(r.stderr).toContain('[DG_DENY_TARGET]')
  })

  test('an ordinary container, created directly or through dockgate, can be exec-ed into (by name and by id prefix)', async () => {
    const id = await createDirect(`${PREFIX}plain`, {})
    const byName = await docker(['exec', `${PREFIX}plain`, 'echo', 'inside'], { host: proxy.host })
    expect(byName.stderr).toBe('')
    expect(byName.stdout.toString()).toBe('inside\n')
    const byPrefix = await docker(['exec', id.slice(0, 10), 'sh', '-c', 'exit 4'], { host: proxy.host })
    expect(byPrefix.code).toBe(4)
  })

  test('an unknown container is passed on, and the engine answers 404', async () => {
    const r = await docker(['exec', `${PREFIX}does-not-exist`, 'true'], { host: proxy.host })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/No such container/)
  })
})

describe('what existing objects are, not what they are called', () => {
  const vol = `${PREFIX}bindvol`
  beforeAll(async () => {
    // An admin's "volume" that is a bind mount of a host directory.
    const res = await engineRequest(engineSocket, 'POST', '/volumes/create', { Name: vol, Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device: '/etc' } })
    expect(res.status).toBe(201)
  })
  afterAll(async () => {
    for (const name of ['volholder', 'stopped', 'exec-target']) await engineRequest(engineSocket, 'DELETE', `/containers/${PREFIX}${name}?force=1`)
    await engineRequest(engineSocket, 'DELETE', `/volumes/${vol}?force=1`)
  })

  test.each([
    ['Binds', { Binds: [`${vol}:/h:ro`] }, `HostConfig.Binds[0] (volume ${vol}: DriverOpts`],
    ['Mounts of type volume', { Mounts: [{ Type: 'volume', Source: vol, Target: '/h' }] }, `HostConfig.Mounts[0] (volume ${vol}: DriverOpts`],
  ])('creating a container that mounts an existing bind-backed named volume through %s is refused', async (_n, hostConfig, field) => {
    const name = `${PREFIX}thief`
    const res = await engineRequest(proxy.socket, 'POST', `/containers/create?name=${name}`, { Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none', ...hostConfig } })
    expect(res.status).toBe(403)
    const msg = (JSON.parse(res.body.toString()) as { message: string }).message
    expect(msg).toContain(field)
    expect(msg).toContain('[DG_DENY_BODY]')
    expect((await engineRequest(engineSocket, 'GET', `/containers/${name}/json`)).status).toBe(404)
  })

  test('a named volume that does not exist yet (the engine makes it plain) is fine', async () => {
    const name = `${PREFIX}fresh`
    const res = await engineRequest(proxy.socket, 'POST', `/containers/create?name=${name}`, { Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none', Binds: [`${PREFIX}fresh-vol:/data`] } })
    expect(res.status).toBe(201)
    await engineRequest(engineSocket, 'DELETE', `/containers/${name}?force=1&v=1`)
    await engineRequest(engineSocket, 'DELETE', `/volumes/${PREFIX}fresh-vol`)
  })

  test('exec into an admin container that mounts the bind-backed volume is refused', async () => {
    await createDirect(`${PREFIX}volholder`, { Binds: [`${vol}:/h:ro`] })
    const r = await docker(['exec', `${PREFIX}volholder`, 'cat', '/h/hostname'], { host: proxy.host })
    expect(r.stderr).toContain(`(volume ${vol}:`)
    expect(r.stderr).toContain('[DG_DENY_TARGET]')
  })

  test('starting an admin container this policy could not have created is refused', async () => {
    const res = await engineRequest(engineSocket, 'POST', `/containers/create?name=${PREFIX}stopped`, { Image: BUSYBOX_IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none', Binds: ['/etc:/hostetc:ro'] } })
    expect(res.status).toBe(201)
    const r = await docker(['start', `${PREFIX}stopped`], { host: proxy.host })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(`dockgate: ContainerStart denied by policy "container-operator": container ${PREFIX}stopped has what this policy does not allow in a container it creates: Mounts[0].Source="/etc" mounts host path /etc, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: no host paths)`)
    expect(r.stderr).toContain('[DG_DENY_TARGET]')
  })

  test('an exec someone else created in such a container cannot be started through dockgate', async () => {
    const id = await createDirect(`${PREFIX}exec-target`, { Binds: ['/etc:/hostetc:ro'] })
    const created = await engineRequest(engineSocket, 'POST', `/containers/${id}/exec`, { Cmd: ['cat', '/hostetc/hostname'], AttachStdout: true })
    expect(created.status).toBe(201)
    const execId = (JSON.parse(created.body.toString()) as { Id: string }).Id
    const res = await engineRequest(proxy.socket, 'POST', `/exec/${execId}/start`, { Detach: false, Tty: false })
    expect(res.status).toBe(403)
    const msg = (JSON.parse(res.body.toString()) as { message: string }).message
    expect(msg).toBe(`dockgate: ExecStart denied by policy "container-operator": container ${PREFIX}exec-target (of exec ${execId.slice(0, 12)}) has what this policy does not allow in a container it creates: Mounts[0].Source="/etc" mounts host path /etc, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: no host paths) [DG_DENY_TARGET]`)
    const inspect = JSON.parse((await engineRequest(engineSocket, 'GET', `/exec/${execId}/json`)).body.toString()) as { Running: boolean; ExitCode: number | null; Pid: number }
    expect(inspect.Pid).toBe(0) // never started
  })

  test('docker import (fromSrc=-) is refused by default: it can overwrite any tag', async () => {
    const res = await engineRequest(proxy.socket, 'POST', `/images/create?fromSrc=-&repo=${BUSYBOX_IMAGE.split(':')[0]}&tag=${BUSYBOX_IMAGE.split(':')[1]}`, Buffer.alloc(1024))
    expect(res.status).toBe(403)
    expect(res.body.toString()).toContain('guard image.import')
  })
})
