/** The small readers the guards rely on: capabilities, security options, image references, users, host paths. */
import { describe, expect, test } from 'vitest'
import { normalizeCapability } from '../../../src/guards/caps.js'
import { parseImageRef } from '../../../src/guards/image-ref.js'
import { normalizeHostPath } from '../../../src/guards/paths.js'
import { parseSecurityOpt } from '../../../src/guards/security-opt.js'
import { canonicalUser } from '../../../src/guards/users.js'

describe('normalizeCapability', () => {
  test.each([
    ['SYS_ADMIN', 'CAP_SYS_ADMIN'],
    ['cap_sys_admin', 'CAP_SYS_ADMIN'],
    ['Cap_Sys_Admin', 'CAP_SYS_ADMIN'],
    ['all', 'ALL'],
    ['CAP_ALL', 'ALL'],
    ['ſys_admin', undefined],
    [' SYS_ADMIN', undefined],
    ['', undefined],
  ])('%j → %j', (raw, want) => {
    expect(normalizeCapability(raw)).toBe(want)
  })
})

describe('parseSecurityOpt', () => {
  test.each([
    ['no-new-privileges', 'no-new-privileges=true', true],
    ['no-new-privileges:True', 'no-new-privileges=true', true],
    ['no-new-privileges=F', 'no-new-privileges=false', false],
    ['no-new-privileges=maybe', 'no-new-privileges=maybe', false],
    ['seccomp=unconfined', 'seccomp=unconfined', false],
    ['seccomp:unconfined', 'seccomp=unconfined', false],
    ['seccomp=builtin', 'seccomp=builtin', true],
    ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', 'seccomp=custom', false],
    ['apparmor=docker-default', 'apparmor=docker-default', true],
    ['apparmor:my-profile', 'apparmor=my-profile', false],
    ['label=disable', 'label=disable', false],
    ['label:type:spc_t', 'label=type:spc_t', false],
    ['disable', 'label=disable', false],
    ['systempaths=unconfined', 'systempaths=unconfined', false],
    ['writable-cgroups=false', 'writable-cgroups=false', true],
    ['writable-cgroups=1', 'writable-cgroups=1', false],
    ['nonsense', 'nonsense', false],
  ])('%j → %j (safe: %j)', (raw, canonical, safe) => {
    expect(parseSecurityOpt(raw)).toMatchObject({ canonical, safe })
  })
})

describe('parseImageRef', () => {
  test.each([
    ['busybox', ['busybox:latest', 'docker.io/library/busybox:latest']],
    ['library/busybox:1.36', ['busybox:1.36', 'docker.io/library/busybox:1.36']],
    ['index.docker.io/vieux/sshfs', ['vieux/sshfs:latest', 'docker.io/vieux/sshfs:latest']],
    ['ghcr.io/acme/app:1', ['ghcr.io/acme/app:1']],
    ['localhost:5000/app', ['localhost:5000/app:latest']],
    [`busybox:1@sha256:${'a'.repeat(64)}`, [`busybox@sha256:${'a'.repeat(64)}`, `busybox:1@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox:1@sha256:${'a'.repeat(64)}`]],
  ])('%s', (raw, forms) => {
    expect(parseImageRef(raw)).toEqual({ kind: 'name', forms })
  })

  test.each([`sha256:${'b'.repeat(64)}`, 'c'.repeat(64), 'deadbeef', 'abc123'])('%s is an image id', (raw) => {
    expect(parseImageRef(raw).kind).toBe('id')
  })

  test.each(['Busybox', 'busybox:', 'busybox:-x', 'a/../b', '', 'busybox@sha256:short'])('%j is invalid', (raw) => {
    expect(parseImageRef(raw).kind).toBe('invalid')
  })
})

describe('canonicalUser', () => {
  test.each([
    ['0', '0'],
    ['00', '0'],
    ['root', '0'],
    ['0:0', '0:0'],
    ['0000:5', '0:5'],
    ['root:root', '0:0'],
    ['app:staff', 'app:staff'],
    ['', undefined],
    [' 0', undefined],
    ['0:0:0', undefined],
  ])('%j → %j', (raw, want) => {
    expect(canonicalUser(raw)).toBe(want)
  })
})

describe('normalizeHostPath', () => {
  test.each([
    ['/', { ok: true, path: '/' }],
    ['/srv//data/./x/', { ok: true, path: '/srv/data/x' }],
    ['/srv/data/../etc', { ok: false, problem: 'contains a ".." segment' }],
    ['srv/data', { ok: false, problem: 'is not an absolute path' }],
  ])('%j', (raw, want) => {
    expect(normalizeHostPath(raw)).toEqual(want)
  })
})
