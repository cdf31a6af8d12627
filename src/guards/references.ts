/**
 * The existing containers and volumes a body names: VolumesFrom, `container:<ref>` namespace
 * modes, Links, the container of a network connect, named volumes in Binds and Mounts. The engine
 * looks these up by name when it acts; dockgate resolves them first (target.ts), checks what they
 * really are, and forwards the body naming them by full id, so that a container created or renamed
 * under that name in between cannot be the one used.
 *
 * Wrong-typed fields are not references: the guards already refuse them.
 */
import { isArray, isObject, type JsonObject, type JsonValue } from '../body/json-value.js'
import type { BodyReference } from './types.js'

/** Namespace fields that may say `container:<ref>` (moby api/types/container/hostconfig.go). */
const NAMESPACE_FIELDS = ['NetworkMode', 'PidMode', 'IpcMode', 'Cgroup'] as const

function key(obj: JsonObject, name: string): string | undefined {
  return obj.keyOf(name)
}

/** Named volumes of `Binds` (`name:/target[:mode]`) and `Mounts` of type volume. */
function volumeRefs(host: JsonObject, base: ReadonlyArray<string | number>, at: string): BodyReference[] {
  const refs: BodyReference[] = []
  const bindsKey = key(host, 'Binds')
  const binds = host.field('Binds')
  if (bindsKey !== undefined && isArray(binds)) {
    binds.forEach((b, i) => {
      if (typeof b !== 'string') return
      const parts = b.split(':')
      const src = parts[0] ?? ''
      if (parts.length > 1 && src !== '' && !src.startsWith('/')) {
        refs.push({ kind: 'volume', use: 'mount', field: `${at}Binds[${i}]`, ref: src, path: [...base, bindsKey, i] })
      }
    })
  }
  refs.push(...mountVolumeRefs(host, base, at))
  return refs
}

/** `Mounts[]` of type volume with a name (HostConfig, or a service's ContainerSpec). */
function mountVolumeRefs(parent: JsonObject, base: ReadonlyArray<string | number>, at: string): BodyReference[] {
  const refs: BodyReference[] = []
  const mountsKey = key(parent, 'Mounts')
  const mounts = parent.field('Mounts')
  if (mountsKey === undefined || !isArray(mounts)) return refs
  mounts.forEach((m, i) => {
    if (!isObject(m)) return
    const type = m.field('Type')
    const src = m.field('Source')
    const srcKey = key(m, 'Source')
    if (typeof type === 'string' && type.toLowerCase() === 'volume' && typeof src === 'string' && src !== '' && srcKey !== undefined) {
      refs.push({ kind: 'volume', use: 'mount', field: `${at}Mounts[${i}]`, ref: src, path: [...base, mountsKey, i, srcKey] })
    }
  })
  return refs
}

/** ContainerCreate: VolumesFrom, namespace modes, Links, named volumes. */
export function containerCreateReferences(body: JsonValue | undefined): BodyReference[] {
  if (!isObject(body)) return []
  const hostKey = key(body, 'HostConfig')
  const host = body.field('HostConfig')
  if (hostKey === undefined || !isObject(host)) return []
  const base = [hostKey]
  const refs: BodyReference[] = []
  const vfKey = key(host, 'VolumesFrom')
  const vf = host.field('VolumesFrom')
  if (vfKey !== undefined && isArray(vf)) {
    vf.forEach((spec, i) => {
      if (typeof spec !== 'string') return
      const [name = '', ...mode] = spec.split(':')
      // moby volume/mounts parser: `ro` makes every inherited mount read-only; `rw` or nothing keeps each as it is.
      const readOnly = mode.join(':').split(',').includes('ro')
      refs.push({ kind: 'container', use: 'volumes-from', field: `HostConfig.VolumesFrom[${i}]`, ref: name, path: [...base, vfKey, i], rewrite: (id) => [id, ...mode].join(':'), readOnly })
    })
  }
  for (const field of NAMESPACE_FIELDS) {
    const k = key(host, field)
    const v = host.field(field)
    if (k === undefined || typeof v !== 'string' || !v.toLowerCase().startsWith('container:')) continue
    refs.push({ kind: 'container', use: 'namespace', field: `HostConfig.${field}`, ref: v.slice('container:'.length), path: [...base, k], rewrite: (id) => `container:${id}` })
  }
  const linksKey = key(host, 'Links')
  const links = host.field('Links')
  if (linksKey !== undefined && isArray(links)) {
    links.forEach((link, i) => {
      if (typeof link !== 'string') return
      const [name = '', alias] = link.split(':')
      // The alias defaults to the name as written; keep it when naming the target by id.
      const as = alias ?? name.replace(/^\//, '')
      refs.push({ kind: 'container', use: 'link', field: `HostConfig.Links[${i}]`, ref: name, path: [...base, linksKey, i], rewrite: (id) => `${id}:${as}` })
    })
  }
  refs.push(...volumeRefs(host, base, 'HostConfig.'))
  return refs
}

/** NetworkConnect / NetworkDisconnect: `Container`. */
export function networkConnectReferences(body: JsonValue | undefined): BodyReference[] {
  if (!isObject(body)) return []
  const k = key(body, 'Container')
  const v = body.field('Container')
  if (k === undefined || typeof v !== 'string' || v === '') return []
  return [{ kind: 'container', use: 'connect', field: 'Container', ref: v, path: [k], rewrite: (id) => id }]
}

/** ServiceCreate / ServiceUpdate: named volumes in `TaskTemplate.ContainerSpec.Mounts`. */
export function serviceReferences(body: JsonValue | undefined): BodyReference[] {
  if (!isObject(body)) return []
  const ttKey = key(body, 'TaskTemplate')
  const tt = body.field('TaskTemplate')
  if (ttKey === undefined || !isObject(tt)) return []
  const csKey = key(tt, 'ContainerSpec')
  const cs = tt.field('ContainerSpec')
  if (csKey === undefined || !isObject(cs)) return []
  return mountVolumeRefs(cs, [ttKey, csKey], 'TaskTemplate.ContainerSpec.')
}
