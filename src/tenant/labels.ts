/**
 * The tenant's label on what its client creates: `dockgate.tenant=<name>`, written into the very
 * body or query that was checked, so that what is forwarded is still exactly what was checked.
 *
 *   ContainerCreate, VolumeCreate, NetworkCreate   `Labels` of the body (a Go map: exact keys);
 *                                                  a container's volume mounts without a name
 *                                                  (`Mounts[].VolumeOptions.Labels`) too
 *   ImageBuild                                     the `labels` query parameter (JSON of a map),
 *                                                  which the legacy builder and BuildKit apply
 *                                                  over the Dockerfile's LABELs
 *   ImageCommit, ImageCreate importing (`fromSrc`) one more `changes` line, `LABEL …`, applied
 *                                                  after the client's (moby dockerfile
 *                                                  BuildFromConfig runs them in order)
 *
 * A client may write the label itself with its own tenant's name; any other value is refused.
 * Pulled and loaded images carry what their authors put in them: images are shared.
 */
import { BodyError, decodeBody, encodeBody } from '../body/gojson.js'
import { isArray, isObject, JsonObject, replaceAt, withEntry, type JsonValue } from '../body/json-value.js'
import { mapOf } from '../body/shape.js'
import { DockgateError } from '../errors.js'

export const TENANT_LABEL = 'dockgate.tenant'

function refuse(operationId: string, tenant: string, what: string): DockgateError {
  return new DockgateError('DG_DENY_TENANT', `${operationId} refused: ${what}; this client's objects are labelled ${TENANT_LABEL}=${tenant} by dockgate (leave the label out, or give it that value)`)
}

/** `labels` (a map, null or absent) with the tenant's label; another value for it is refused. */
function labelled(labels: JsonValue | undefined, tenant: string, operationId: string, field: string): JsonObject {
  if (labels === undefined || labels === null) return new JsonObject([[TENANT_LABEL, tenant]], 'map')
  if (!isObject(labels)) throw refuse(operationId, tenant, `${field} is not an object`)
  const own = labels.field(TENANT_LABEL)
  if (own !== undefined && own !== tenant) throw refuse(operationId, tenant, `${field}.${TENANT_LABEL}=${JSON.stringify(own)} names another tenant`)
  return withEntry(labels, TENANT_LABEL, tenant)
}

/** The body of a create (ContainerCreate, VolumeCreate, NetworkCreate) with the tenant's label. */
export function labelBody(body: JsonValue | undefined, tenant: string, operationId: string): JsonValue {
  const top = body === undefined ? new JsonObject([], 'struct') : body
  if (!isObject(top)) throw refuse(operationId, tenant, 'the body is not a JSON object')
  const key = top.keyOf('Labels') ?? 'Labels'
  let out = withEntry(top, key, labelled(top.field('Labels'), tenant, operationId, 'Labels'))
  if (operationId === 'ContainerCreate') out = labelVolumeMounts(out, tenant)
  // The engine then refuses a network name that exists (moby CreateNetwork); without it, dockerd
  // before 25.0 creates a second network of that name and warns with the other one's id.
  if (operationId === 'NetworkCreate') out = withEntry(out, out.keyOf('CheckDuplicate') ?? 'CheckDuplicate', true)
  return out
}

/**
 * `HostConfig.Mounts[]` of type volume: a label another tenant's is refused wherever it is; a
 * mount without a name makes an anonymous volume, which gets the tenant's label (named volumes
 * that do not exist yet are created, labelled, before the container: tenant/view.ts).
 */
function labelVolumeMounts(body: JsonObject, tenant: string): JsonObject {
  const hostKey = body.keyOf('HostConfig')
  const host = body.field('HostConfig')
  if (hostKey === undefined || !isObject(host)) return body
  const mountsKey = host.keyOf('Mounts')
  const mounts = host.field('Mounts')
  if (mountsKey === undefined || !isArray(mounts)) return body
  let out: JsonValue = body
  mounts.forEach((m, i) => {
    if (!isObject(m) || m.field('Type') !== 'volume') return
    const options = m.field('VolumeOptions')
    const optionsKey = m.keyOf('VolumeOptions') ?? 'VolumeOptions'
    const source = m.field('Source')
    const anonymous = source === undefined || source === null || source === ''
    const labels = isObject(options) ? options.field('Labels') : undefined
    const field = `HostConfig.Mounts[${i}].VolumeOptions.Labels`
    if (!anonymous) {
      if (labels !== undefined) labelled(labels, tenant, 'ContainerCreate', field)
      return
    }
    if (options !== undefined && options !== null && !isObject(options)) throw refuse('ContainerCreate', tenant, `HostConfig.Mounts[${i}].VolumeOptions is not an object`)
    const base = isObject(options) ? options : new JsonObject([], 'struct')
    const next = withEntry(base, base.keyOf('Labels') ?? 'Labels', labelled(labels, tenant, 'ContainerCreate', field))
    out = replaceAt(out, [hostKey, mountsKey, i], withEntry(m, optionsKey, next))
  })
  return out as JsonObject
}

/** ImageBuild's `labels` parameter (JSON of `map[string]string`; the engine reads the first) with the tenant's label. */
export function labelBuildQuery(query: URLSearchParams, tenant: string): URLSearchParams {
  const all = query.getAll('labels')
  if (all.length > 1) throw refuse('ImageBuild', tenant, 'the labels parameter is given more than once (the engine reads only the first)')
  let labels: JsonValue | undefined
  if (all[0] !== undefined && all[0] !== '') {
    try {
      labels = decodeBody(Buffer.from(all[0], 'utf8'), mapOf())
    } catch (err) {
      if (err instanceof BodyError) throw refuse('ImageBuild', tenant, `the labels parameter is not JSON dockgate can read (${err.reason})`)
      throw err
    }
    if (isObject(labels) && labels.entries.some(([, v]) => typeof v !== 'string')) throw refuse('ImageBuild', tenant, 'the labels parameter holds a value that is not a string')
  }
  const out = new URLSearchParams(query)
  out.set('labels', encodeBody(labelled(labels, tenant, 'ImageBuild', 'query.labels')))
  return out
}

/**
 * ImageCommit's and an import's `changes` (Dockerfile lines, joined by newlines) with a last
 * `LABEL` line. A client line ending in an escape character (`\`, or `` ` `` after an escape
 * directive) would continue into that line, even across comment and empty lines, and a heredoc
 * (`<<`) could swallow it: both are refused.
 */
export function labelChanges(query: URLSearchParams, tenant: string, operationId: string): URLSearchParams {
  const lines = query.getAll('changes').join('\n').split('\n')
  if (lines.some((l) => /[\\`]\s*$/.test(l))) throw refuse(operationId, tenant, 'a changes line ends in an escape character, which would join it to the label dockgate adds')
  if (lines.some((l) => l.includes('<<'))) throw refuse(operationId, tenant, 'a changes line holds a heredoc ("<<"), which could take in the label dockgate adds')
  const out = new URLSearchParams(query)
  out.append('changes', `LABEL ${TENANT_LABEL}=${tenant}`)
  return out
}
