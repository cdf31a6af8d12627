/**
 * A request from a client with a tenant, in two parts around the target step (target.ts, which
 * resolves what the request names among the tenant's objects: tenant/view.ts):
 *
 *   checkTenantBounds  right after the policy: refuses what a tenant may not do at all
 *   scopeRequest       after the guard, no engine: adds the tenant's label to list filters
 *                      (tenant/filters.ts) and to what is created (tenant/labels.ts)
 *   checkTenantRequest the engine: container names that another tenant holds, the containers a
 *                      list filter names (`since`, `before`), the network a build joins
 *
 * What each operation gets is a fact of the operation table (operations.ts `tenant`); targets of
 * kind container, exec, network and volume are resolved, images are shared, and an operation the
 * table does not decide is refused.
 */
import { isObject, type JsonValue } from '../body/json-value.js'
import { DockgateError } from '../errors.js'
import { withQuery } from '../normalize.js'
import type { ObjectKind, TenantUse } from '../operations.js'
import type { ApiRequest, Operation } from '../types.js'
import { filtersParam, formatFilters, parseFilters, withLabelFilter } from './filters.js'
import { labelBody, labelBuildQuery, labelChanges, TENANT_LABEL } from './labels.js'
import type { TenantView } from './view.js'

/** Target kinds resolved among the tenant's objects. */
export const RESOLVED_KINDS: ReadonlySet<ObjectKind> = new Set(['container', 'exec', 'network', 'volume'])
/** Network modes of a build that are not networks (the guard refuses `container:`). */
const BUILD_MODES: ReadonlySet<string> = new Set(['', 'default', 'bridge', 'host', 'none'])

/** What a tenant's request of `op` gets (operations.ts TenantUse); undecided operations are refused. */
export function tenantUse(op: Operation): TenantUse {
  if (op.tenant !== undefined) return op.tenant
  if (op.target !== undefined && (RESOLVED_KINDS.has(op.target.kind) || op.target.kind === 'image')) return 'shared'
  return 'refuse'
}

export interface Scoped {
  readonly api: ApiRequest
  /** The body to go on with: the decoded body, labelled when the operation creates something. */
  readonly body: JsonValue | undefined
  /** True when `body` differs from the body that came in (it must be re-encoded). */
  readonly relabelled: boolean
}

function refused(op: Operation, why: string): DockgateError {
  return new DockgateError('DG_DENY_TENANT', `${op.id} is not available to clients with a tenant: ${why}`)
}

/** What a tenant may not do at all, refused before its body is read (DG_DENY_TENANT). */
export function checkTenantBounds(op: Operation, unguarded: boolean): void {
  // config.ts refuses a tenant with an unguarded policy at start: without guards nothing is read, so nothing could be labelled.
  if (unguarded) throw refused(op, 'the policy has body guards off, and a tenant\'s requests must be read to be kept to the tenant')
  if (tenantUse(op) === 'refuse') throw refused(op, op.target === undefined ? 'it reaches engine-wide objects that no tenant label scopes' : `${op.target.kind}s are engine-wide objects that no tenant label scopes`)
}

/** The part without the engine, after the guard (checkTenantBounds has passed); throws DG_DENY_TENANT or DG_REQ_AMBIGUOUS_PATH. */
export function scopeRequest(tenant: string, api: ApiRequest, body: JsonValue | undefined, unguarded: boolean): Scoped {
  const op = api.operation
  checkTenantBounds(op, unguarded)
  const same = { api, body, relabelled: false }
  switch (tenantUse(op)) {
    case 'refuse':
    case 'shared':
      return same
    case 'filter': {
      if (op.id === 'ContainerList' && (api.query.has('since') || api.query.has('before'))) {
        throw new DockgateError('DG_REQ_AMBIGUOUS_PATH', 'ContainerList: the since= and before= parameters are refused for clients with a tenant; use filters={"since":["<container>"]}')
      }
      const filters = withLabelFilter(parseFilters(filtersParam(api.query)), `${TENANT_LABEL}=${tenant}`)
      const query = new URLSearchParams(api.query)
      query.set('filters', formatFilters(filters))
      return { ...same, api: withQuery(api, query) }
    }
    case 'label':
      if (op.id === 'ImageBuild') return { ...same, api: withQuery(api, labelBuildQuery(api.query, tenant)) }
      if (op.id === 'ImageCommit') return { ...same, api: withQuery(api, labelChanges(api.query, tenant, op.id)) }
      // Pulls cannot be labelled (the image is the registry's); imports can, like commits.
      if (op.id === 'ImageCreate') return (api.query.get('fromImage') ?? '') === '' ? { ...same, api: withQuery(api, labelChanges(api.query, tenant, op.id)) } : same
      return { api, body: labelBody(body, tenant, op.id), relabelled: true }
  }
}

/** The part that asks the engine; returns the request with what it named by full id. */
export async function checkTenantRequest(view: TenantView, api: ApiRequest, body: JsonValue | undefined): Promise<ApiRequest> {
  switch (api.operation.id) {
    case 'ContainerCreate':
    case 'ContainerRename':
      for (const name of api.query.getAll('name')) if (name !== '') await view.containerNameFree(name)
      return api
    case 'VolumeCreate': {
      const name = isObject(body) ? body.field('Name') : undefined
      if (typeof name === 'string' && name !== '') await view.volumeNameFree(name)
      return api
    }
    case 'ContainerList':
      return listWithIds(view, api)
    case 'ImageBuild': {
      const modes = api.query.getAll('networkmode')
      if (modes.every((m) => BUILD_MODES.has(m) || m.toLowerCase().startsWith('container:'))) return api
      const query = new URLSearchParams(api.query)
      query.delete('networkmode')
      for (const m of modes) query.append('networkmode', BUILD_MODES.has(m) ? m : (await view.network(m, 'use')).network.Id)
      return withQuery(api, query)
    }
    default:
      return api
  }
}

/** ContainerList's `since` and `before` filters name containers, which the engine looks up: the tenant's, by full id. */
async function listWithIds(view: TenantView, api: ApiRequest): Promise<ApiRequest> {
  const filters = parseFilters(filtersParam(api.query))
  if (!filters.has('since') && !filters.has('before')) return api
  const out = new Map(filters)
  for (const key of ['since', 'before']) {
    const values = filters.get(key)
    if (values === undefined) continue
    const ids = new Map<string, boolean>()
    for (const [ref, b] of values) ids.set(await view.containerId(ref), b)
    out.set(key, ids)
  }
  const query = new URLSearchParams(api.query)
  query.set('filters', formatFilters(out))
  return withQuery(api, query)
}
