/**
 * Updaters re-creating containers through their presets, against the real engine: a container an
 * admin started with a host bind and a capability is inspected, stopped, removed, created again
 * under the same name from its inspect, and started, as Watchtower (/v1.25, kill) and WUD
 * (unversioned, stop) send it. Then what a compromised updater would try: an added bind (which the
 * bare engine accepts), an added capability, privileged, another name, too late, a definition the
 * client claims but the engine never had, exec into the re-created container. dockgate's clock is
 * the test's, so "too late" needs no waiting.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { call, removeByPrefix, snapshot, type EngineJson } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-rc-'
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-recreate-'))
  writeFileSync(join(dir, 'config'), 'from the host\n')
})

afterAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
  rmSync(dir, { recursive: true, force: true })
})

/** What an admin started: a host bind of `dir` (read-only) and NET_ADMIN, on no network. */
async function adminContainer(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await call(engineSocket, 'POST', `/containers/create?name=${name}`, {
    // Ends on SIGTERM (within a second), so that the updater's stop does not wait for its timeout.
    Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', 'trap "exit 0" TERM; cat /cfg/config; while :; do sleep 1; done'], Labels: { role: 'web' },
    HostConfig: { NetworkMode: 'none', Binds: [`${dir}:/cfg:ro`], CapAdd: ['NET_ADMIN'], ...extra },
  })
  expect(created.status, created.text).toBe(201)
  expect((await call(engineSocket, 'POST', `/containers/${created.json.Id as string}/start`)).status).toBe(204)
  return created.json.Id as string
}

/** The create body an updater makes from an inspect (containrrr/watchtower GetCreateConfig, getwud/wud cloneContainer). */
function copyOf(info: EngineJson, host: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...info.Config, ...config, HostConfig: { ...info.HostConfig, ...host }, NetworkingConfig: { EndpointsConfig: info.NetworkSettings.Networks } }
}

interface Updater {
  readonly preset: string
  /** The API prefix the tool uses. */
  readonly v: string
  /** How it stops the container. */
  readonly stop: (id: string) => string
}

const UPDATERS: readonly Updater[] = [
  { preset: 'watchtower', v: '/v1.25', stop: (id) => `/containers/${id}/kill?signal=SIGTERM` },
  { preset: 'wud', v: '', stop: (id) => `/containers/${id}/stop` },
]

