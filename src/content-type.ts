/**
 * The request's Content-Type, read the way only one reading is possible.
 *
 * The engine's handlers call Go's Request.ParseForm (moby httputils.ParseForm), which parses the
 * media type with mime.ParseMediaType and, when it is `application/x-www-form-urlencoded`, puts
 * the body's parameters ahead of the query string's — and does so even when the parameters after
 * the media type are malformed (ParseMediaType returns the type with an error, which ParseForm's
 * caller ignores). ParseMediaType lowercases and trims with Unicode rules, so spellings that are
 * not ASCII can still be a form to the engine (net/http request.go parsePostForm; mime
 * mediatype.go). Rather than emulate that, dockgate accepts a strict subset:
 *   - one Content-Type header, of printable ASCII only;
 *   - `type/subtype` as RFC 9110 tokens, then `; name=value` parameters (token or quoted string);
 *   - a media type (lower-cased) that the operation's body kind lists (operations.ts CONTENT_TYPES).
 * Everything else is refused, so no body reaches the engine under a type it could read as a form.
 */
import { DockgateError } from './errors.js'
import { CONTENT_TYPES } from './operations.js'
import type { ApiRequest } from './types.js'

/** RFC 9110 §5.6.2 token. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
/** RFC 9110 §5.6.4 quoted-string, ASCII only (obs-text is refused). */
const QUOTED = '"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"'
const MEDIA_TYPE = new RegExp(`^(${TOKEN})/(${TOKEN})((?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*)[ \\t]*;?[ \\t]*$`)
/** Form types: the engine would take query parameters from the body (ParseForm, FormValue). */
const FORMS: ReadonlySet<string> = new Set(['application/x-www-form-urlencoded', 'multipart/form-data'])

/** The media type of a Content-Type value, lower-cased, or undefined when it does not parse strictly. */
export function mediaType(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[^\t\x20-\x7e]/.test(value)) return undefined
  const m = MEDIA_TYPE.exec(value.replace(/^[ \t]+/, ''))
  return m === null ? undefined : `${m[1]!}/${m[2]!}`.toLowerCase()
}

/**
 * Checks the Content-Type of a request that has a body. `values` are the Content-Type header
 * values as received (node:http keeps only the first in `headers`, so pass them from rawHeaders).
 */
export function checkContentType(api: ApiRequest, values: readonly string[]): void {
  const what = `${api.operation.id} (${api.method} ${api.path})`
  if (values.length === 0) return // RFC 9110 §8.3: the recipient may assume octet-stream; not a form.
  if (values.length > 1) throw new DockgateError('DG_REQ_CONTENT_TYPE', `${what}: the request has ${values.length} Content-Type headers; send one`)
  const type = mediaType(values[0]!)
  if (type === undefined) {
    throw new DockgateError('DG_REQ_CONTENT_TYPE', `${what}: the Content-Type header does not parse as type/subtype with parameters in printable ASCII, so the engine could read it differently`)
  }
  if (FORMS.has(type)) {
    throw new DockgateError('DG_REQ_FORM_BODY', `${what}: ${type} request bodies are refused (the engine would read parameters from them that dockgate did not check)`)
  }
  const accepted = CONTENT_TYPES[api.operation.body]
  if (!accepted.includes(type)) {
    throw new DockgateError('DG_REQ_CONTENT_TYPE', `${what}: a body of type ${type} is not accepted here; send ${accepted.join(' or ')}`)
  }
}

/** The values of every Content-Type header of a request, from node's rawHeaders. */
export function contentTypeValues(rawHeaders: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (name.length === 12 && name.toLowerCase() === 'content-type') out.push(rawHeaders[i + 1]!)
  }
  return out
}
