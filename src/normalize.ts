/**
 * Raw method + request target → canonical ApiRequest, or a DockgateError.
 *
 * The engine routes on the percent-decoded path (Go's net/url, then gorilla/mux, which 301s unclean
 * paths) and parses queries with Go's url.ParseQuery (docs/engine-notes.md, "Routing").
 * WHATWG URL does neither. Rather than emulate every corner, dockgate accepts a strict subset whose
 * meaning is the same in Go and here, refuses everything else with 400, and forwards the canonical
 * form it decided on, so the engine cannot act on anything other than what was checked.
 */
import { DockgateError } from './errors.js'
import { matchEndpoint } from './endpoints.js'
import type { ApiRequest, HttpMethod } from './types.js'

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'])

/**
 * Characters allowed in a decoded path segment. Covers every identifier the Engine API puts in a
 * path: container/volume/network names, hex ids, image references (`ghcr.io/org/app:1.2@sha256:…`),
 * plugin names. Anything else (space, `%`, `;`, `\`, control or non-ASCII) is refused, so the
 * canonical form needs no escaping and Go's decoding of it is the identity.
 */
const SEGMENT = /^[A-Za-z0-9._~:@+=,-]+$/

/** The engine's version matcher is `/v{version:[0-9.]+}`; we accept only plain `major.minor`. */
const VERSION_LIKE = /^v[0-9.]+$/
const VERSION = /^v([0-9]{1,4}\.[0-9]{1,4})$/

function refuse(code: 'DG_REQ_AMBIGUOUS_PATH' | 'DG_REQ_BAD_TARGET', what: string): never {
  throw new DockgateError(code, what)
}

/** Go's url.PathUnescape, minus anything that would make the result ambiguous. */
function decodeSegment(raw: string, rawPath: string): string {
  let out = ''
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!
    if (c !== '%') {
      out += c
      continue
    }
    const hex = raw.slice(i + 1, i + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) refuse('DG_REQ_AMBIGUOUS_PATH', `malformed percent-escape in path ${JSON.stringify(rawPath)}`)
    const byte = parseInt(hex, 16)
    if (byte === 0x2f) refuse('DG_REQ_AMBIGUOUS_PATH', `encoded "/" (%2F) in path ${JSON.stringify(rawPath)}`)
    out += String.fromCharCode(byte)
    i += 2
  }
  return out
}

/** Go's url.ParseQuery with the differences refused: `;` separators and malformed escapes. */
function decodeQueryComponent(raw: string, where: string): string {
  const plus = raw.replace(/\+/g, ' ')
  if (/%(?![0-9A-Fa-f]{2})/.test(plus)) {
    throw new DockgateError('DG_REQ_AMBIGUOUS_PATH', `malformed percent-escape in query ${where}`)
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(plus)
  } catch {
    throw new DockgateError('DG_REQ_AMBIGUOUS_PATH', `query ${where} is not valid UTF-8 after decoding`)
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(decoded)) {
    throw new DockgateError('DG_REQ_AMBIGUOUS_PATH', `control character in query ${where}`)
  }
  return decoded
}

export function encodeQueryComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

export function parseQuery(rawQuery: string): { query: URLSearchParams; canonical: string } {
  if (rawQuery.includes(';')) {
    // Go ≤1.16 split queries on ';' too; newer Go drops the pair. Either way it differs from us.
    throw new DockgateError('DG_REQ_AMBIGUOUS_PATH', `";" in the query string (Go splits or drops such pairs)`)
  }
  const query = new URLSearchParams()
  const parts: string[] = []
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue // Go skips empty pairs too
    const eq = pair.indexOf('=')
    // Messages name the parameter, never its value: queries can carry credentials.
    const key = decodeQueryComponent(eq < 0 ? pair : pair.slice(0, eq), `parameter #${parts.length + 1}`)
    const value = eq < 0 ? '' : decodeQueryComponent(pair.slice(eq + 1), `parameter ${JSON.stringify(key.slice(0, 40))}`)
    query.append(key, value)
    parts.push(encodeQueryComponent(key) + '=' + encodeQueryComponent(value))
  }
  return { query, canonical: parts.join('&') }
}

