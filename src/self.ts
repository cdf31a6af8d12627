/**
 * Which container dockgate itself runs in, so that the guards can keep clients out of it
 * (exec into the proxy would be a JS runtime next to the raw socket).
 *
 * Read once at start from the kernel, without asking the engine:
 * - `/proc/self/mountinfo`: the engine bind-mounts `/etc/hostname`, `/etc/hosts` and
 *   `/etc/resolv.conf` from `<data-root>/containers/<id>/`; only those mount points are read,
 *   because on the host itself mountinfo lists *other* containers' paths (their shm mounts).
 * - `/proc/self/cgroup`: `/docker/<id>` (cgroup v1), `docker-<id>.scope` (systemd driver, or v2
 *   with the host cgroup namespace), `libpod-<id>` (podman). With a private cgroup namespace this
 *   is only `0::/`, which is why mountinfo comes first.
 * - the hostname, when we are in a container: the engine sets it to the 12-digit short id unless
 *   `--hostname` was given, and it may also be a name; both are kept as candidates.
 * Outside a container every list is empty. A later step may ask the engine (`GET /containers/<id>/json`)
 * for the names; that is not done here.
 */
import { existsSync, readFileSync } from 'node:fs'
import { hostname as osHostname } from 'node:os'
import { join } from 'node:path'
import type { SelfIdentity } from './guards/types.js'

const ID = /[0-9a-f]{64}/
const ENGINE_FILES = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'])

/** Container ids found in the engine-managed bind mounts of a mountinfo text. */
export function idsFromMountinfo(text: string): string[] {
  const ids: string[] = []
  for (const line of text.split('\n')) {
    // proc(5): id parent major:minor root mount-point options ... - fstype source superopts
    const fields = line.split(' ')
    const root = fields[3]
    const mountPoint = fields[4]
    if (root === undefined || mountPoint === undefined || !ENGINE_FILES.has(mountPoint)) continue
    const m = /\/containers\/([0-9a-f]{64})\//.exec(root)
    if (m?.[1] !== undefined) ids.push(m[1])
  }
  return ids
}

/** Container ids in the cgroup paths of a /proc/self/cgroup text. */
export function idsFromCgroup(text: string): string[] {
  const ids: string[] = []
  for (const line of text.split('\n')) {
    const path = line.split(':').slice(2).join(':')
    const m = /(?:\/docker\/|docker-|libpod-|\/libpod\/)([0-9a-f]{64})(?:\.scope)?(?:\/|$)/.exec(path)
    if (m?.[1] !== undefined) ids.push(m[1])
  }
  return ids
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

export interface DiscoverOptions {
  /** Filesystem root to read `/proc` and `/.dockerenv` under (tests); default `/`. */
  readonly root?: string
  /** The hostname to use (tests); default os.hostname(). */
  readonly hostname?: string
}

/**
 * dockgate's own container ids and names. `ids` holds full 64-digit ids; when only the hostname
 * suggests one, its 12-digit short id is kept in `ids` as well (guards/self.ts matches both ways).
 */
export function discoverSelf(options: DiscoverOptions = {}): SelfIdentity {
  const root = options.root ?? '/'
  const ids = new Set([
    ...idsFromMountinfo(readOrEmpty(join(root, 'proc/self/mountinfo'))),
    ...idsFromCgroup(readOrEmpty(join(root, 'proc/self/cgroup'))),
  ])
  const inContainer = ids.size > 0 || existsSync(join(root, '.dockerenv'))
  const names: string[] = []
  if (inContainer) {
    const host = (options.hostname ?? osHostname()).trim()
    if (/^[0-9a-f]{12}$/.test(host)) {
      if (![...ids].some((id) => id.startsWith(host))) ids.add(host)
    } else if (host !== '' && !ID.test(host)) {
      names.push(host)
    }
  }
  return Object.freeze({ ids: Object.freeze([...ids]), names: Object.freeze(names) })
}
