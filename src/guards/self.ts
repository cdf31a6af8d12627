/**
 * dockgate's own container is off limits (competitors.md G6, D6, D7): exec, attach, archive,
 * export, commit, update, kill, stop, restart, remove, rename, pause — and namespace joining,
 * VolumesFrom and links from a new container — would hand a client a JS runtime next to the raw
 * Docker socket, or take the proxy down.
 *
 * A reference names us when it is one of our names (with or without the leading `/`), or any hex
 * prefix of our id, whatever its length: the engine resolves a unique id prefix of any length
 * (moby `daemon/container.go` GetContainer: full id, then name, then id prefix). A short
 * reference that also prefixes another container's id is refused too; failing closed is cheap.
 */
import { ANY } from '../body/shape.js'
import type { GuardContext, OperationGuard, SelfIdentity, Violation } from './types.js'
import { Findings } from './values.js'

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

/** The violations for an operation whose `{id}` path parameter must not be dockgate's container. */
export function selfParamViolations(ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const id = ctx.params.id
  if (id !== undefined) checkSelfRef(findings, 'params.id', id, ctx.self)
  return findings.list
}

/** Operations on `/containers/{id}/…` that must not target dockgate's container; the body is not read. */
export const SELF_ONLY_OPERATIONS: readonly string[] = [
  'ContainerAttach',
  'ContainerAttachWebsocket',
  'ContainerArchive',
  'ContainerArchiveInfo',
  'ContainerExport',
  'ContainerKill',
  'ContainerStop',
  'ContainerRestart',
  'ContainerDelete',
  'ContainerRename',
  'ContainerPause',
  'ContainerUnpause',
]

/** Guard for the operations that are only checked for targeting dockgate itself. */
export const selfOnlyGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => selfParamViolations(ctx),
}

/** ImageCommit: `POST /commit?container=<self>` would snapshot dockgate's filesystem into an image. */
export const imageCommitGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => {
    const findings = new Findings()
    for (const ref of ctx.query.getAll('container')) checkSelfRef(findings, 'query.container', ref, ctx.self)
    return findings.list
  },
}
