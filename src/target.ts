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
import type { SelfIdentity, Violation } from './guards/types.js'
import { decodeBody } from './body/gojson.js'
import { DockgateError } from './errors.js'
import type { Upstream } from './upstream.js'
import type { ApiRequest } from './types.js'

/** Operations that put the client's hands inside an existing container. */
export const TARGET_CHECKED: ReadonlySet<string> = new Set([
  'ContainerExec',
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
}

/** GET /containers/{ref}/json on the engine; undefined when it does not exist. */
export function inspectContainer(upstream: Upstream, ref: string): Promise<Inspected | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...upstream.target, agent: upstream.agent, method: 'GET', path: `/containers/${ref}/json` }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        if (res.statusCode === 404) return resolve(undefined)
        if (res.statusCode !== 200) return reject(new DockgateError('DG_UPSTREAM_FAILED', `the engine answered ${res.statusCode} to inspecting the target container`))
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Inspected)
        } catch {
          reject(new DockgateError('DG_UPSTREAM_FAILED', 'the engine sent an unreadable inspect answer for the target container'))
        }
      })
      res.on('error', reject)
    })
    req.on('error', (err: NodeJS.ErrnoException) => reject(new DockgateError('DG_UPSTREAM_UNREACHABLE', `cannot reach the Docker engine (${err.code ?? err.message})`)))
    req.end()
  })
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
  const info = await inspectContainer(upstream, ref)
  if (info === undefined) return api
  const guard = guardFor('ContainerCreate')
  if (guard === undefined) return api
  const body = decodeBody(createBodyOf(info), guard.shape)
  const violations = guard.check(body, { operationId: 'ContainerCreate', query: new URLSearchParams(), params: {}, version: undefined, rules: policy.guards, self })
  if (violations.length > 0) {
    const name = (info.Name ?? '').replace(/^\//, '') || info.Id.slice(0, 12)
    throw new DockgateError(
      'DG_DENY_TARGET',
      `${api.operation.id} denied by policy "${policy.name}": container ${name} was created with ${violations.map(describe).join('; ')}, which this policy does not allow`,
      { policy: policy.name, rule: violations.map((v) => v.guard).join(','), violations },
    )
  }
  return withTargetId(api, info.Id)
}

/** The same request with the container reference replaced by the full id. */
export function withTargetId(api: ApiRequest, id: string): ApiRequest {
  const path = api.operation.template.replace(/\{[^}]+\}/g, (m) => (m === '{id}' ? id : (api.params[m.slice(1, -1)] ?? m)))
  const target = (api.version === undefined ? '' : `/v${api.version}`) + path + (api.rawQuery === '' ? '' : `?${api.rawQuery}`)
  return { ...api, path, target, params: { ...api.params, id } }
}
