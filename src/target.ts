/**
 * Existing containers as targets. Guards on ContainerCreate stop a client from making a
 * privileged or host-mounting container — but on a shared host such containers already exist
 * (an admin's, a dashboard holding docker.sock). Exec, attach, archive or export into one of them
 * is the same escape by another door. So for those operations dockgate asks the engine how the
 * target was created and runs the ContainerCreate guard on that: a client may reach into a
 * container only if its policy would have let it create that container.
 *
 * The request is then forwarded with the target's full id in place of the name or id prefix the
 * client sent, so a rename or a new container taking the name between check and use cannot
 * change which container is acted on.
 */
import http from 'node:http'
import type { CompiledPolicy } from './policy/compile.js'
import { guardFor } from './guards/index.js'
import type { OperationGuard, SelfIdentity, Violation } from './guards/types.js'
import { decodeBody } from './body/gojson.js'
import { isObject, type JsonValue } from './body/json-value.js'
import { isSelf } from './guards/self.js'
import { DockgateError } from './errors.js'
import type { Upstream } from './upstream.js'
import type { ApiRequest } from './types.js'

/**
 * Operations that put the client's hands inside an existing container, or run it: the target
 * must be one this policy could have created. ExecStart is checked through the exec's container
 * (an exec someone else created, e.g. between `docker exec`'s create and start, is not a door).
 */
export const TARGET_CHECKED: ReadonlySet<string> = new Set([
  'ContainerExec',
  'ExecStart',
  'ContainerStart',
  'ContainerRestart',
  'ContainerAttach',
  'ContainerAttachWebsocket',
  'ContainerArchive',
  'ContainerArchiveInfo',
  'PutContainerArchive',
  'ContainerExport',
])

interface Inspected {
  readonly Id: string
  readonly Name?: string
  readonly Config?: Record<string, unknown>
  readonly HostConfig?: Record<string, unknown>
  readonly Mounts?: ReadonlyArray<{ readonly Type?: string; readonly Name?: string }>
}

interface VolumeInfo {
  readonly Name: string
  readonly Driver?: string
  readonly Options?: Record<string, string> | null
}

/** GET `path` on the engine, parsed; undefined on 404. */
function engineGet<T>(upstream: Upstream, path: string, what: string): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...upstream.target, agent: upstream.agent, method: 'GET', path }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        if (res.statusCode === 404) return resolve(undefined)
        if (res.statusCode !== 200) return reject(new DockgateError('DG_UPSTREAM_FAILED', `the engine answered ${res.statusCode} to inspecting ${what}`))
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T)
        } catch {
          reject(new DockgateError('DG_UPSTREAM_FAILED', `the engine sent an unreadable answer for ${what}`))
        }
      })
      res.on('error', reject)
    })
    req.on('error', (err: NodeJS.ErrnoException) => reject(new DockgateError('DG_UPSTREAM_UNREACHABLE', `cannot reach the Docker engine (${err.code ?? err.message})`)))
    req.end()
  })
}

/** GET /containers/{ref}/json on the engine; undefined when it does not exist. */
export function inspectContainer(upstream: Upstream, ref: string): Promise<Inspected | undefined> {
  return engineGet<Inspected>(upstream, `/containers/${ref}/json`, 'the target container')
}

/**
 * The create body that would make this container, minus what the engine fills in itself:
 * the default MaskedPaths/ReadonlyPaths lists (an empty list, which disables masking, is kept)
 * and CgroupnsMode "host", which is the daemon default on cgroup v1 hosts.
 */
export function createBodyOf(info: Inspected): Buffer {
  const host: Record<string, unknown> = { ...(info.HostConfig ?? {}) }
  for (const k of ['MaskedPaths', 'ReadonlyPaths']) {
    const v = host[k]
    if (v === null || (Array.isArray(v) && v.length > 0)) delete host[k]
  }
  if (host['CgroupnsMode'] === 'host') delete host['CgroupnsMode']
  return Buffer.from(JSON.stringify({ ...(info.Config ?? {}), HostConfig: host }), 'utf8')
}

function describe(v: Violation): string {
  return `${v.field}=${v.value} (guard ${v.guard})`
}

/**
 * Check the target of `api` and return the request to forward (target by full id), or throw
 * DG_DENY_TARGET. A target the engine does not know is passed on: the engine answers 404.
 */
export async function checkTarget(policy: CompiledPolicy, self: SelfIdentity, upstream: Upstream, api: ApiRequest): Promise<ApiRequest> {
  const ref = api.params['id']
  if (ref === undefined) return api
  if (api.operation.id === 'ExecStart') {
    const exec = await engineGet<{ ContainerID?: string }>(upstream, `/exec/${ref}/json`, 'the exec')
    if (exec?.ContainerID === undefined) return api
    if (isSelf(exec.ContainerID, self)) {
      throw new DockgateError('DG_DENY_SELF', `ExecStart denied by policy "${policy.name}": the exec runs in dockgate's own container`, { policy: policy.name, rule: 'self' })
    }
    await checkContainer(policy, self, upstream, api, exec.ContainerID)
    return api
  }
  const info = await checkContainer(policy, self, upstream, api, ref)
  return info === undefined ? api : withTargetId(api, info.Id)
}

