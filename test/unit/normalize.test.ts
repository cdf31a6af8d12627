import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { normalize, normalizePath, parseQuery } from '../../src/normalize.js'
import { DockgateError } from '../../src/errors.js'

function refusal(method: string, url: string): string {
  try {
    normalize(method, url)
  } catch (err) {
    if (err instanceof DockgateError) return err.code
    throw err
  }
  return 'accepted'
}

describe('normalize: accepted requests and their canonical form', () => {
  test.each([
    ['unversioned list', 'GET', '/containers/json', undefined, '/containers/json', 'ContainerList', '/containers/json'],
    ['versioned list', 'GET', '/v1.41/containers/json?all=1', '1.41', '/containers/json', 'ContainerList', '/v1.41/containers/json?all=1'],
    ['ping HEAD', 'HEAD', '/_ping', undefined, '/_ping', undefined, '/_ping'],
    ['encoded letters are decoded', 'GET', '/v1.41/%63ontainers/json', '1.41', '/containers/json', 'ContainerList', '/v1.41/containers/json'],
    ['encoded archive is seen as archive', 'GET', '/containers/x/%61rchive?path=/etc', undefined, '/containers/x/archive', 'ContainerArchive', '/containers/x/archive?path=%2Fetc'],
    ['image name with slashes and tag', 'GET', '/v1.41/images/ghcr.io/org/app:1.2/json', '1.41', '/images/ghcr.io/org/app:1.2/json', 'ImageInspect', '/v1.41/images/ghcr.io/org/app:1.2/json'],
    ['image digest', 'GET', '/images/busybox@sha256:0123abcd/json', undefined, '/images/busybox@sha256:0123abcd/json', 'ImageInspect', '/images/busybox@sha256:0123abcd/json'],
    ['query re-encoded canonically', 'GET', '/containers/json?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D', undefined, '/containers/json', 'ContainerList', '/containers/json?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D'],
    ['plus in query is a space', 'POST', '/containers/create?name=a+b', undefined, '/containers/create', 'ContainerCreate', '/containers/create?name=a%20b'],
    ['empty query pairs dropped like Go', 'GET', '/containers/json?&&all=1&', undefined, '/containers/json', 'ContainerList', '/containers/json?all=1'],
  ])('%s', (_name, method, url, version, path, op, target) => {
    const api = normalize(method, url)
    expect(api.version).toBe(version)
    expect(api.path).toBe(path)
    if (op) expect(api.operation.id).toBe(op)
    expect(api.target).toBe(target)
  })
})

