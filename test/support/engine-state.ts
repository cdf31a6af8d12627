/**
 * What the engine holds, read on its own socket: for differential tests that must show a refused
 * request left nothing behind (no container, volume, network or exec), and that an allowed one
 * created exactly what was asked.
 */
import { expect } from 'vitest'
import { engineRequest } from './engine.js'

/** A parsed JSON answer of the engine (loosely typed: tests assert on its fields). */
export type EngineJson = any

/** One call on the engine socket; the body parsed as JSON when there is one. */
export async function call(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: EngineJson; text: string }> {
  const res = await engineRequest(socket, method, path, body)
  const text = res.body.toString('utf8')
  let json: EngineJson
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, json, text }
}

/** `GET /containers/{name}/json`, or undefined on 404. */
export async function inspectContainer(socket: string, name: string): Promise<EngineJson | undefined> {
  const res = await call(socket, 'GET', `/containers/${encodeURIComponent(name)}/json`)
  if (res.status === 404) return undefined
  expect(res.status, `inspect ${name}: ${res.text}`).toBe(200)
  return res.json
}

/** Everything a refused request could have left behind, in a comparable form. */
export interface EngineSnapshot {
  /** `id name` of every container, running or not. */
  readonly containers: string[]
  readonly volumes: string[]
  /** `id name driver` of every network. */
  readonly networks: string[]
  /** Swarm state (`inactive` unless something initialised or joined a swarm). */
  readonly swarm: string
  /** Plugins installed. */
  readonly plugins: string[]
}

export async function snapshot(socket: string): Promise<EngineSnapshot> {
  const [containers, volumes, networks, info, plugins] = await Promise.all([
    call(socket, 'GET', '/containers/json?all=1'),
    call(socket, 'GET', '/volumes'),
    call(socket, 'GET', '/networks'),
    call(socket, 'GET', '/info'),
    call(socket, 'GET', '/plugins'),
  ])
  return {
    containers: (containers.json as Array<{ Id: string; Names: string[] }>).map((c) => `${c.Id} ${c.Names.join(',')}`).sort(),
    volumes: ((volumes.json as { Volumes: Array<{ Name: string }> | null }).Volumes ?? []).map((v) => v.Name).sort(),
    networks: (networks.json as Array<{ Id: string; Name: string; Driver: string }>).map((n) => `${n.Id} ${n.Name} ${n.Driver}`).sort(),
    swarm: String((info.json as { Swarm?: { LocalNodeState?: string } }).Swarm?.LocalNodeState),
    plugins: (plugins.json as Array<{ Name: string }>).map((p) => p.Name).sort(),
  }
}

/** Removes (forcibly) every container and then every volume whose name starts with `prefix`. */
export async function removeByPrefix(socket: string, prefix: string): Promise<void> {
  const filter = encodeURIComponent(JSON.stringify({ name: [prefix] }))
  const list = await call(socket, 'GET', `/containers/json?all=1&filters=${filter}`)
  for (const c of list.json as Array<{ Id: string; Names: string[] }>) {
    if (c.Names.some((n) => n.replace(/^\//, '').startsWith(prefix))) await call(socket, 'DELETE', `/containers/${c.Id}?force=1&v=1`)
  }
  const volumes = await call(socket, 'GET', '/volumes')
  for (const v of (volumes.json as { Volumes: Array<{ Name: string }> | null }).Volumes ?? []) {
    if (v.Name.startsWith(prefix)) await call(socket, 'DELETE', `/volumes/${encodeURIComponent(v.Name)}?force=1`)
  }
}

/**
 * A container's output when it ran with `Tty: true` (no stream multiplexing): waits for it to
 * exit and returns its exit code and logs.
 */
export async function waitOutput(socket: string, id: string): Promise<{ code: number; output: string }> {
  const wait = await call(socket, 'POST', `/containers/${id}/wait`)
  expect(wait.status, wait.text).toBe(200)
  const logs = await call(socket, 'GET', `/containers/${id}/logs?stdout=1&stderr=1`)
  expect(logs.status, logs.text).toBe(200)
  return { code: (wait.json as { StatusCode: number }).StatusCode, output: logs.text }
}

/** A one-file ustar archive (for `PUT /containers/{id}/archive`). */
export function tarOneFile(name: string, content: string): Buffer {
  const data = Buffer.from(content, 'utf8')
  const h = Buffer.alloc(512)
  const put = (value: string, offset: number, length: number): void => void h.write(value, offset, length, 'latin1')
  const octal = (n: number, offset: number, length: number): void => put(`${n.toString(8).padStart(length - 1, '0')}\0`, offset, length)
  put(name, 0, 100)
  octal(0o644, 100, 8)
  octal(0, 108, 8)
  octal(0, 116, 8)
  octal(data.length, 124, 12)
  octal(1_700_000_000, 136, 12)
  put('0', 156, 1)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of h) sum += byte
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8)
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([h, data, pad, Buffer.alloc(1024)])
}
