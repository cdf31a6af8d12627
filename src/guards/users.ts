/**
 * Exec users (`ExecConfig.User`, `user[:group]`) in one spelling, so that an allowlist cannot be
 * sidestepped by another spelling of root (runc reads `00` as uid 0): runc reads numeric ids with
 * `strconv.Atoi`, so `0`, `00` and `0000` are uid 0, and `root` is uid 0 in every image that
 * matters. Canonical form: numeric parts without leading zeros, `root` → `0`.
 */

const PART = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/

function canonicalPart(part: string): string | undefined {
  if (/^[0-9]+$/.test(part)) return BigInt(part).toString()
  if (part === 'root') return '0'
  return PART.test(part) ? part : undefined
}

/**
 * The canonical `user[:group]` of an exec User, or undefined when it cannot be read safely
 * (empty: the image's default user, unknown here; whitespace; more than one `:`).
 */
export function canonicalUser(raw: string): string | undefined {
  const parts = raw.split(':')
  if (parts.length > 2) return undefined
  const out: string[] = []
  for (const part of parts) {
    const c = canonicalPart(part)
    if (c === undefined) return undefined
    out.push(c)
  }
  return out.join(':')
}

/** Canonical spelling of a policy's `exec.users` glob: literal parts are canonicalised, globs kept. */
export function canonicalUserGlob(raw: string): string {
  return raw
    .split(':')
    .map((part) => canonicalPart(part) ?? part)
    .join(':')
}