describe('normalize: refused the way an attacker would send them', () => {
  test.each([
    ['encoded slash', 'GET', '/v1.41/containers%2Fjson', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded slash lower-case', 'GET', '/containers%2fjson', 'DG_REQ_AMBIGUOUS_PATH'],
    ['double slash', 'GET', '//containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['inner double slash', 'GET', '/containers//json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['trailing slash', 'GET', '/containers/json/', 'DG_REQ_AMBIGUOUS_PATH'],
    ['dot-dot segment', 'GET', '/v1.41/../containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded dot-dot', 'GET', '/v1.41/%2e%2e/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['dot segment', 'GET', '/./containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['backslash', 'GET', '/containers\\json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded backslash', 'GET', '/containers%5Cjson', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded NUL', 'GET', '/containers/json%00', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded newline', 'GET', '/containers/json%0a', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded space', 'GET', '/containers/a%20b/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded non-ASCII', 'GET', '/containers/%C3%A9/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['raw non-ASCII', 'GET', '/containers/é/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['malformed escape', 'GET', '/containers/%zz/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['truncated escape', 'GET', '/containers/json%2', 'DG_REQ_AMBIGUOUS_PATH'],
    ['encoded percent', 'GET', '/containers/%25/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['semicolon path param', 'GET', '/containers/json;x=1', 'DG_REQ_AMBIGUOUS_PATH'],
    ['semicolon in query (Go splits differently)', 'POST', '/images/create?fromImage=a;fromSrc=http://x', 'DG_REQ_AMBIGUOUS_PATH'],
    ['malformed query escape (Go drops the pair)', 'POST', '/images/create?fromSrc=%zz&fromSrc=-', 'DG_REQ_AMBIGUOUS_PATH'],
    ['control char in query', 'GET', '/containers/json?all=%00', 'DG_REQ_AMBIGUOUS_PATH'],
    ['version with three parts', 'GET', '/v1.4.1/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['version with trailing dot', 'GET', '/v1.44./containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['version with no minor', 'GET', '/v1/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['version of dots', 'GET', '/v./containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['double version prefix', 'GET', '/v1.41/v1.41/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['absolute-form target', 'GET', 'http://localhost/containers/json', 'DG_REQ_BAD_TARGET'],
    ['asterisk-form target', 'GET', '*', 'DG_REQ_BAD_TARGET'],
    ['fragment', 'GET', '/containers/json#x', 'DG_REQ_BAD_TARGET'],
    ['segment ending in colon', 'GET', '/images/http:/evil/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['unknown method', 'PATCH', '/containers/json', 'DG_REQ_BAD_METHOD'],
    ['OPTIONS', 'OPTIONS', '/containers/json', 'DG_REQ_BAD_METHOD'],
    ['lower-case method', 'get', '/containers/json', 'DG_REQ_BAD_METHOD'],
    ['unknown endpoint', 'GET', '/secrets-of-the-host', 'DG_REQ_UNKNOWN_ENDPOINT'],
    ['HEAD is not GET', 'HEAD', '/containers/json', 'DG_REQ_UNKNOWN_ENDPOINT'],
    ['libpod API', 'GET', '/v4.0.0/libpod/containers/json', 'DG_REQ_AMBIGUOUS_PATH'],
    ['debug endpoints', 'GET', '/debug/pprof/heap', 'DG_REQ_UNKNOWN_ENDPOINT'],
  ])('%s', (_name, method, url, code) => {
    expect(refusal(method, url)).toBe(code)
  })
})

describe('normalize: properties', () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9._~:@+=,-]{1,12}$/).filter((s) => s !== '.' && s !== '..' && !s.endsWith(':') && !/^v[0-9.]+$/.test(s))
  test('normalising the canonical path again changes nothing', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segs) => {
        const first = normalizePath('/' + segs.join('/'))
        const second = normalizePath(first.path)
        expect(second).toEqual(first)
      }),
    )
  })
  test('percent-encoding allowed characters does not change the result', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segs) => {
        const raw = '/' + segs.join('/')
        const encoded = '/' + segs.map((s) => [...s].map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('')).join('/')
        expect(normalizePath(encoded)).toEqual(normalizePath(raw))
      }),
    )
  })
  test('canonical query re-parses to the same pairs', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.string()), { maxLength: 5 }), (pairs) => {
        const clean = pairs.filter(([k, v]) => !/[\x00-\x1f\x7f]/.test(k + v) && !(k + v).includes('\uFFFD') && !/[\uD800-\uDFFF]/.test(k + v))
        const raw = clean.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&')
        const once = parseQuery(raw)
        const twice = parseQuery(once.canonical)
        expect(twice.canonical).toBe(once.canonical)
        expect([...twice.query]).toEqual(clean)
      }),
    )
  })
})

describe('normalize: refusals never echo query values (they can carry credentials)', () => {
  test.each([
    ['malformed escape', '/containers/json?auth=ghp_SECRET%zz'],
    ['control character', '/containers/json?auth=ghp_SECRET%00'],
    ['semicolon', '/containers/json?auth=ghp_SECRET;x=1'],
    ['bad UTF-8', '/containers/json?auth=ghp_SECRET%ff'],
  ])('%s', (_name, url) => {
    let message = ''
    try {
      normalize('GET', url)
    } catch (err) {
      message = (err as DockgateError).clientMessage()
    }
    expect(message).toMatch(/DG_REQ_AMBIGUOUS_PATH/)
    expect(message).not.toContain('SECRET')
  })
})
