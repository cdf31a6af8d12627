/**
 * Image (and plugin) references, normalised the way the engine resolves them
 * (distribution/reference ParseNormalizedNamed: `busybox` is `docker.io/library/busybox:latest`),
 * so that a policy glob sees every spelling of one image.
 *
 * A glob is matched against each spelling of the reference: familiar (`busybox:latest`,
 * `ghcr.io/org/app:1`) and fully qualified (`docker.io/library/busybox:latest`); with a digest,
 * `name@sha256:…` and `name:tag@sha256:…`. Allowed when any spelling matches.
 *
 * An image *id* cannot be checked against names: `sha256:<hex>`, 64 hex digits, and an untagged
 * all-hex name (the engine falls back to an id-prefix search when no such name exists, moby
 * `daemon/images/image.go` GetImage). These are refused whenever an allowlist is in force.
 */
import type { GlobList } from './glob.js'

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/

export type ImageRef =
  | { readonly kind: 'name'; readonly forms: readonly string[] }
  | { readonly kind: 'id' }
  | { readonly kind: 'invalid' }

function isDomain(first: string): boolean {
  if (!(first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) return false
  const [host = '', port] = first.split(':', 2)
  if (port !== undefined && !/^[0-9]+$/.test(port)) return false
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c))
}

/** Parses a reference as a client sent it (`fromImage`, `Config.Image`, a plugin `remote`). */
export function parseImageRef(raw: string): ImageRef {
  if (/^sha256:[0-9a-f]+$/.test(raw) || /^[0-9a-f]{64}$/.test(raw)) return { kind: 'id' }
  let rest = raw
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) return { kind: 'invalid' }
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) return { kind: 'invalid' }
  }
  const parts = rest.split('/')
  let domain = 'docker.io'
  if (parts.length > 1 && isDomain(parts[0] ?? '')) domain = parts.shift() ?? domain
  if (domain === 'index.docker.io') domain = 'docker.io'
  if (parts.length === 0 || !parts.every((p) => PATH_COMPONENT.test(p))) return { kind: 'invalid' }
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library')
  const path = parts.join('/')
  if (tag === undefined && digest === undefined && domain === 'docker.io' && /^library\/[0-9a-f]+$/.test(path) && !raw.includes('/')) {
    return { kind: 'id' }
  }
  const full = `${domain}/${path}`
  const familiar = domain === 'docker.io' ? (path.startsWith('library/') ? path.slice('library/'.length) : path) : full
  const names = familiar === full ? [full] : [familiar, full]
  const forms: string[] = []
  for (const name of names) {
    if (digest !== undefined) {
      forms.push(`${name}@${digest}`)
      if (tag !== undefined) forms.push(`${name}:${tag}@${digest}`)
    } else {
      forms.push(`${name}:${tag ?? 'latest'}`)
    }
  }
  return { kind: 'name', forms }
}

/**
 * Checks a reference against an allowlist, the policy key `key` (`guards.container.images`);
 * undefined when allowed, else why not, naming the key. `allow === null` means no allowlist:
 * everything passes (ids included).
 */
export function imageRefProblem(raw: string, allow: GlobList | null, key: string): string | undefined {
  if (allow === null) return undefined
  const ref = parseImageRef(raw)
  if (ref.kind === 'id') return `is an image id, which cannot be checked against the names in ${key}`
  if (ref.kind === 'invalid') return `is not a valid image reference, so ${key} cannot be checked`
  return ref.forms.some((f) => allow.matches(f)) ? undefined : `is not in ${key}`
}

/**
 * The repository of a reference, fully qualified and without tag or digest
 * (`busybox:1.36` → `docker.io/library/busybox`), or undefined for an image id or an invalid one.
 */
export function imageRepository(raw: string): string | undefined {
  const ref = parseImageRef(raw)
  if (ref.kind !== 'name') return undefined
  const full = ref.forms[ref.forms.length - 1]!
  const at = full.indexOf('@')
  const name = at >= 0 ? full.slice(0, at) : full
  const colon = name.lastIndexOf(':')
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name
}
