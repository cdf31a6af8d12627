/**
 * Socket directories: created where that is safe, refused with the command to run where it is
 * not; and owners or groups the process cannot give, refused before bind(2) with what to change.
 * Real directories in a private temporary directory (tests run as root here, so other owners
 * are set with chown).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import type { ProcessIdentity } from '../../src/engine-probe.js'
import { hasCapChown, prepareSocketDirs } from '../../src/socket-dir.js'

const root = mkdtempSync(join(tmpdir(), 'dockgate-socketdir-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const me: ProcessIdentity = { uid: process.getuid!(), gid: process.getgid!(), groups: [process.getgid!()], inContainer: false }
let n = 0
/** A fresh directory below the private root, with the given mode and owner. */
function place(mode: number, uid = me.uid): string {
  const d = join(root, `d${n++}`)
  mkdirSync(d)
  chmodSync(d, mode)
  chownSync(d, uid, -1)
  return d
}

describe('prepareSocketDirs: directories', () => {
  test('an existing directory: nothing to do', () => {
    const d = place(0o755)
    expect(prepareSocketDirs([{ path: `${d}/s.sock` }], me, true)).toEqual([])
  })

  test('missing directories below a safe one are created, mode 0755, whatever the umask', () => {
    const d = place(0o755)
    const old = process.umask(0o077)
    try {
      expect(prepareSocketDirs([{ path: `${d}/run/dockgate/s.sock` }], me, true)).toEqual([`${d}/run`, `${d}/run/dockgate`])
    } finally {
      process.umask(old)
    }
    expect(statSync(`${d}/run/dockgate`).mode & 0o7777).toBe(0o755)
  })

  test.each([
    ['writable by all (like /tmp)', 0o1777, undefined, 'mode 01777'],
    ['writable by its group', 0o775, undefined, 'mode 0775'],
    ['owned by another user', 0o755, 4242, 'owned by uid 4242'],
  ] as const)('a missing directory in one %s is refused, with the command that creates it', (_name, mode, uid, detail) => {
    const d = place(mode, uid ?? me.uid)
    expect(() => prepareSocketDirs([{ path: `${d}/dockgate/s.sock` }], me, true)).toThrow(
      `directory ${d}/dockgate does not exist. dockgate creates a missing socket directory only inside one that no other user can write, and ${d} is`,
    )
    expect(() => prepareSocketDirs([{ path: `${d}/dockgate/s.sock` }], me, true)).toThrow(detail)
    expect(() => prepareSocketDirs([{ path: `${d}/dockgate/s.sock` }], me, true)).toThrow(`install -d -m 0755 ${d}/dockgate`)
  })

  test('a path whose directory is a file', () => {
    const d = place(0o755)
    writeFileSync(`${d}/f`, '')
    expect(() => prepareSocketDirs([{ path: `${d}/f/s.sock` }], me, true)).toThrow(`cannot create the socket ${d}/f/s.sock: ${d}/f is not a directory`)
  })
})

describe('prepareSocketDirs: owner and group', () => {
  const d = place(0o755)
  const user: ProcessIdentity = { uid: 65532, gid: 65532, groups: [65532, 105], inContainer: true }
  test.each([
    ['its own uid', { uid: 65532 }, null],
    ['a group it is in', { gid: 105 }, null],
    ['another uid', { uid: 1001 }, 'cannot give PATH to uid 1001: dockgate runs as uid 65532 without CAP_CHOWN. Run dockgate as uid 1001, or leave the owner unset'],
    ['a group it is not in', { gid: 1001 }, "cannot give PATH to group 1001: dockgate runs as uid 65532 without CAP_CHOWN and is not a member of that group (its groups: 65532,105). Run the container with --group-add 1001 / group_add: ['1001']"],
  ] as const)('without CAP_CHOWN: %s', (_name, owner, error) => {
    const path = `${d}/s.sock`
    const run = (): string[] => prepareSocketDirs([{ path, ...owner }], user, false)
    if (error === null) expect(run()).toEqual([])
    else expect(run).toThrow(error.replace('PATH', path))
  })

  test('with CAP_CHOWN any owner and group can be given', () => {
    expect(prepareSocketDirs([{ path: `${d}/s.sock`, uid: 1001, gid: 1001 }], user, true)).toEqual([])
  })

  test.each([
    ['root with every capability', 'CapEff:\t000001ffffffffff\n', true],
    ['cap_drop: [ALL]', 'CapEff:\t0000000000000000\n', false],
    ['only CAP_CHOWN', 'CapPrm:\t0\nCapEff:\t0000000000000001\n', true],
    ['everything but CAP_CHOWN', 'CapEff:\t00000000a80425fe\n', false],
    ['no status file', '', false],
  ] as const)('hasCapChown: %s', (_name, status, expected) => {
    expect(hasCapChown(status)).toBe(expected)
  })
})
