/**
 * Path resolution inside an unpacked build context, as dockerd does it.
 *
 * The context is unpacked chrooted into its directory (moby pkg/chrootarchive), so every entry name
 * is cleaned and joined to "/" (pkg/archive Unpack: filepath.Clean, filepath.Join), ".." cannot
 * leave the root, and symlinks in the parent directories of an entry are followed by the kernel,
 * absolute targets from the context root. The Dockerfile is then found with
 * symlink.FollowSymlinkInScope (moby pkg/symlink/fs.go), which follows every component,
 * the last one too, with the same clamping.
 *
 * Locations are canonical paths relative to the root: '' is the root, 'a/b' a path below it.
 */
import { unreadable } from './context-error.js'

/** Symlink location → target as written in the archive. */
export type Symlinks = ReadonlyMap<string, string>

/** Kernel limit on symlinks followed in one path (Linux MAXSYMLINKS) and FollowSymlinkInScope's. */
const MAX_LINKS = 40
const MAX_STEPS = 255

/** filepath.Clean of a name joined to the root: the location it names. */
export function locationOf(name: string): string {
  // Most names are already clean: no empty, '.' or '..' components.
  if (!/(?:^|\/)\.{0,2}(?:\/|$)/.test(name)) return name
  const parts: string[] = []
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue
    if (p === '..') parts.pop()
    else parts.push(p)
  }
  return parts.join('/')
}

export function parentOf(location: string): string {
  const slash = location.lastIndexOf('/')
  return slash < 0 ? '' : location.slice(0, slash)
}

export function baseOf(location: string): string {
  return location.slice(location.lastIndexOf('/') + 1)
}

/** True when `location` is `ancestor` or below it. */
export function within(location: string, ancestor: string): boolean {
  return ancestor === '' || location === ancestor || location.startsWith(`${ancestor}/`)
}

/**
 * Resolves `path` (relative to the root, or absolute from it) following symlinks; the last
 * component is followed only when `followLast`. Throws when links loop or nest too deep (the
 * engine fails there too).
 */
export function resolve(symlinks: Symlinks, path: string, followLast: boolean): string {
  if (symlinks.size === 0) return locationOf(path)
  const done: string[] = []
  let here = ''
  let todo = path.split('/')
  let links = 0
  let steps = 0
  while (todo.length > 0) {
    if (++steps > MAX_STEPS * 4) throw unreadable(`too many path components resolving ${JSON.stringify(path)}`)
    const p = todo.shift()!
    if (p === '' || p === '.') continue
    if (p === '..') {
      done.pop()
      here = done.join('/')
      continue
    }
    const next = here === '' ? p : `${here}/${p}`
    const target = symlinks.get(next)
    if (target === undefined || (!followLast && todo.every((t) => t === '' || t === '.'))) {
      done.push(p)
      here = next
      continue
    }
    if (++links > MAX_LINKS) throw unreadable(`too many levels of symbolic links resolving ${JSON.stringify(path)}`)
    if (target.startsWith('/')) {
      done.length = 0
      here = ''
    }
    todo = [...target.split('/'), ...todo]
  }
  return here
}

/** Where an entry named `name` is written: its parent resolved through symlinks, its own name not. */
export function writeLocation(symlinks: Symlinks, name: string): string {
  const clean = locationOf(name)
  if (clean === '') return ''
  const parent = resolve(symlinks, parentOf(clean), true)
  const base = baseOf(clean)
  return parent === '' ? base : `${parent}/${base}`
}
