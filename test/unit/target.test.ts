import { describe, expect, test } from 'vitest'
import { createBodyOf, withTargetId } from '../../src/target.js'
import { normalize } from '../../src/normalize.js'

describe('target container checks', () => {
  test('engine-filled defaults are dropped, an empty MaskedPaths (masking off) is kept', () => {
    const body = JSON.parse(
      createBodyOf({
        Id: 'abc',
        Config: { Image: 'busybox:test', Cmd: ['sh'] },
        HostConfig: { MaskedPaths: ['/proc/kcore'], ReadonlyPaths: [], CgroupnsMode: 'host', Privileged: false },
      }).toString(),
    )
    expect(body).toEqual({ Image: 'busybox:test', Cmd: ['sh'], HostConfig: { ReadonlyPaths: [], Privileged: false } })
  })
  test.each([
    ['exec by name', 'POST', '/v1.41/containers/web/exec', '/v1.41/containers/0123abcd/exec'],
    ['attach by prefix, with query', 'POST', '/containers/01/attach?stream=1&stdin=1', '/containers/0123abcd/attach?stream=1&stdin=1'],
    ['archive, with a path query', 'GET', '/containers/web/archive?path=/etc', '/containers/0123abcd/archive?path=%2Fetc'],
    ['a link name with a slash', 'GET', '/containers/web/db/export', '/containers/0123abcd/export'],
  ])('%s is forwarded with the full id', (_n, method, url, target) => {
    const api = withTargetId(normalize(method, url), '0123abcd')
    expect(api.target).toBe(target)
    expect(api.params['id']).toBe('0123abcd')
  })
})
