/**
 * References in bodies that matter only between tenants, on top of the ones every client's are
 * checked for (guards/references.ts): the networks a container joins (`HostConfig.NetworkMode`
 * naming a network, the keys of `NetworkingConfig.EndpointsConfig`, an endpoint's `NetworkID`)
 * and the containers an endpoint links to (`Links`, `container:alias`, in EndpointsConfig and in
 * a network connect's `EndpointConfig`). Each must be the tenant's own (tenant/view.ts).
 *
 * `default`, `bridge`, `host` and `none` are network modes, not references (moby
 * api/types/container NetworkMode.IsUserDefined); `container:<ref>` is a container reference
 * already.
 */
import { isArray, isObject, valueAt, type JsonObject, type JsonValue } from '../body/json-value.js'
import { DockgateError } from '../errors.js'
import type { BodyReference } from '../guards/types.js'
import { TENANT_LABEL } from './labels.js'

const MODES: ReadonlySet<string> = new Set(['', 'default', 'bridge', 'host', 'none'])

function isNetworkRef(mode: string): boolean {
  return !MODES.has(mode) && !mode.toLowerCase().startsWith('container:')
}

/** An EndpointSettings: its Links (containers) and NetworkID (a network). */
function endpointRefs(ep: JsonValue | undefined, base: ReadonlyArray<string | number>, at: string): BodyReference[] {
  if (!isObject(ep)) return []
  const refs: BodyReference[] = []
  const linksKey = ep.keyOf('Links')
  const links = ep.field('Links')
  if (linksKey !== undefined && isArray(links)) {
    links.forEach((link, i) => {
      if (typeof link !== 'string') return
      const [name = '', alias] = link.split(':')
      const as = alias ?? name.replace(/^\//, '')
      refs.push({ kind: 'container', use: 'link', field: `${at}.Links[${i}]`, ref: name, path: [...base, linksKey, i], rewrite: (id) => `${id}:${as}` })
    })
  }
  const idKey = ep.keyOf('NetworkID')
  const id = ep.field('NetworkID')
  if (idKey !== undefined && typeof id === 'string' && id !== '') {
    refs.push({ kind: 'network', use: 'network', field: `${at}.NetworkID`, ref: id, path: [...base, idKey], rewrite: (v) => v })
  }
  return refs
}

/** ContainerCreate: NetworkMode, EndpointsConfig (keys, Links, NetworkID). */
function containerCreateRefs(body: JsonObject): BodyReference[] {
  const refs: BodyReference[] = []
  const hostKey = body.keyOf('HostConfig')
  const host = body.field('HostConfig')
  const modeKey = isObject(host) ? host.keyOf('NetworkMode') : undefined
  const mode = isObject(host) ? host.field('NetworkMode') : undefined
  if (hostKey !== undefined && modeKey !== undefined && typeof mode === 'string' && isNetworkRef(mode)) {
    refs.push({ kind: 'network', use: 'network', field: 'HostConfig.NetworkMode', ref: mode, path: [hostKey, modeKey], rewrite: (v) => v })
  }
  const ncKey = body.keyOf('NetworkingConfig')
  const nc = body.field('NetworkingConfig')
  const epcKey = isObject(nc) ? nc.keyOf('EndpointsConfig') : undefined
  const epc = isObject(nc) ? nc.field('EndpointsConfig') : undefined
  if (ncKey === undefined || epcKey === undefined || !isObject(epc)) return refs
  for (const [name, ep] of epc.entries) {
    const at = `NetworkingConfig.EndpointsConfig[${JSON.stringify(name)}]`
    refs.push(...endpointRefs(ep, [ncKey, epcKey, name], at))
    if (isNetworkRef(name)) refs.push({ kind: 'network', use: 'network', field: at, ref: name, path: [ncKey, epcKey, name], rewrite: (v) => v, key: true })
  }
  return refs
}

/** The references a tenant's body holds besides the guard's (guards/references.ts). */
export function tenantReferences(operationId: string, body: JsonValue | undefined): BodyReference[] {
  if (!isObject(body)) return []
  if (operationId === 'ContainerCreate') return containerCreateRefs(body)
  if (operationId === 'NetworkConnect' || operationId === 'NetworkDisconnect') {
    const k = body.keyOf('EndpointConfig')
    return k === undefined ? [] : endpointRefs(body.field('EndpointConfig'), [k], 'EndpointConfig')
  }
  return []
}

/** A VolumeCreate body, as the engine would make a named volume a container mounts. */
export interface VolumeSpec {
  readonly Name: string
  readonly Driver?: string
  readonly DriverOpts?: Readonly<Record<string, string>>
  readonly Labels: Readonly<Record<string, string>>
}

function strings(value: JsonValue | undefined, field: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isObject(value)) return out
  for (const [k, v] of value.entries) {
    if (typeof v !== 'string') throw new DockgateError('DG_REQ_BAD_BODY', `ContainerCreate refused: ${field}[${JSON.stringify(k)}] is not a string`)
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/**
 * What the engine would create for a named volume that a container mounts and that does not
 * exist yet (moby daemon/volumes.go: the container's VolumeDriver for Binds, a mount's
 * VolumeOptions), with the tenant's label: dockgate creates it first, so that it is the
 * tenant's (tenant/view.ts createVolume).
 */
export function implicitVolume(body: JsonValue, r: BodyReference, tenant: string): VolumeSpec {
  if (r.field.startsWith('HostConfig.Binds')) {
    const host = valueAt(body, r.path.slice(0, 1))
    const driver = isObject(host) ? host.field('VolumeDriver') : undefined
    return { Name: r.ref, ...(typeof driver === 'string' && driver !== '' ? { Driver: driver } : {}), Labels: { [TENANT_LABEL]: tenant } }
  }
  const mount = valueAt(body, r.path.slice(0, -1))
  const options = isObject(mount) ? mount.field('VolumeOptions') : undefined
  const config = isObject(options) ? options.field('DriverConfig') : undefined
  const driver = isObject(config) ? config.field('Name') : undefined
  const driverOpts = strings(isObject(config) ? config.field('Options') : undefined, `${r.field}.VolumeOptions.DriverConfig.Options`)
  const labels = strings(isObject(options) ? options.field('Labels') : undefined, `${r.field}.VolumeOptions.Labels`)
  labels[TENANT_LABEL] = tenant
  return {
    Name: r.ref,
    ...(typeof driver === 'string' && driver !== '' ? { Driver: driver } : {}),
    ...(Object.keys(driverOpts).length > 0 ? { DriverOpts: driverOpts } : {}),
    Labels: labels,
  }
}
