/** dockgate's own container: discovery from /proc and the guards that keep clients out of it. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { allOperations } from '../../../src/endpoints.js'
import { isSelf } from '../../../src/guards/self.js'
import { normalize } from '../../../src/normalize.js'
import { loadPolicy } from '../../../src/policy/compile.js'
import { discoverSelf, idsFromCgroup, idsFromMountinfo } from '../../../src/self.js'
import { checkTargets } from '../../../src/target.js'
import type { Operation } from '../../../src/types.js'
import { SELF, SELF_ID } from './helpers.js'

const OTHER = 'aa'.repeat(32)

const mountinfoInContainer = [
  `612 530 0:52 / / rw,relatime master:300 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X`,
  `640 612 8:1 /var/lib/docker/containers/${SELF_ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw`,
  `641 612 8:1 /var/lib/docker/containers/${SELF_ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
  `642 612 8:1 /var/lib/docker/containers/${SELF_ID}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw`,
].join('\n')

// On the host, mountinfo shows other containers' shm mounts: they must not be taken for ours.
const mountinfoOnHost = `88 29 0:47 / /var/lib/docker/containers/${OTHER}/mounts/shm rw,nosuid - tmpfs shm rw,size=65536k`

/** Fake roots made by fakeRoot(), removed after the file. */
const roots: string[] = []
afterAll(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'dockgate-self-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

describe('discoverSelf', () => {
  test('reads the id from the engine-managed bind mounts', () => {
    expect(idsFromMountinfo(mountinfoInContainer)).toEqual([SELF_ID, SELF_ID, SELF_ID])
    expect(idsFromMountinfo(mountinfoOnHost)).toEqual([])
  })

  test.each([
    { name: 'cgroup v1', text: `12:memory:/docker/${SELF_ID}\n11:cpu:/docker/${SELF_ID}`, want: [SELF_ID, SELF_ID] },
    { name: 'systemd driver', text: `0::/system.slice/docker-${SELF_ID}.scope`, want: [SELF_ID] },
    { name: 'private cgroup namespace', text: '0::/', want: [] },
    { name: 'host shell', text: '0::/user.slice/user-1000.slice/session-2.scope', want: [] },
  ])('reads the id from /proc/self/cgroup ($name)', ({ text, want }) => {
    expect(idsFromCgroup(text)).toEqual(want)
  })

  test('inside a container: id from mountinfo, hostname as a name', () => {
    const root = fakeRoot({ 'proc/self/mountinfo': mountinfoInContainer, 'proc/self/cgroup': '0::/' })
    expect(discoverSelf({ root, hostname: 'dockgate' })).toEqual({ ids: [SELF_ID], names: ['dockgate'] })
  })

  test('inside a container: a short-id hostname that is our id adds nothing', () => {
    const root = fakeRoot({ 'proc/self/mountinfo': mountinfoInContainer, 'proc/self/cgroup': '0::/' })
    expect(discoverSelf({ root, hostname: SELF_ID.slice(0, 12) })).toEqual({ ids: [SELF_ID], names: [] })
  })

  test('only /.dockerenv and a short-id hostname: the short id is kept', () => {
    const root = fakeRoot({ '.dockerenv': '', 'proc/self/mountinfo': '', 'proc/self/cgroup': '0::/' })
    expect(discoverSelf({ root, hostname: SELF_ID.slice(0, 12) })).toEqual({ ids: [SELF_ID.slice(0, 12)], names: [] })
  })

  test('outside a container: empty lists, even with other containers on the host', () => {
    const root = fakeRoot({ 'proc/self/mountinfo': mountinfoOnHost, 'proc/self/cgroup': '0::/user.slice' })
    expect(discoverSelf({ root, hostname: 'buildhost' })).toEqual({ ids: [], names: [] })
  })

  test('missing /proc files: empty lists', () => {
    expect(discoverSelf({ root: fakeRoot({}), hostname: 'x' })).toEqual({ ids: [], names: [] })
  })
})

describe('isSelf', () => {
  const short = { ids: [SELF_ID.slice(0, 12)], names: [] }
  test.each([
    { ref: 'dockgate', self: SELF, want: true },
    { ref: '/dockgate', self: SELF, want: true },
    { ref: 'Dockgate', self: SELF, want: false },
    { ref: SELF_ID, self: SELF, want: true },
    { ref: SELF_ID.slice(0, 1), self: SELF, want: true },
    { ref: SELF_ID.slice(0, 12).toUpperCase(), self: SELF, want: true },
    { ref: OTHER.slice(0, 12), self: SELF, want: false },
    { ref: SELF_ID, self: short, want: true },
    { ref: SELF_ID.slice(0, 4), self: short, want: true },
    { ref: '', self: SELF, want: false },
    { ref: '/', self: SELF, want: false },
    { ref: 'dockgate', self: { ids: [], names: [] }, want: false },
  ])('$ref → $want', ({ ref, self, want }) => {
    expect(isSelf(ref, self)).toBe(want)
  })
})

describe('operations on dockgate itself (static half: no engine)', () => {
  const ops = allOperations().filter((op) => op.target?.kind === 'container' && op.target.reach !== 'read')
  const policy = loadPolicy('full')
  const guarded = { ...policy, unguarded: false }
  const refused: string[] = []
  const ctx = { policy: guarded, self: SELF, engine: undefined, refuse: (e: { code: string }) => { refused.push(e.code); throw e } }

  function requestFor(op: Operation, ref: string) {
    const from = op.target!.from
    if ('param' in from) return normalize(op.method, op.template.replace('{id}', ref).replace('{checkpoint}', 'c1'))
    return normalize(op.method, `${op.template}?${from.query}=${ref}&repo=x`)
  }

  test('every container operation that changes or enters its target is covered', () => {
    expect(ops.map((o) => o.id)).toEqual(expect.arrayContaining(['ContainerKill', 'ContainerStop', 'ContainerDelete', 'ContainerRename', 'ContainerUpdate', 'ContainerExec', 'ContainerAttach', 'ContainerArchive', 'ContainerExport', 'ImageCommit']))
  })

  test.each(ops.map((o) => [o.id, o] as const))('%s on dockgate is refused by name and id prefix, on another container passes', async (_id, op) => {
    for (const ref of ['dockgate', SELF_ID.slice(0, 12)]) {
      await expect(checkTargets(ctx, requestFor(op, ref), undefined, undefined)).rejects.toMatchObject({ code: 'DG_DENY_SELF' })
    }
    await expect(checkTargets(ctx, requestFor(op, 'web'), undefined, undefined)).resolves.toMatchObject({ api: { path: expect.any(String) } })
  })
})
