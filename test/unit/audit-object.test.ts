/** The `object` of audit records (src/audit-object.ts): from the path, a few query parameters and a create's Image only. */
import { describe, expect, test } from 'vitest'
import { objectOf } from '../../src/audit-object.js'
import { normalize } from '../../src/normalize.js'

const obj = (method: string, url: string, body?: unknown): string | undefined =>
  objectOf(normalize(method, url), body === undefined ? undefined : Buffer.from(JSON.stringify(body)))

describe('objectOf', () => {
  test.each<[string, string, string, unknown, string | undefined]>([
    ['a container by name', 'GET', '/v1.41/containers/web/json', undefined, 'web'],
    ['an exec', 'POST', '/exec/0123abcd/start', undefined, '0123abcd'],
    ['a volume', 'DELETE', '/volumes/data', undefined, 'data'],
    ['a network', 'POST', '/networks/backend/connect', undefined, 'backend'],
    ['an image by name', 'DELETE', '/images/busybox:1.36', undefined, 'busybox:1.36'],
    ['a pull: fromImage and tag', 'POST', '/images/create?fromImage=library%2Fbusybox&tag=1.36', undefined, 'library/busybox:1.36'],
    ['a pull by digest ignores tag', 'POST', '/images/create?fromImage=busybox%40sha256%3Aabc&tag=x', undefined, 'busybox@sha256:abc'],
    ['a push with its tag', 'POST', '/images/registry.example:5000/app/push?tag=v2', undefined, 'registry.example:5000/app:v2'],
    ['a tag: from → to', 'POST', '/images/busybox:test/tag?repo=mine%2Fbox&tag=v1', undefined, 'busybox:test → mine/box:v1'],
    ['a commit: container → image', 'POST', '/commit?container=web&repo=snap&tag=1', undefined, 'web → snap:1'],
    ['a create: the body\'s Image, nothing else of it', 'POST', '/containers/create?name=x', { Image: 'alpine:3', Env: ['SECRET=1'] }, 'alpine:3'],
    ['a create without a body read', 'POST', '/containers/create', undefined, undefined],
    ['a list acts on nothing named', 'GET', '/containers/json?filters=%7B%7D', undefined, undefined],
  ])('%s', (_n, method, url, body, expected) => {
    expect(obj(method, url, body)).toBe(expected)
  })

  test('a long reference is cut', () => {
    expect(obj('GET', `/containers/${'a'.repeat(300)}/json`)).toBe(`${'a'.repeat(256)}…`)
  })
})
