/**
 * Host paths as the engine will use them, normalised once so that a glob sees one spelling.
 *
 * The engine cleans bind sources (Go `filepath.Clean`); for a path without `..` segments that is
 * exactly "drop empty and `.` segments". Paths with `..` are refused outright rather than
 * resolved: the path may contain symlinks, and the proxy cannot see the host's filesystem
 * (the engine follows symlinks in a bind source), so `..` is never worth the risk.
 */

/** A normalised absolute host path, or the reason the path cannot be checked. */
export type HostPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly problem: string }

export function normalizeHostPath(raw: string): HostPath {
  if (!raw.startsWith('/')) return { ok: false, problem: 'is not an absolute path' }
  if (raw.includes('\0')) return { ok: false, problem: 'contains a NUL byte' }
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) return { ok: false, problem: 'contains a ".." segment' }
  return { ok: true, path: '/' + segments.join('/') }
}

/** True when `raw` names a host path (Linux: it is absolute), which is how the engine decides bind vs volume. */
export function isHostPath(raw: string): boolean {
  return raw.startsWith('/')
}
