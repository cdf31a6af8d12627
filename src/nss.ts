/**
 * User and group names → ids, the way the rest of the system resolves them: through NSS, by
 * running `getent passwd NAME` / `getent group NAME` (glibc's and musl's getent, no shell). Reading
 * /etc/passwd ourselves would miss every user and group that lives elsewhere — LDAP, SSSD,
 * systemd-userdb — which is exactly where the accounts of a shared host tend to be. `getent`
 * consults /etc/nsswitch.conf like `id` and `ls -l` do, so a name means here what it means there.
 *
 * Exit codes (getent(1)): 0 found, 2 no such key (then the names it can list are offered as
 * suggestions); anything else (1 bad arguments, 3 enumeration
 * not supported) or a missing command is reported as such, never guessed around.
 */
import { execFileSync } from 'node:child_process'
import { didYouMean } from './problems.js'

export type IdKind = 'user' | 'group'

export interface NssOptions {
  /** The getent command: a name looked up on PATH, or a path. Default `getent`. */
  readonly getent?: string
}

export type IdLookup = { readonly id: number } | { readonly error: string }

const DATABASE: Readonly<Record<IdKind, string>> = { user: 'passwd', group: 'group' }

/** Longest a lookup may take: an LDAP server that does not answer must not hang start-up. */
const TIMEOUT_MS = 10_000

/**
 * A user or group (a number, or a name resolved through NSS) → its id, or a sentence saying why
 * not. `cache` holds the answers of one configuration load, so each name is asked once.
 */
export function lookupId(kind: IdKind, value: string | number, opts: NssOptions = {}, cache?: Map<string, IdLookup>): IdLookup {
  if (typeof value === 'number') return { id: value }
  if (/^[0-9]+$/.test(value)) return { id: Number(value) }
  const key = `${kind}:${value}`
  const known = cache?.get(key)
  if (known !== undefined) return known
  const found = ask(kind, value, opts.getent ?? 'getent')
  cache?.set(key, found)
  return found
}

function ask(kind: IdKind, name: string, getent: string): IdLookup {
  const db = DATABASE[kind]
  const command = `getent ${db} ${name}`
  let out: string
  try {
    out = execFileSync(getent, [db, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: TIMEOUT_MS })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number | null; stderr?: string; signal?: string | null }
    if (e.code === 'ENOENT') {
      return { error: `cannot resolve ${kind} name ${JSON.stringify(name)}: the getent command is not installed (dockgate asks NSS through it, as id and ls do); install it (glibc's libc-bin, or musl-utils on Alpine), or give the ${kind === 'user' ? 'uid' : 'gid'} as a number` }
    }
    if (e.status === 2) {
      return { error: `unknown ${kind} ${JSON.stringify(name)}: \`${command}\` finds none (it asks /etc/${db} and any LDAP, SSSD or other NSS source of this host)${didYouMean(name, knownNames(db, getent))}` }
    }
    if (e.signal === 'SIGTERM' || e.code === 'ETIMEDOUT') return { error: `cannot resolve ${kind} name ${JSON.stringify(name)}: \`${command}\` did not answer within ${TIMEOUT_MS / 1000} s (a directory service that does not respond?); give the ${kind === 'user' ? 'uid' : 'gid'} as a number` }
    const why = (e.stderr ?? '').trim() || (e.status === null || e.status === undefined ? e.message : `exit code ${e.status}`)
    return { error: `cannot resolve ${kind} name ${JSON.stringify(name)}: \`${command}\` failed (${why})` }
  }
  // `name:x:1000:1000:gecos:/home:/bin/sh` (passwd) or `name:x:999:members` (group): the id is the third field.
  const line = out.split('\n').find((l) => l.split(':')[0] === name)
  const id = line?.split(':')[2]
  if (id === undefined || !/^[0-9]+$/.test(id)) return { error: `cannot resolve ${kind} name ${JSON.stringify(name)}: \`${command}\` answered something dockgate cannot read (${JSON.stringify(out.slice(0, 80))})` }
  return { id: Number(id) }
}

/**
 * The names NSS lists (`getent passwd` with no key), for a "did you mean" after a typo; only
 * asked when a name was not found. Directory services often do not list their users (SSSD's
 * enumerate = false): then only the local names are suggested, or none.
 */
function knownNames(db: string, getent: string): string[] {
  try {
    const out = execFileSync(getent, [db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: TIMEOUT_MS, maxBuffer: 16 << 20 })
    return out.split('\n').map((l) => l.split(':')[0] ?? '').filter((n) => n !== '' && !n.startsWith('#'))
  } catch {
    return []
  }
}
