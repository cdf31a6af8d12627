/**
 * Peer credentials (src/peercred.ts): the addon on a real unix socket says who connected; every
 * way it could fail or answer oddly ends in "unknown" (an error), never in a made-up identity.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { peerCredentialReader, readerFrom, unavailable } from '../../src/peercred.js'

/** Connects to a fresh unix socket and hands the server's side of the connection to `fn`. */
async function withConnection<T>(fn: (server: net.Socket) => T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'dockgate-peercred-'))
  const path = join(dir, 's.sock')
  try {
    return await new Promise<T>((resolve, reject) => {
      const server = net.createServer((s) => {
        try {
          resolve(fn(s))
        } catch (err) {
          reject(err as Error)
        } finally {
          s.destroy()
          client.destroy()
          server.close()
        }
      })
      let client: net.Socket
      server.listen(path, () => {
        client = net.connect(path)
      })
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('the addon', () => {
  test('without groups asked for: groups null, one syscall', async () => {
    expect(await withConnection((s) => peerCredentialReader().read(s))).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!(), groups: null })
  })

  test('is built and loads (npm ci builds it: scripts/build-native.mjs)', () => {
    const r = peerCredentialReader()
    expect(r.reason).toBeUndefined()
    expect(r.available).toBe(true)
  })

  test('reads this process as the peer: pid, uid, gid and groups', async () => {
    const cred = await withConnection((s) => peerCredentialReader().read(s, { groups: true }))
    expect(cred).toMatchObject({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() })
    // process.getgroups() adds the effective gid to the supplementary groups (Node's docs).
    const groups = 'groups' in cred ? cred.groups : undefined
    expect([...new Set([...(groups ?? []), process.getegid!()])].sort()).toEqual([...new Set(process.getgroups!())].sort())
  })
})

/** A stand-in for the addon that writes `cred` and answers `n`. */
const fake = (cred: number[], n: unknown) => (_fd: number, out: Uint32Array): unknown => {
  out.set(cred)
  return n
}

describe('fail closed', () => {
  test.each<[string, (fd: number, out: Uint32Array, groups: boolean) => unknown, string]>([
    ['the addon throws', () => { throw new Error('getsockopt(SO_PEERCRED): Bad file descriptor') }, 'cannot read peer credentials: getsockopt(SO_PEERCRED): Bad file descriptor'],
    ['not a number', fake([1, 0, 0], '0'), 'cannot read peer credentials: the addon answered something unexpected'],
    ['a fractional count', fake([1, 0, 0], 0.5), 'cannot read peer credentials: the addon answered something unexpected'],
    ['a count below -1', fake([1, 0, 0], -2), 'cannot read peer credentials: the addon answered something unexpected'],
    ['more groups than Linux allows', fake([1, 0, 0], 65537), 'cannot read peer credentials: the addon answered something unexpected'],
    ['asks for more room every time', (_fd, out) => out.length, 'cannot read peer credentials: the addon answered something unexpected'],
    ['uid (uid_t)-1: the kernel\'s "no credentials"', fake([0, 0xffffffff, 0xffffffff], -1), 'cannot read peer credentials: the kernel has none for this connection'],
  ])('%s', async (_name, fn, error) => {
    expect(await withConnection((s) => readerFrom(fn).read(s, { groups: true }))).toEqual({ error })
  })

  test('a socket without a handle (already destroyed) has no fd', async () => {
    expect(await withConnection((s) => {
      s.destroy()
      return readerFrom(fake([1, 0, 0], -1)).read(s)
    })).toEqual({ error: 'cannot read peer credentials: the connection has no file descriptor' })
  })

  test('groups unknown or not asked for are null, not empty', async () => {
    expect(await withConnection((s) => readerFrom(fake([7, 1000, 1000], -1)).read(s, { groups: true }))).toEqual({ pid: 7, uid: 1000, gid: 1000, groups: null })
  })

  test('many groups: asked again with room for all of them', async () => {
    const many = Array.from({ length: 100 }, (_, i) => 2000 + i)
    const fn = (_fd: number, out: Uint32Array): number => {
      out.set([9, 1000, 1000])
      if (out.length - 3 >= many.length) out.set(many, 3)
      return many.length
    }
    expect(await withConnection((s) => readerFrom(fn).read(s, { groups: true }))).toEqual({ pid: 9, uid: 1000, gid: 1000, groups: many })
  })

  test('unavailable: every read fails with the reason', async () => {
    const r = unavailable('not built')
    expect(r.available).toBe(false)
    expect(await withConnection((s) => r.read(s))).toEqual({ error: 'peer credentials are not available: not built' })
  })
})
