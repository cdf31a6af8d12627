/**
 * The `filters` query parameter of lists, prunes and events, read as the engine reads it (moby
 * api/types/filters FromJSON): JSON decoded into `map[string]map[string]bool`
 * (`{"label":{"a=b":true}}`), or, when that fails, into the legacy `map[string][]string`
 * (`{"label":["a=b"]}`); an empty parameter, or `null`, is no filter. Each key's values are a
 * set: the bools are never read (Args.Get, ExactMatch and MatchKVList range over the map's keys).
 * The engine reads the first `filters` parameter only (Request.Form.Get).
 *
 * A tenant's request gets `label=dockgate.tenant=<name>` added. Values of `label` are a
 * conjunction (Args.MatchKVList: every one must match) and so are different keys (events
 * filter.Include, the container list's includeContainerInList, the volume and network lists), so
 * a client's own filters — another tenant's label, a case variant, any key — can narrow what the
 * engine answers, never widen it.
 *
 * What dockgate cannot read exactly as Go does is refused rather than guessed: duplicate keys
 * (Go keeps the last), a value of a type Go would coerce (`null` inside a list reads as ""),
 * mixed forms, anything but an object. The filters are forwarded re-encoded in the current form.
 */
import { BodyError, decodeBody } from '../body/gojson.js'
import { isArray, isObject } from '../body/json-value.js'
import { mapOf } from '../body/shape.js'
import { DockgateError } from '../errors.js'

/** Filter key → its values, each with the bool it was sent with (true for the legacy form). */
export type Filters = ReadonlyMap<string, ReadonlyMap<string, boolean>>

/** Both levels are Go maps: keys are data, compared exactly. */
const FILTERS_SHAPE = mapOf(mapOf())

function unreadable(why: string): DockgateError {
  return new DockgateError('DG_REQ_AMBIGUOUS_PATH', `the filters parameter ${why}; dockgate forwards only filters it reads exactly as the engine does: send a JSON object of lists of strings, like {"label":["a=b"]}`)
}

/** Parses one `filters` value; throws DG_REQ_AMBIGUOUS_PATH for what the engine could read otherwise (or would refuse). */
export function parseFilters(raw: string): Filters {
  if (raw === '') return new Map()
  let value
  try {
    value = decodeBody(Buffer.from(raw, 'utf8'), FILTERS_SHAPE)
  } catch (err) {
    if (err instanceof BodyError) throw unreadable(`is not JSON dockgate can read (${err.reason})`)
    throw err
  }
  if (value === null) return new Map()
  if (!isObject(value)) throw unreadable('is not a JSON object')
  const modern = value.entries.every(([, v]) => v === null || (isObject(v) && v.entries.every(([, b]) => typeof b === 'boolean')))
  const legacy = value.entries.every(([, v]) => v === null || (isArray(v) && v.every((s) => typeof s === 'string')))
  if (!modern && !legacy) throw unreadable('mixes forms or holds values other than strings and true/false')
  const out = new Map<string, Map<string, boolean>>()
  for (const [key, v] of value.entries) {
    const values = new Map<string, boolean>()
    if (isObject(v)) for (const [name, b] of v.entries) values.set(name, b === true)
    else if (isArray(v)) for (const s of v) values.set(s as string, true)
    out.set(key, values)
  }
  return out
}

/** The filters as JSON in the engine's current form (written by hand: a key may be `__proto__`). */
export function formatFilters(filters: Filters): string {
  const keys = [...filters].map(([key, values]) => `${JSON.stringify(key)}:{${[...values].map(([v, b]) => `${JSON.stringify(v)}:${String(b)}`).join(',')}}`)
  return `{${keys.join(',')}}`
}

/** `filters` with one more `label` value (a conjunction: it only narrows). */
export function withLabelFilter(filters: Filters, label: string): Filters {
  const out = new Map(filters)
  out.set('label', new Map([...(filters.get('label') ?? []), [label, true]]))
  return out
}

/** The one `filters` parameter of a query (absent: ''); several are refused: the engine reads only the first. */
export function filtersParam(query: URLSearchParams): string {
  const all = query.getAll('filters')
  if (all.length > 1) throw unreadable('is given more than once (the engine reads only the first)')
  return all[0] ?? ''
}
