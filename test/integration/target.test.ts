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
      expect(r.stderr).toContain(`Error response from daemon: dockgate: ContainerExec denied by policy "container-operator": container ${PREFIX}admin-bind was created with HostConfig.Binds[0]="/etc:/hostetc:ro" (guard container.binds), which this policy does not allow [DG_DENY_TARGET]`)
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
    expect(last?.reason).toContain('HostConfig.Binds[0]="/etc:/hostetc:ro"')
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
