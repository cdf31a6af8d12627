/** ContainerExec: privileged exec, exec users in every spelling of root, dockgate's own container. */
import { describe, expect, test } from 'vitest'
import { check, fixture, hits, SELF, SELF_ID } from './helpers.js'

const onlyApp = { exec: { users: ['1000', '1000:1000', 'app'] } }

describe('ContainerExec guard', () => {
  test.each([
    { name: 'docker exec --privileged (CLI 28)', body: fixture('cli28/exec-create.privileged.json'), expect: ['exec.privileged Privileged'] },
    { name: 'PRIVILEGED in capitals', body: '{"Cmd":["sh"],"PRIVILEGED":true}', expect: ['exec.privileged Privileged'] },
    { name: 'Privileged "1" (wrong type)', body: '{"Cmd":["sh"],"Privileged":"1"}', expect: ['exec.privileged Privileged'] },
    { name: 'docker exec -u 0 with a user allowlist (CLI 28)', body: fixture('cli28/exec-create.user-0.json'), guards: onlyApp, expect: ['exec.user User'] },
    { name: 'User 00', body: '{"User":"00"}', guards: onlyApp, expect: ['exec.user User'] },
    { name: 'User root', body: '{"User":"root"}', guards: onlyApp, expect: ['exec.user User'] },
    { name: 'User 0:0', body: '{"User":"0:0"}', guards: onlyApp, expect: ['exec.user User'] },
    { name: 'User 1000:0 (root group)', body: '{"User":"1000:0"}', guards: onlyApp, expect: ['exec.user User'] },
    { name: 'empty User (image default) with an allowlist', body: '{"Cmd":["id"]}', guards: onlyApp, expect: ['exec.user User'] },
    { name: 'User with spaces', body: '{"User":" 1000"}', guards: onlyApp, expect: ['exec.user User'] },
    { name: 'User 0 when only 1000 is listed', body: '{"User":"0"}', guards: { exec: { users: ['1000'] } }, expect: ['exec.user User'] },
  ])('refuses $name', ({ body, guards, expect: want }) => {
    expect(hits(check('ContainerExec', body, { params: { id: 'web' }, ...(guards === undefined ? {} : { guards }) }))).toEqual(want)
  })

  test.each([
    { name: 'docker exec -u 0 without a user allowlist (CLI 28)', body: fixture('cli28/exec-create.user-0.json') },
    { name: 'User 1000', body: '{"User":"1000"}', guards: onlyApp },
    { name: 'User 01000:1000 (leading zeros)', body: '{"User":"01000:1000"}', guards: onlyApp },
    { name: 'User app', body: '{"User":"app"}', guards: onlyApp },
    { name: 'User root when 0 is listed', body: '{"User":"root"}', guards: { exec: { users: ['0'] } } },
    { name: 'User 0 when root is listed', body: '{"User":"00"}', guards: { exec: { users: ['root'] } } },
    { name: 'privileged when allowed', body: fixture('cli28/exec-create.privileged.json'), guards: { exec: { privileged: true } } },
  ])('allows $name', ({ body, guards }) => {
    expect(check('ContainerExec', body, { params: { id: 'web' }, ...(guards === undefined ? {} : { guards }) })).toEqual([])
  })
})