async function checkContainer(policy: CompiledPolicy, self: SelfIdentity, upstream: Upstream, api: ApiRequest, ref: string): Promise<Inspected | undefined> {
  const info = await inspectContainer(upstream, ref)
  if (info === undefined) return undefined
  const guard = guardFor('ContainerCreate')
  if (guard === undefined) return info
  const body = decodeBody(createBodyOf(info), guard.shape)
  const violations = guard.check(body, { operationId: 'ContainerCreate', query: new URLSearchParams(), params: {}, version: undefined, rules: policy.guards, self })
  const volumes = (info.Mounts ?? []).flatMap((m, i) => (m.Type === 'volume' && m.Name ? [{ field: `Mounts[${i}]`, name: m.Name }] : []))
  violations.push(...(await checkVolumes(policy, self, upstream, volumes)))
  if (violations.length > 0) {
    const name = (info.Name ?? '').replace(/^\//, '') || info.Id.slice(0, 12)
    throw new DockgateError(
      'DG_DENY_TARGET',
      `${api.operation.id} denied by policy "${policy.name}": container ${name} was created with ${violations.map(describe).join('; ')}, which this policy does not allow`,
      { policy: policy.name, rule: violations.map((v) => v.guard).join(','), violations },
    )
  }
  return info
}

/**
 * Named volumes that already exist are what they were created as: `docker volume create -o
 * type=none -o o=bind -o device=/` made by anyone earlier is a bind mount of `/` under a harmless
 * name. Each referenced volume is looked up and held to the VolumeCreate guard; one that does not
 * exist yet is created by the engine plain (driver per the guarded VolumeDriver), so it passes.
 */
export async function checkVolumes(policy: CompiledPolicy, self: SelfIdentity, upstream: Upstream, refs: ReadonlyArray<{ field: string; name: string }>): Promise<Violation[]> {
  const guard = guardFor('VolumeCreate')
  if (guard === undefined || refs.length === 0) return []
  const out: Violation[] = []
  for (const { field, name } of refs) {
    const vol = await engineGet<VolumeInfo>(upstream, `/volumes/${encodeURIComponent(name)}`, `volume ${name}`)
    if (vol === undefined) continue
    const body = decodeBody(Buffer.from(JSON.stringify({ Name: vol.Name, Driver: vol.Driver ?? 'local', DriverOpts: vol.Options ?? {} })), guard.shape)
    for (const v of guard.check(body, { operationId: 'VolumeCreate', query: new URLSearchParams(), params: {}, version: undefined, rules: policy.guards, self })) {
      out.push({ ...v, field: `${field} (volume ${name}: ${v.field})` })
    }
  }
  return out
}

/** ContainerCreate: the named volumes its (canonical, already guarded) body mounts must pass too. */
export async function checkCreateVolumes(policy: CompiledPolicy, self: SelfIdentity, upstream: Upstream, guard: OperationGuard, api: ApiRequest, body: Buffer): Promise<void> {
  if (body.length === 0) return
  const violations = await checkVolumes(policy, self, upstream, volumeRefs(decodeBody(body, guard.shape)))
  if (violations.length > 0) {
    throw new DockgateError('DG_DENY_BODY', `${api.operation.id} denied by policy "${policy.name}": ${violations.map(describe).join('; ')}, which this policy does not allow`, {
      policy: policy.name,
      rule: violations.map((v) => v.guard).join(','),
      violations,
    })
  }
}

/** Named volumes a create body refers to: `Binds` sources without a leading `/`, `Mounts` of type volume. */
export function volumeRefs(body: JsonValue | undefined): Array<{ field: string; name: string }> {
  const refs: Array<{ field: string; name: string }> = []
  const host = isObject(body) ? body.field('HostConfig') : undefined
  if (!isObject(host)) return refs
  const binds = host.field('Binds')
  if (Array.isArray(binds)) {
    binds.forEach((b, i) => {
      if (typeof b !== 'string') return
      const src = b.split(':')[0] ?? ''
      if (src !== '' && !src.startsWith('/')) refs.push({ field: `HostConfig.Binds[${i}]`, name: src })
    })
  }
  const mounts = host.field('Mounts')
  if (Array.isArray(mounts)) {
    mounts.forEach((m, i) => {
      if (!isObject(m)) return
      const type = m.field('Type')
      const src = m.field('Source')
      if (typeof type === 'string' && type.toLowerCase() === 'volume' && typeof src === 'string' && src !== '') refs.push({ field: `HostConfig.Mounts[${i}]`, name: src })
    })
  }
  return refs
}

/** The same request with the container reference replaced by the full id. */
export function withTargetId(api: ApiRequest, id: string): ApiRequest {
  const path = api.operation.template.replace(/\{[^}]+\}/g, (m) => (m === '{id}' ? id : (api.params[m.slice(1, -1)] ?? m)))
  const target = (api.version === undefined ? '' : `/v${api.version}`) + path + (api.rawQuery === '' ? '' : `?${api.rawQuery}`)
  return { ...api, path, target, params: { ...api.params, id } }
}
