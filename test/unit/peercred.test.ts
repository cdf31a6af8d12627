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
  test('is built and loads (npm ci builds it: scripts/build-native.mjs)', () => {
    const r = peerCredentialReader()
    expect(r.reason).toBeUndefined()
    expect(r.available).toBe(true)
  })

  test('reads this process as the peer: pid, uid, gid and groups', async () => {
    const cred = await withConnection((s) => peerCredentialReader().read(s))
    expect(cred).toMatchObject({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() })
    // process.getgroups() adds the effective gid to the supplementary groups (Node's docs).
    const groups = 'groups' in cred ? cred.groups : undefined
    expect([...new Set([...(groups ?? []), process.getegid!()])].sort()).toEqual([...new Set(process.getgroups!())].sort())
  })
})

describe('fail closed', () => {
  test.each<[string, (fd: number) => unknown, string]>([
    ['the addon throws', () => { throw new Error('getsockopt(SO_PEERCRED): Bad file descriptor') }, 'cannot read peer credentials: getsockopt(SO_PEERCRED): Bad file descriptor'],
    ['not an object', () => 42, 'cannot read peer credentials: the addon answered something unexpected'],
    ['a missing uid', () => ({ pid: 1, gid: 0, groups: [] }), 'cannot read peer credentials: the addon answered something unexpected'],
    ['a negative uid', () => ({ pid: 1, uid: -1, gid: 0, groups: [] }), 'cannot read peer credentials: the addon answered something unexpected'],
    ['uid (uid_t)-1: the kernel\'s "no credentials"', () => ({ pid: 0, uid: 0xffffffff, gid: 0xffffffff, groups: [] }), 'cannot read peer credentials: the addon answered something unexpected'],
    ['a fractional gid', () => ({ pid: 1, uid: 0, gid: 0.5, groups: [] }), 'cannot read peer credentials: the addon answered something unexpected'],
    ['groups not a list', () => ({ pid: 1, uid: 0, gid: 0, groups: '0' }), 'cannot read peer credentials: the addon answered something unexpected'],
    ['a group that is not an id', () => ({ pid: 1, uid: 0, gid: 0, groups: [1, 'x'] }), 'cannot read peer credentials: the addon answered something unexpected'],
  ])('%s', async (_name, fn, error) => {
    expect(await withConnection((s) => readerFrom(fn).read(s))).toEqual({ error })
  })

  test('a socket without a handle (already destroyed) has no fd', async () => {
    expect(await withConnection((s) => {
      s.destroy()
      return readerFrom(() => ({ pid: 1, uid: 0, gid: 0, groups: [] })).read(s)
    })).toEqual({ error: 'cannot read peer credentials: the connection has no file descriptor' })
  })

  test('groups unknown (kernel before 4.13) are null, not empty', async () => {
    expect(await withConnection((s) => readerFrom(() => ({ pid: 7, uid: 1000, gid: 1000, groups: null })).read(s))).toEqual({ pid: 7, uid: 1000, gid: 1000, groups: null })
  })

  test('unavailable: every read fails with the reason', async () => {
    const r = unavailable('not built')
    expect(r.available).toBe(false)
    expect(await withConnection((s) => r.read(s))).toEqual({ error: 'peer credentials are not available: not built' })
  })
})