/** Canonical path split: version prefix (if any) and the decoded, checked path below it. */
export function normalizePath(rawPath: string): { version: string | undefined; path: string } {
  if (!rawPath.startsWith('/')) refuse('DG_REQ_BAD_TARGET', `request target must be an absolute path, got ${JSON.stringify(rawPath.slice(0, 100))}`)
  if (rawPath.includes('\\')) refuse('DG_REQ_AMBIGUOUS_PATH', `backslash in path ${JSON.stringify(rawPath)}`)
  const segments = rawPath.slice(1).split('/').map((s) => decodeSegment(s, rawPath))
  for (const seg of segments) {
    if (seg === '') refuse('DG_REQ_AMBIGUOUS_PATH', `empty path segment in ${JSON.stringify(rawPath)} (the engine would redirect it)`)
    if (seg === '.' || seg === '..') refuse('DG_REQ_AMBIGUOUS_PATH', `dot segment in path ${JSON.stringify(rawPath)}`)
    // No Engine API identifier ends in ':', and proxy path joins rewrite "http:/" to "http://".
    if (seg.endsWith(':')) refuse('DG_REQ_AMBIGUOUS_PATH', `path segment ending in ":" in ${JSON.stringify(rawPath)}`)
    if (!SEGMENT.test(seg)) refuse('DG_REQ_AMBIGUOUS_PATH', `path ${JSON.stringify(rawPath)} has characters dockgate does not forward (allowed: letters, digits and ._~:@+=,-)`)
  }
  let version: string | undefined
  if (segments.length > 0 && VERSION_LIKE.test(segments[0]!)) {
    const m = VERSION.exec(segments[0]!)
    if (!m) refuse('DG_REQ_AMBIGUOUS_PATH', `API version prefix ${JSON.stringify(segments[0])} is not of the form vMAJOR.MINOR`)
    version = m[1]
    segments.shift()
    if (segments.length > 0 && VERSION_LIKE.test(segments[0]!)) refuse('DG_REQ_AMBIGUOUS_PATH', `two API version prefixes in ${JSON.stringify(rawPath)}`)
  }
  return { version, path: '/' + segments.join('/') }
}

/** The request target forwarded to the engine: version prefix, canonical path, canonical query. */
export function canonicalTarget(version: string | undefined, path: string, rawQuery: string): string {
  return (version === undefined ? '' : `/v${version}`) + path + (rawQuery === '' ? '' : '?' + rawQuery)
}

/** The same request with `query` as its query, canonical (re-encoded as normalize forwards it). */
export function withQuery(api: ApiRequest, query: URLSearchParams): ApiRequest {
  const rawQuery = [...query].map(([k, v]) => `${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`).join('&')
  return { ...api, query, rawQuery, target: canonicalTarget(api.version, api.path, rawQuery) }
}

/**
 * Normalise a request as received by node:http. Throws DockgateError (400/403) on anything the
 * engine could read differently, or on a path that is not an Engine API endpoint.
 */
export function normalize(method: string, url: string): ApiRequest {
  if (!METHODS.has(method)) {
    throw new DockgateError('DG_REQ_BAD_METHOD', `method ${JSON.stringify(method.slice(0, 20))} is not used by the Engine API`)
  }
  if (url.includes('#')) refuse('DG_REQ_BAD_TARGET', `fragment in request target`)
  // eslint-disable-next-line no-control-regex
  if (/[^\x21-\x7e]/.test(url)) refuse('DG_REQ_AMBIGUOUS_PATH', `request target has spaces, control or non-ASCII characters`)
  const q = url.indexOf('?')
  const rawPath = q < 0 ? url : url.slice(0, q)
  const rawQuery = q < 0 ? '' : url.slice(q + 1)
  const { version, path } = normalizePath(rawPath)
  const { query, canonical } = parseQuery(rawQuery)
  const m = method as HttpMethod
  const match = matchEndpoint(m, path)
  if (!match) {
    throw new DockgateError('DG_REQ_UNKNOWN_ENDPOINT', `${m} ${path} is not an Engine API endpoint dockgate knows`)
  }
  const target = canonicalTarget(version, path, canonical)
  return { method: m, version, path, rawQuery: canonical, query, target, operation: match.operation, params: match.params }
}
