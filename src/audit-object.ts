/**
 * The `object` of an audit record: what the request acts on, as the client named it.
 *
 * - the path's `{id}` or `{name}`: a container, exec, volume, network, image, plugin, service…
 * - images named in the query: ImageCreate `fromImage` (+ `tag`), ImagePush `{name}` (+ `tag`),
 *   ImageTag `{name}` → `repo` (+ `tag`), ImageCommit's `container` → `repo` (+ `tag`)
 * - ContainerCreate: the body's `Image`, when dockgate read the body (every policy but `full`)
 *
 * Nothing else of the query or body: `X-Registry-Auth`, env values and other options never
 * reach the record.
 */
import type { ApiRequest } from './types.js'

const MAX = 256

function withTag(repo: string | null, tag: string | null): string | undefined {
  if (repo === null || repo === '') return undefined
  // A digest or a tag already in the reference wins over `tag` (as the engine reads it).
  return tag === null || tag === '' || repo.includes('@') ? repo : `${repo}:${tag}`
}

function fromQuery(api: ApiRequest): string | undefined {
  const q = api.query
  switch (api.operation.id) {
    case 'ImageCreate':
      return withTag(q.get('fromImage'), q.get('tag')) ?? withTag(q.get('repo'), q.get('tag'))
    case 'ImagePush':
      return withTag(api.params['name'] ?? null, q.get('tag'))
    case 'ImageTag': {
      const to = withTag(q.get('repo'), q.get('tag'))
      const from = api.params['name']
      return from === undefined ? to : to === undefined ? from : `${from} → ${to}`
    }
    case 'ImageCommit': {
      const to = withTag(q.get('repo'), q.get('tag'))
      const from = q.get('container') ?? undefined
      return from === undefined ? to : to === undefined ? from : `${from} → ${to}`
    }
    default:
      return undefined
  }
}

/** A create body's `Image`: only that key is looked at. */
function imageOfBody(body: Buffer | undefined): string | undefined {
  if (body === undefined || body.length === 0) return undefined
  try {
    const value: unknown = JSON.parse(body.toString('utf8'))
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
    const image = (value as Record<string, unknown>)['Image']
    return typeof image === 'string' && image !== '' ? image : undefined
  } catch {
    return undefined
  }
}

const cut = (s: string | undefined): string | undefined => (s === undefined ? undefined : s.length > MAX ? `${s.slice(0, MAX)}…` : s)

/** What `api` acts on; `body` is the canonical body dockgate read (ContainerCreate's Image). */
export function objectOf(api: ApiRequest, body?: Buffer): string | undefined {
  if (api.operation.id === 'ContainerCreate') return cut(imageOfBody(body))
  return cut(fromQuery(api) ?? api.params['id'] ?? api.params['name'])
}

