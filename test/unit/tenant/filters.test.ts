/**
 * tenant/filters.ts: a tenant's `filters` parameter, read as moby's filters.FromJSON reads it and
 * narrowed with the tenant's label. Each row was checked against dockerd 20.10's answer to
 * `GET /containers/json?all=1&filters=…`: where the engine reads something, dockgate reads the
 * same; where the engine would fail or Go could read it two ways, dockgate refuses.
 */
import { describe, expect, test } from 'vitest'
import { filtersParam, formatFilters, parseFilters, withLabelFilter } from '../../../src/tenant/filters.js'
import { normalize } from '../../../src/normalize.js'
import { scopeRequest } from '../../../src/tenant/request.js'

const ALICE = 'dockgate.tenant=alice'
const rewrite = (raw: string): string => formatFilters(withLabelFilter(parseFilters(raw), ALICE))

describe('what a tenant\'s filters become', () => {
  test.each([
    ['no filters at all', '', `{"label":{"${ALICE}":true}}`],
    ['null (Go leaves the map empty)', 'null', `{"label":{"${ALICE}":true}}`],
    ['an empty object', '{}', `{"label":{"${ALICE}":true}}`],
    ['the current form, another key kept', '{"status":{"running":true}}', `{"status":{"running":true},"label":{"${ALICE}":true}}`],
    ['the legacy form becomes the current one', '{"status":["running","exited"]}', `{"status":{"running":true,"exited":true},"label":{"${ALICE}":true}}`],
    ['the client\'s own label filter stays: both must match (narrower)', '{"label":["app=web"]}', `{"label":{"app=web":true,"${ALICE}":true}}`],
    ['another tenant\'s label: both must match, so nothing does', '{"label":["dockgate.tenant=bob"]}', `{"label":{"dockgate.tenant=bob":true,"${ALICE}":true}}`],
    ['another tenant\'s label in the current form', '{"label":{"dockgate.tenant=bob":true}}', `{"label":{"dockgate.tenant=bob":true,"${ALICE}":true}}`],
    ['false is read as present by the engine, and kept', '{"label":{"dockgate.tenant=bob":false}}', `{"label":{"dockgate.tenant=bob":false,"${ALICE}":true}}`],
    ['a case variant of the key is the engine\'s to refuse ("Invalid filter")', '{"Label":["dockgate.tenant=bob"]}', `{"Label":{"dockgate.tenant=bob":true},"label":{"${ALICE}":true}}`],
    ['the bare label key (any value)', '{"label":["dockgate.tenant"]}', `{"label":{"dockgate.tenant":true,"${ALICE}":true}}`],
    ['label null in the current form', '{"label":null}', `{"label":{"${ALICE}":true}}`],
    ['label null next to a legacy list (Go falls back to the legacy form)', '{"label":null,"status":["created"]}', `{"label":{"${ALICE}":true},"status":{"created":true}}`],
    ['label!= (prune) is one more conjunct', '{"label!":["keep"]}', `{"label!":{"keep":true},"label":{"${ALICE}":true}}`],
    ['a key named __proto__ stays data', '{"__proto__":["x"]}', `{"__proto__":{"x":true},"label":{"${ALICE}":true}}`],
    ['our own label, given by the client', `{"label":["${ALICE}"]}`, `{"label":{"${ALICE}":true}}`],
    ['escapes decode as Go decodes them', '{"label":["\\u0061pp=1"]}', `{"label":{"app=1":true,"${ALICE}":true}}`],
    ['surrounding whitespace, as Go allows', ' {"label":[]} ', `{"label":{"${ALICE}":true}}`],
  ])('%s', (_name, raw, want) => {
    expect(rewrite(raw)).toBe(want)
    // What is forwarded reads back to the same filters.
    expect(formatFilters(parseFilters(want))).toBe(want)
  })
})

describe('what is refused rather than guessed', () => {
  test.each([
    ['a repeated key (Go keeps the last)', '{"label":["dockgate.tenant=alice"],"label":["x"]}', /duplicate key "label"/],
    ['a repeated value key', '{"label":{"a":true,"a":false}}', /duplicate key "a"/],
    ['a top-level list', '[]', /is not a JSON object/],
    ['a string', '"label=x"', /is not a JSON object/],
    ['not JSON', 'label=dockgate.tenant=bob', /is not JSON dockgate can read/],
    ['whitespace only (Go: unexpected end of input)', ' ', /is not JSON dockgate can read/],
    ['mixed forms (the engine fails both)', '{"label":{"a":true},"status":["exited"]}', /mixes forms/],
    ['null inside a list (Go reads it as "")', '{"label":["a",null]}', /mixes forms|values other than strings/],
    ['a number inside a list', '{"label":[1]}', /values other than strings/],
    ['a string where a bool goes', '{"label":{"a":"true"}}', /values other than strings/],
    ['trailing data', '{"label":[]}{}', /trailing data/],
    ['a lone surrogate escape (Go would write U+FFFD)', '{"label":["\\ud800"]}', /surrogate/],
  ])('%s', (_name, raw, message) => {
    expect(() => parseFilters(raw)).toThrow(expect.objectContaining({ code: 'DG_REQ_AMBIGUOUS_PATH', message: expect.stringMatching(message) }))
  })

  test('invalid UTF-8 in the parameter is refused before (normalize.ts)', () => {
    expect(() => normalize('GET', '/containers/json?filters=%7B%22label%22%3A%5B%22%FF%22%5D%7D')).toThrow(expect.objectContaining({ code: 'DG_REQ_AMBIGUOUS_PATH' }))
  })

  test('filters given twice are refused (the engine reads only the first)', () => {
    expect(() => filtersParam(new URLSearchParams('filters={}&filters={"label":["x"]}'))).toThrow(expect.objectContaining({ code: 'DG_REQ_AMBIGUOUS_PATH' }))
  })
})

describe('a tenant\'s list, prune and events requests', () => {
  test.each([
    ['GET', '/v1.41/containers/json?all=1'],
    ['GET', '/volumes'],
    ['GET', '/networks?filters=%7B%22driver%22%3A%5B%22bridge%22%5D%7D'],
    ['GET', '/events?since=0&filters=%7B%22label%22%3A%5B%22dockgate.tenant%3Dbob%22%5D%7D'],
    ['POST', '/containers/prune'],
    ['POST', '/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D'],
    ['POST', '/networks/prune'],
    ['POST', '/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D'],
  ])('%s %s is forwarded with the tenant\'s label among its filters', (method, url) => {
    const out = scopeRequest('alice', normalize(method, url), undefined, false).api
    expect(out.query.getAll('filters')).toHaveLength(1)
    expect(parseFilters(out.query.get('filters')!).get('label')?.get(ALICE)).toBe(true)
    // Everything else of the query is forwarded as it came.
    for (const [k, v] of normalize(method, url).query) if (k !== 'filters') expect(out.query.getAll(k)).toContain(v)
    expect(out.target).toBe(`${out.version === undefined ? '' : `/v${out.version}`}${out.path}?${out.rawQuery}`)
  })

  test('images are shared: their list is not filtered', () => {
    const api = normalize('GET', '/images/json')
    expect(scopeRequest('alice', api, undefined, false).api).toBe(api)
  })

  test('ContainerList\'s own since= and before= parameters are refused for a tenant', () => {
    expect(() => scopeRequest('alice', normalize('GET', '/containers/json?since=bobs'), undefined, false)).toThrow(expect.objectContaining({ code: 'DG_REQ_AMBIGUOUS_PATH' }))
  })
})