describe.each(UPDATERS)('$preset', ({ preset, v, stop }) => {
  let now = 1_000_000
  let proxy: TestProxy
  const up = (method: string, path: string, body?: unknown): ReturnType<typeof call> => call(proxy.socket, method, `${v}${path}`, body)

  beforeAll(async () => {
    proxy = await startProxy({ policy: preset, engineSocket, clock: () => now })
  })
  afterAll(async () => {
    await proxy?.close()
  })

  /** inspect, stop, wait (polling inspect, as Watchtower does), remove: what the tool does before the create. Returns the inspect. */
  async function takeDown(id: string): Promise<EngineJson> {
    const info = await up('GET', `/containers/${id}/json`)
    expect(info.status).toBe(200)
    expect((await up('POST', stop(id))).status).toBe(204)
    for (let i = 0; i < 100 && (await up('GET', `/containers/${id}/json`)).json.State.Running === true; i++) await new Promise((r) => setTimeout(r, 100))
    expect((await up('DELETE', `/containers/${id}?force=1`)).status).toBe(204)
    return info.json
  }

  test('inspect, stop, remove, create under the same name from the inspect, start: the bind and the capability come back', async () => {
    const name = `${PREFIX}${preset}-web`
    const info = await takeDown(await adminContainer(name))
    const created = await up('POST', `/containers/create?name=${name}`, copyOf(info))
    expect(created.status, created.text).toBe(201)
    const started = await up('POST', `/containers/${created.json.Id as string}/start`)
    expect(started.status, started.text).toBe(204)
    const now2 = await call(engineSocket, 'GET', `/containers/${name}/json`)
    expect(now2.json.State.Running).toBe(true)
    expect(now2.json.HostConfig.Binds).toEqual([`${dir}:/cfg:ro`])
    expect(now2.json.HostConfig.CapAdd).toEqual(['NET_ADMIN'])
    const audits = proxy.audits()
    expect(audits.filter((a) => a.operation === 'ContainerCreate').at(-1)).toMatchObject({ decision: 'allow', status: 201, reason: expect.stringMatching(/^re-creates container dg-rc-\w+-web, removed 0 s ago through this policy, with what it had: container\.(binds|capabilities), container\.(binds|capabilities)$/) })
    expect(audits.filter((a) => a.operation === 'ContainerStart').at(-1)).toMatchObject({ decision: 'allow', status: 204, reason: expect.stringMatching(/^starts container dg-rc-\w+-web, re-created/) })
  })

  // Functions of the bind directory, which exists only once the file's beforeAll ran.
  test.each([
    ['another bind', (): Record<string, unknown> => ({ Binds: [`${dir}:/cfg:ro`, '/etc:/hostetc:ro'] }), {}, (): string => `HostConfig.Binds[1]="/etc:/hostetc:ro" mounts host path /etc, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: ${dir} read-only)`],
    ['the same bind writable', (): Record<string, unknown> => ({ Binds: [`${dir}:/cfg`] }), {}, (): string => `HostConfig.Binds[0]="${dir}:/cfg" mounts host path ${dir} writable, which guards.container.binds allows only read-only (guard container.binds; allowed now: ${dir} read-only)`],
    ['another capability', (): Record<string, unknown> => ({ CapAdd: ['NET_ADMIN', 'SYS_ADMIN'] }), {}, (): string => 'HostConfig.CapAdd[1]="SYS_ADMIN" adds CAP_SYS_ADMIN, which is not in guards.container.capabilities (guard container.capabilities; allowed now: CAP_NET_ADMIN)'],
    ['privileged', (): Record<string, unknown> => ({ Privileged: true }), {}, (): string => 'HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)'],
    ['another command', (): Record<string, unknown> => ({}), { Cmd: ['sh', '-c', 'cat /etc/shadow'] }, (): string => 'Cmd=["sh","-c","cat /etc/shadow"] is not the removed container\'s; a re-create keeps Cmd as it was, or unset for the image\'s default (guard container.recreate)'],
  ])('an addition is refused before it reaches the engine: %s', async (what, hostOf, config, messageOf) => {
    const name = `${PREFIX}${preset}-add-${what.replaceAll(' ', '-')}`
    const host = hostOf()
    const message = messageOf()
    const info = await takeDown(await adminContainer(name))
    const before = await snapshot(engineSocket)
    const refused = await up('POST', `/containers/create?name=${name}`, copyOf(info, host, config))
    expect(refused.status).toBe(403)
    expect(refused.json.message).toContain(message)
    expect(refused.json.message).toContain(`${message}; query.name="${name}" re-creates the container removed 0 s ago, which did not have the others listed (guard container.recreate) [DG_DENY_BODY]`)
    expect(refused.json.message).toContain('[DG_DENY_BODY]')
    expect(await snapshot(engineSocket)).toEqual(before)
    if (what === 'another bind') {
      // On the bare engine the same create goes through: the updater's socket would have been root.
      const bare = await call(engineSocket, 'POST', `/containers/create?name=${name}`, copyOf(info, host, config))
      expect(bare.status).toBe(201)
      await call(engineSocket, 'DELETE', `/containers/${bare.json.Id as string}?force=1`)
    }
    // The honest re-create still works afterwards.
    expect((await up('POST', `/containers/create?name=${name}`, copyOf(info))).status).toBe(201)
    await call(engineSocket, 'DELETE', `/containers/${name}?force=1`)
  })

  test('a fresh name with the same definition is refused', async () => {
    const name = `${PREFIX}${preset}-fresh`
    const info = await takeDown(await adminContainer(name))
    const refused = await up('POST', `/containers/create?name=${name}-2`, copyOf(info))
    expect(refused.status).toBe(403)
    expect(refused.json.message).toContain(`; query.name="${name}-2" gets no re-create allowance: no container of this name was removed through policy "${preset}" in the last 600 s, so the create is checked as a new container (guard container.recreate) [DG_DENY_BODY]`)
    expect(refused.json.message).toContain(`HostConfig.Binds[0]="${dir}:/cfg:ro" mounts host path ${dir}, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: no host paths)`)
  })

  test('after the time bound the re-create is refused', async () => {
    const name = `${PREFIX}${preset}-late`
    const info = await takeDown(await adminContainer(name))
    now += 600_001
    const refused = await up('POST', `/containers/create?name=${name}`, copyOf(info))
    expect(refused.status).toBe(403)
    expect(refused.json.message).toContain('longer ago than guards.container.recreate.within_ms (600000 ms)')
  })

  test('the old definition is never the client\'s: a container removed plain cannot come back with a bind, one removed behind dockgate\'s back not at all', async () => {
    const plain = `${PREFIX}${preset}-plain`
    const created = await call(engineSocket, 'POST', `/containers/create?name=${plain}`, { Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'], HostConfig: { NetworkMode: 'none' } })
    expect(created.status).toBe(201)
    expect((await call(engineSocket, 'POST', `/containers/${created.json.Id as string}/start`)).status).toBe(204)
    const plainInfo = await takeDown(created.json.Id as string)
    // The client sends the definition of a container that had the bind, under the plain one's name.
    const other = await call(engineSocket, 'GET', `/containers/${await adminContainer(`${PREFIX}${preset}-model`)}/json`)
    const claimed = await up('POST', `/containers/create?name=${plain}`, copyOf(other.json, {}, { Cmd: plainInfo.Config.Cmd }))
    expect(claimed.status).toBe(403)
    expect(claimed.json.message).toContain('(guard container.binds')
    // Removed directly on the engine: dockgate never saw what it had, so nothing is inherited.
    const direct = `${PREFIX}${preset}-direct`
    const id = await adminContainer(direct)
    const info = await call(engineSocket, 'GET', `/containers/${id}/json`)
    expect((await call(engineSocket, 'DELETE', `/containers/${id}?force=1`)).status).toBe(204)
    const refused = await up('POST', `/containers/create?name=${direct}`, copyOf(info.json))
    expect(refused.status).toBe(403)
    expect(refused.json.message).toContain('no container of this name was removed')
  })
})

test('watchtower-hooks: the re-created container starts, but exec into it is refused (exec never inherits)', async () => {
  const proxy = await startProxy({ policy: 'watchtower-hooks', engineSocket })
  const up = (method: string, path: string, body?: unknown): ReturnType<typeof call> => call(proxy.socket, method, `/v1.25${path}`, body)
  try {
    const name = `${PREFIX}hooks`
    const id = await adminContainer(name)
    const info = await up('GET', `/containers/${id}/json`)
    expect((await up('DELETE', `/containers/${id}?force=1`)).status).toBe(204)
    expect((await up('POST', `/containers/create?name=${name}`, copyOf(info.json))).status).toBe(201)
    expect((await up('POST', `/containers/${name}/start`)).status).toBe(204)
    const exec = await up('POST', `/containers/${name}/exec`, { Cmd: ['cat', '/cfg/config'], AttachStdout: true })
    expect(exec.status).toBe(403)
    expect(exec.json.message).toContain(`ContainerExec denied by policy "watchtower-hooks": container ${name} has what this policy does not allow in a container it creates: HostConfig.CapAdd[0]="NET_ADMIN" adds CAP_NET_ADMIN, which is not in guards.container.capabilities (guard container.capabilities; allowed now: none)`)
    expect(exec.json.message).toContain(`; Mounts[0].Source="${dir}" mounts host path ${dir}, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: no host paths)`)
    expect(exec.json.message).toContain('[DG_DENY_TARGET]')
    const held = await call(engineSocket, 'GET', `/containers/${name}/json`)
    expect(held.json.ExecIDs ?? []).toEqual([])
  } finally {
    await proxy.close()
  }
})
