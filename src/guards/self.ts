/**
 * dockgate's own container is off limits: exec, attach, archive, export, commit, update, kill,
 * stop, restart, remove, rename, pause — and namespace joining, VolumesFrom and links from a new
 * container — would hand a client a JS runtime next to the raw Docker socket, or take the proxy
 * down (docs/engine-notes.md, "dockgate's own container").
 *
 * This module is the static half of that check, which needs no engine: references that name
 * dockgate by a name or id it knows. Live traffic also resolves every reference through the
 * engine and compares full ids (target.ts), which catches names dockgate cannot know (a
 * `--name` given at `docker run`, a rename).
 *
 * A reference names us when it is one of our names (with or without the leading `/`), or any hex
 * prefix of our id, whatever its length: the engine resolves a unique id prefix of any length
 * (moby `daemon/container.go` GetContainer: full id, then name, then id prefix). A short
 * reference that also prefixes another container's id is refused too; failing closed is cheap.
 */
import type { SelfIdentity } from './types.js'
import type { Findings } from './values.js'

/** True when a container reference (id, id prefix, name, `/name`) may resolve to dockgate itself. */
export function isSelf(ref: string, self: SelfIdentity): boolean {
  const name = ref.startsWith('/') ? ref.slice(1) : ref
  if (name === '') return false
  if (self.names.includes(name)) return true
  if (!/^[0-9a-fA-F]+$/.test(name)) return false
  const hex = name.toLowerCase()
  // An id shorter than 64 digits is a short id we only know from the hostname: a longer
  // reference that starts with it may be ours as well.
  return self.ids.some((id) => id.startsWith(hex) || (id.length < 64 && hex.startsWith(id)))
}

export const SELF_GUARD = 'self'
export const SELF_DETAIL = "is dockgate's own container"

/** Records a violation when `ref` names dockgate's container. */
export function checkSelfRef(findings: Findings, field: string, ref: string, self: SelfIdentity): void {
  if (isSelf(ref, self)) findings.add(SELF_GUARD, field, ref, SELF_DETAIL)
}
