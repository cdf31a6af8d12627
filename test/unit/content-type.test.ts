/** The Content-Type of a request with a body: one strict reading, or a refusal. */
import { describe, expect, test } from 'vitest'
import { checkContentType, contentTypeValues, mediaType } from '../../src/content-type.js'
import { normalize } from '../../src/normalize.js'

/** A header value as node:http hands it over: its bytes read as latin1. */
const wire = (s: string): string => Buffer.from(s, 'utf8').toString('latin1')

describe('mediaType', () => {
  test.each([
    ['application/json', 'application/json'],
    ['Application/JSON', 'application/json'],
    ['application/json; charset=utf-8', 'application/json'],
    ['application/json;charset="utf-8"', 'application/json'],
    ['  application/json ;  charset=utf-8  ', 'application/json'],
    ['application/json;', 'application/json'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x', 'multipart/form-data'],
  ])('%j → %s', (value, want) => {
    expect(mediaType(value)).toBe(want)
  })

  test.each([
    ['U+0130 (Go lowercases it to i)', wire('applİcation/x-www-form-urlencoded')],
    ['Kelvin sign', wire('application/json; charset=utf-8\u212a')],
    ['a leading no-break space (Go trims it)', wire('\u00a0application/x-www-form-urlencoded')],
    ['a trailing no-break space', wire('application/x-www-form-urlencoded\u00a0')],
    ['a malformed parameter (Go still returns the type)', 'application/x-www-form-urlencoded; =x'],
    ['a parameter without value', 'application/json; charset'],
    ['no subtype', 'application'],
    ['an empty value', ''],
    ['a control character', 'application/json\u0001'],
    ['a comma list', 'application/json, text/plain'],
    ['an unterminated quoted string', 'application/json; charset="utf-8'],
  ])('%s: no strict reading', (_n, value) => {
    expect(mediaType(value)).toBeUndefined()
  })
})

describe('checkContentType', () => {
  const create = normalize('POST', '/containers/create')
  const build = normalize('POST', '/build')
  const kill = normalize('POST', '/containers/x/kill')
  test.each([
    ['create, JSON', create, ['application/json']],
    ['create, JSON with charset', create, ['application/json; charset=utf-8']],
    ['create, no Content-Type at all', create, []],
    ['build, a tar', build, ['application/x-tar']],
    ['build, docker-py and dockerode say application/tar', build, ['application/tar']],
    ['kill, the Go client sends an empty text/plain body', kill, ['text/plain']],
  ])('accepts %s', (_n, api, values) => {
    expect(() => checkContentType(api, values)).not.toThrow()
  })

  test.each([
    ['a form body', create, ['application/x-www-form-urlencoded'], 'DG_REQ_FORM_BODY'],
    ['a multipart form', build, ['multipart/form-data; boundary=b'], 'DG_REQ_FORM_BODY'],
    ['a form in disguise', build, [wire('applİcation/x-www-form-urlencoded')], 'DG_REQ_CONTENT_TYPE'],
    ['two headers', create, ['application/json', 'application/x-www-form-urlencoded'], 'DG_REQ_CONTENT_TYPE'],
    ['a tar where JSON is decoded', create, ['application/x-tar'], 'DG_REQ_CONTENT_TYPE'],
    ['text/plain on a JSON body', create, ['text/plain'], 'DG_REQ_CONTENT_TYPE'],
    ['an unknown type on a body-less operation', kill, ['application/xml'], 'DG_REQ_CONTENT_TYPE'],
  ])('refuses %s', (_n, api, values, code) => {
    expect(() => checkContentType(api, values)).toThrow(expect.objectContaining({ code }))
  })

  test('contentTypeValues reads every Content-Type header from rawHeaders', () => {
    expect(contentTypeValues(['Host', 'x', 'content-type', 'a/b', 'Content-Length', '2', 'CONTENT-TYPE', 'c/d'])).toEqual(['a/b', 'c/d'])
  })
})
