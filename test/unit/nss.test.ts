/**
 * Owner and group names through NSS (nss.ts): getent is run without a shell, its exit codes read
 * as getent(1) documents them. A stand-in getent (test/fixtures/nss/getent) answers from fixture
 * files, since this machine's users cannot be chosen by a test; one case asks the real getent for
 * root, which every host has.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { lookupId, type IdLookup } from '../../src/nss.js'
import { FAKE_GETENT } from '../support/nss.js'

const dir = mkdtempSync(join(tmpdir(), 'dockgate-nss-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A getent that runs `body` (sh), to play the failures a real one can have. */
function getent(name: string, body: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

describe('lookupId: names through getent', () => {
  test.each([
    ['a number is an id, getent is not asked', 'user', '1234', { id: 1234 }],
    ['a number from YAML', 'group', 42, { id: 42 }],
    ['a user name', 'user', 'ci', { id: 1000 }],
    ['a group name', 'group', 'docker', { id: 999 }],
    ['an unknown user, with the names getent lists as suggestions', 'user', 'cj',
      { error: 'unknown user "cj": `getent passwd cj` finds none (it asks /etc/passwd and any LDAP, SSSD or other NSS source of this host) (did you mean ci?)' }],
    ['an unknown group, nothing close', 'group', 'wheel-of-fortune',
      { error: 'unknown group "wheel-of-fortune": `getent group wheel-of-fortune` finds none (it asks /etc/group and any LDAP, SSSD or other NSS source of this host)' }],
  ] as Array<[string, 'user' | 'group', string | number, IdLookup]>)('%s', (_name, kind, value, expected) => {
    expect(lookupId(kind, value, { getent: FAKE_GETENT })).toEqual(expected)
  })

  test('getent not installed: says so, and what to do instead', () => {
    expect(lookupId('group', 'docker', { getent: join(dir, 'no-such-getent') })).toEqual({
      error: 'cannot resolve group name "docker": the getent command is not installed (dockgate asks NSS through it, as id and ls do); install it (glibc\'s libc-bin, or musl-utils on Alpine), or give the gid as a number',
    })
  })

  test('getent fails otherwise: its own words', () => {
    const broken = getent('broken', 'echo "Unknown database: passwd" >&2; exit 1')
    expect(lookupId('user', 'ci', { getent: broken })).toEqual({ error: 'cannot resolve user name "ci": `getent passwd ci` failed (Unknown database: passwd)' })
  })

  test('an answer that is not a passwd line is not guessed at', () => {
    const odd = getent('odd', 'echo "ci:x:abc:1000::/:/bin/sh"')
    expect(lookupId('user', 'ci', { getent: odd })).toEqual({ error: 'cannot resolve user name "ci": `getent passwd ci` answered something dockgate cannot read ("ci:x:abc:1000::/:/bin/sh\\n")' })
  })

  test('no shell: a name with shell syntax reaches getent as one argument', () => {
    const echo = getent('echo-args', 'printf "%s\\n" "$2" > "$(dirname "$0")/args"; echo "$2:x:7:7::/:/bin/sh"')
    expect(lookupId('user', 'ci;touch pwned', { getent: echo })).toEqual({ id: 7 })
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('ci;touch pwned\n')
  })

  test('each name is asked once per cache', () => {
    const counting = getent('counting', 'echo x >> "$(dirname "$0")/calls"; echo "ci:x:1000:1000::/:/bin/sh"')
    const cache = new Map<string, IdLookup>()
    expect(lookupId('user', 'ci', { getent: counting }, cache)).toEqual({ id: 1000 })
    expect(lookupId('user', 'ci', { getent: counting }, cache)).toEqual({ id: 1000 })
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toBe('x\n')
  })

  test('by default the getent on PATH is run', () => {
    const path = process.env['PATH']
    process.env['PATH'] = `${dirname(FAKE_GETENT)}:${path ?? ''}`
    try {
      expect(lookupId('user', 'dockgate')).toEqual({ id: 998 })
    } finally {
      process.env['PATH'] = path
    }
  })

  test('the real getent on this host resolves root', () => {
    expect(lookupId('user', 'root')).toEqual({ id: 0 })
    expect(lookupId('group', 'root')).toEqual({ id: 0 })
  })
})
