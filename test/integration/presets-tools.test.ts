/**
 * Tool presets against the real engine, with real answers: each tool's read calls (the tables of
 * test/unit/policy/tool-calls.ts) get through each preset with the engine's own status, as they
 * do on the bare socket; then the writes of the tools that make them, in the tool's order:
 * Watchtower's re-create of a plain container, Dozzle's update, autoheal's curl, Home Assistant's switches,
 * acme-companion's exec without Upgrade, WUD's stop and removal, Fluent Bit's HTTP/1.0 events.
 */
import { execFile } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { normalize } from '../../src/normalize.js'
import { engineRequest } from '../support/engine.js'
import { call, removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import { ID, TOOL_CALLS, V, type Call } from '../unit/policy/tool-calls.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-pt-'
const NAME = `${PREFIX}web`
let webId = ''

/** A plain container, as a tool would find it: no host mounts, network none, a health-like label. */
async function plainContainer(name: string, labels: Record<string, string> = {}): Promise<string> {
  const created = await call(engineSocket, 'POST', `/containers/create?name=${name}`, {
    Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'], Labels: labels, HostConfig: { NetworkMode: 'none' },
  })
  expect(created.status, created.text).toBe(201)
  expect((await call(engineSocket, 'POST', `/containers/${created.json.Id as string}/start`)).status).toBe(204)
  return created.json.Id as string
}

/** The status line of a (possibly endless) response, then the connection is dropped. */
function statusOf(socket: string, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path, host: 'localhost' }, (res) => {
      resolve(res.statusCode ?? 0)
      res.destroy()
      req.destroy()
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer`)))
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)))
    req.end()
  })
}

const concrete = (target: string): string => target.replaceAll(ID, webId).replace('/containers/web/', `/containers/${NAME}/`)

beforeAll(async () => {
  webId = await plainContainer(NAME, { 'autoheal': 'true' })
})

afterAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
})

const reads = (preset: string): Call[] => TOOL_CALLS[preset]!.filter((c) => c.method === 'GET' || c.method === 'HEAD')

describe.each(Object.keys(TOOL_CALLS).filter((p) => reads(p).length > 0).sort())('%s: the tool\'s reads get the engine\'s own answer', (preset) => {
  let proxy: TestProxy
  beforeAll(async () => {
    proxy = await startProxy({ policy: preset, engineSocket })
  })
  afterAll(async () => {
    await proxy?.close()
  })

  test.each(reads(preset).map((c) => [`${c.method} ${c.target}`, c] as const))('%s', async (_name, c) => {
    const target = concrete(c.target)
    const op = normalize(c.method, target).operation
    if (op.stream === 'stream') {
      expect(await statusOf(proxy.socket, c.method, target)).toBe(await statusOf(engineSocket, c.method, target))
      return
    }
    const direct = await engineRequest(engineSocket, c.method, target)
    const through = await engineRequest(proxy.socket, c.method, target)
    expect(through.body.toString()).not.toContain('"message":"dockgate:') // an image tagged dockgate:test may be listed
    expect(through.status).toBe(direct.status)
  })
})

describe('tools that write, in their own order', () => {
  test('watchtower: list, inspect, kill, remove, re-create from the inspect (guards.container.recreate), reconnect, start, rename', async () => {
    const name = `${PREFIX}wt`
    const id = await plainContainer(name)
    const proxy = await startProxy({ policy: 'watchtower', engineSocket })
    const wt = (method: string, path: string, body?: unknown): ReturnType<typeof call> => call(proxy.socket, method, `/v1.25${path}`, body)
    try {
      const list = await wt('GET', `/containers/json?filters=${encodeURIComponent('{"status":{"running":true}}')}`)
      expect(list.status).toBe(200)
      expect((list.json as Array<{ Id: string }>).map((c) => c.Id)).toContain(id)
      const info = await wt('GET', `/containers/${id}/json`)
      expect(info.status).toBe(200)
      expect((await wt('GET', `/images/${info.json.Image as string}/json`)).status).toBe(200)
      expect((await wt('POST', `/containers/${id}/kill?signal=SIGTERM`)).status).toBe(204)
      expect((await wt('DELETE', `/containers/${id}?force=1`)).status).toBe(204)
      // containrrr/watchtower GetCreateConfig / GetCreateHostConfig: the inspected Config and HostConfig, one network.
      // It carries the engine's default MaskedPaths/ReadonlyPaths (and CgroupnsMode host on cgroup
      // v1), which a new container may not set: read as the defaults they are in a re-create.
      const body = { ...info.json.Config, HostConfig: info.json.HostConfig, NetworkingConfig: { EndpointsConfig: info.json.NetworkSettings.Networks } }
      const replacement = await wt('POST', `/containers/create?name=${name}`, body)
      expect(replacement.status, replacement.text).toBe(201)
      expect(proxy.audits().at(-1)).toMatchObject({ operation: 'ContainerCreate', decision: 'allow', reason: expect.stringMatching(/^re-creates container dg-pt-wt, removed \d+ s ago through this policy, with what it had$/) })
      const newId = replacement.json.Id as string
      expect((await wt('POST', '/networks/none/disconnect', { Container: newId, Force: true })).status).toBe(200)
      expect((await wt('POST', '/networks/none/connect', { Container: newId, EndpointConfig: info.json.NetworkSettings.Networks.none })).status).toBe(200)
      expect((await wt('POST', `/containers/${newId}/start`)).status).toBe(204)
      expect((await wt('POST', `/containers/${newId}/rename?name=${PREFIX}wt-renamed`)).status).toBe(204)
      expect((await call(proxy.socket, 'POST', `/v1.41/containers/${newId}/stop?t=1`)).status).toBe(204)
    } finally {
      await proxy.close()
    }
  })

  test('wud: stop, remove, and the AutoRemove wait, as its docker trigger sends them', async () => {
    const name = `${PREFIX}wud`
    const id = await plainContainer(name)
    const proxy = await startProxy({ policy: 'wud', engineSocket })
    try {
      expect((await call(proxy.socket, 'POST', `/containers/${id}/stop`)).status).toBe(204)
      expect((await call(proxy.socket, 'DELETE', `/containers/${id}`)).status).toBe(204)
      expect((await call(proxy.socket, 'POST', `/containers/${id}/wait?condition=removed`)).status).toBe(404)
      expect((await call(proxy.socket, 'GET', '/images/json')).status).toBe(200)
    } finally {
      await proxy.close()
    }
  })

  test('dozzle-actions: "update" stops, removes, re-creates from the inspect and starts a container with a capability', async () => {
    const name = `${PREFIX}dz`
    const created = await call(engineSocket, 'POST', `/containers/create?name=${name}`, {
      Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'], HostConfig: { NetworkMode: 'none', CapAdd: ['NET_ADMIN'] },
    })
    expect(created.status).toBe(201)
    const id = created.json.Id as string
    expect((await call(engineSocket, 'POST', `/containers/${id}/start`)).status).toBe(204)
    const proxy = await startProxy({ policy: 'dozzle-actions', engineSocket })
    const dz = (method: string, path: string, body?: unknown): ReturnType<typeof call> => call(proxy.socket, method, `${V}${path}`, body)
    try {
      const info = await dz('GET', `/containers/${id}/json`)
      expect((await dz('POST', `/containers/${id}/stop`)).status).toBe(204)
      expect((await dz('DELETE', `/containers/${id}`)).status).toBe(204)
      const body = { ...info.json.Config, HostConfig: info.json.HostConfig, NetworkingConfig: { EndpointsConfig: info.json.NetworkSettings.Networks } }
      const replacement = await dz('POST', `/containers/create?name=${name}`, body)
      expect(replacement.status, replacement.text).toBe(201)
      expect((await dz('POST', `/containers/${replacement.json.Id as string}/start`)).status).toBe(204)
      // A capability the old container did not have is refused, on another round.
      expect((await dz('POST', `/containers/${name}/stop`)).status).toBe(204)
      expect((await dz('DELETE', `/containers/${name}`)).status).toBe(204)
      const more = await dz('POST', `/containers/create?name=${name}`, { ...body, HostConfig: { ...body.HostConfig, CapAdd: ['NET_ADMIN', 'SYS_ADMIN'] } })
      expect(more.status).toBe(403)
      expect(more.json.message).toContain('HostConfig.CapAdd[1]="SYS_ADMIN" adds CAP_SYS_ADMIN, which is not in guards.container.capabilities (guard container.capabilities; allowed now: CAP_NET_ADMIN)')
    } finally {
      await proxy.close()
    }
  })

  test('autoheal: its curl, with the filter unencoded, and the restart', async () => {
    const proxy = await startProxy({ policy: 'autoheal', engineSocket })
    try {
      const url = 'http://localhost/containers/json?filters=\\{"health":\\["unhealthy"\\],"label":\\["autoheal=true"\\]\\}'
      const { stdout } = await promisify(execFile)('curl', ['--max-time', '30', '-s', '--unix-socket', proxy.socket, url])
      expect(JSON.parse(stdout)).toEqual([])
      expect(proxy.audits().at(-1)).toMatchObject({ operation: 'ContainerList', decision: 'allow', status: 200 })
      expect((await call(proxy.socket, 'POST', `/containers/${webId}/restart?t=1`)).status).toBe(204)
    } finally {
      await proxy.close()
    }
  })

  test('home-assistant: the switches stop, start and restart a container by name', async () => {
    const proxy = await startProxy({ policy: 'home-assistant', engineSocket })
    try {
      for (const action of ['stop?t=1', 'start', 'restart?t=1']) {
        expect((await call(proxy.socket, 'POST', `/v1.41/containers/${NAME}/${action}`)).status, action).toBe(204)
      }
    } finally {
      await proxy.close()
    }
  })

  test('acme-companion: exec, then start without Upgrade: the output comes back on a plain response', async () => {
    const proxy = await startProxy({ policy: 'acme-companion', engineSocket })
    try {
      const exec = await call(proxy.socket, 'POST', `/containers/${NAME}/exec`, { AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: ['echo', 'reloaded'] })
      expect(exec.status, exec.text).toBe(201)
      const started = await call(proxy.socket, 'POST', `/exec/${exec.json.Id as string}/start`, { Detach: false, Tty: false })
      expect(started.status).toBe(200)
      expect(started.text).toContain('reloaded')
    } finally {
      await proxy.close()
    }
  })

  test('fluent-bit: GET /events over HTTP/1.0 without Host, answered without chunked framing', async () => {
    const proxy = await startProxy({ policy: 'fluent-bit', engineSocket })
    const socket = net.connect(proxy.socket)
    try {
      let got = ''
      socket.on('data', (d: Buffer) => { got += d.toString('utf8') })
      socket.write('GET /events HTTP/1.0\r\n\r\n')
      for (let i = 0; i < 100 && !got.includes('\r\n\r\n'); i++) await new Promise((resolve) => setTimeout(resolve, 50))
      await plainContainer(`${PREFIX}fb`)
      for (let i = 0; i < 100 && !got.includes(`${PREFIX}fb`); i++) await new Promise((resolve) => setTimeout(resolve, 100))
      const [head, events] = got.split('\r\n\r\n') as [string, string]
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(head.toLowerCase()).not.toContain('transfer-encoding')
      expect(events.split('\n')[0]).toMatch(/^\{"status":"create"/)
    } finally {
      socket.destroy()
      await proxy.close()
    }
  })
})
