/**
 * What an existing container or volume is, judged by a policy (for target.ts): the create request
 * that would make it today (existing.ts) held to the ContainerCreate guard, a named volume held to
 * the VolumeCreate guard, dockgate's own container by any name; and the refusals that say so.
 */
import { decodeBody, BodyError } from './body/gojson.js'
import type { JsonValue } from './body/json-value.js'
import { DockgateError } from './errors.js'
import { effectiveCreateBody } from './existing.js'
import { containerCreateGuard } from './guards/container-create.js'
import { describeViolation } from './guards/describe.js'
import { isSelf, SELF_DETAIL, SELF_GUARD } from './guards/self.js'
import type { GuardContext, SelfIdentity, Violation } from './guards/types.js'
import { volumeCreateGuard } from './guards/volume-create.js'
import type { ContainerInfo, EngineClient, VolumeInfo } from './engine-client.js'
import type { CompiledPolicy } from './policy/compile.js'
import type { TargetContext } from './target.js'
import type { ApiRequest } from './types.js'
import type { VolumeSpec } from './tenant/references.js'

export function guardContext(t: TargetContext, operationId: string): GuardContext {
  return { operationId, query: new URLSearchParams(), params: {}, version: undefined, rules: t.rules ?? t.policy.guards, self: t.self }
}

export function displayName(info: ContainerInfo): string {
  return (info.Name ?? '').replace(/^\//, '') || info.Id.slice(0, 12)
}

/** The rules a refusal was judged by, for what they allow now (guards/describe.ts). */
type Judged = Pick<TargetContext, 'policy' | 'rules'>

function describeAll(t: Judged, violations: readonly Violation[]): string {
  return violations.map((v) => describeViolation(v, t.rules ?? t.policy.guards)).join('; ')
}

export function selfRefusal(api: ApiRequest, policy: CompiledPolicy, field: string, ref: string): DockgateError {
  return new DockgateError('DG_DENY_SELF', `${api.operation.id} denied by policy "${policy.name}": ${field}=${JSON.stringify(ref)} ${SELF_DETAIL}; no policy can allow this`, {
    policy: policy.name,
    rule: SELF_GUARD,
    violations: [{ guard: SELF_GUARD, field, value: JSON.stringify(ref), detail: SELF_DETAIL }],
  })
}

/** True when the engine's answer shows the container is dockgate's own. */
export function isSelfContainer(info: ContainerInfo, self: SelfIdentity): boolean {
  return isSelf(info.Id, self) || (info.Name !== undefined && info.Name !== '' && isSelf(info.Name, self))
}

/** What would stop this policy from creating `info` as it is: its whole definition, or its mounts only. */
export async function createViolations(t: TargetContext, engine: EngineClient, info: ContainerInfo, only: 'all' | { mounts: 'as-is' | 'read-only' }): Promise<Violation[]> {
  const facts = await engine.facts()
  let text = effectiveCreateBody(info, facts)
  if (only !== 'all') {
    const mounts = (JSON.parse(text) as { HostConfig: { Mounts: Array<Record<string, unknown>> } }).HostConfig.Mounts
    text = JSON.stringify({ HostConfig: { Mounts: only.mounts === 'read-only' ? mounts.map((m) => ({ ...m, ReadOnly: true })) : mounts } })
  }
  let body: JsonValue
  try {
    body = decodeBody(Buffer.from(text, 'utf8'), containerCreateGuard.shape)
  } catch (err) {
    if (!(err instanceof BodyError)) throw err
    return [{ guard: 'target', field: 'container', value: displayName(info), detail: `has a definition dockgate cannot read (${err.reason})` }]
  }
  const violations = containerCreateGuard.check(body, guardContext(t, 'ContainerCreate'))
  const volumes = (info.Mounts ?? []).flatMap((m, i) => (m.Type === 'volume' && m.Name ? [{ field: `Mounts[${i}]`, name: m.Name }] : []))
  for (const v of volumes) violations.push(...volumeViolations(t, v.field, v.name, await engine.inspectVolume(v.name)))
  return violations
}

/** An existing named volume, held to the VolumeCreate guard; a volume that does not exist yet passes (the engine creates it plain). */
export function volumeViolations(t: TargetContext, field: string, name: string, vol: VolumeInfo | VolumeSpec | undefined): Violation[] {
  if (vol === undefined) return []
  const options = 'Options' in vol ? vol.Options : 'DriverOpts' in vol ? vol.DriverOpts : undefined
  const body = decodeBody(Buffer.from(JSON.stringify({ Name: vol.Name, Driver: vol.Driver ?? 'local', DriverOpts: options ?? {} })), volumeCreateGuard.shape)
  return volumeCreateGuard.check(body, guardContext(t, 'VolumeCreate')).map((v) => ({ ...v, field: `${field} (volume ${name}: ${v.field})` }))
}

/**
 * The existing container's effective mounts are checked as HostConfig.Mounts of a create body;
 * messages name them as inspect shows them (`Mounts[0].Source`), with what the engine applied.
 */
export function asInspected(v: Violation): Violation {
  return v.field.startsWith('HostConfig.Mounts[') ? { ...v, field: v.field.slice('HostConfig.'.length) } : v
}

export function targetRefusal(api: ApiRequest, t: Judged, what: string, found: readonly Violation[], kind: 'container' | 'exec' = 'container'): DockgateError {
  const violations = found.map(asInspected)
  const policy = t.policy
  return new DockgateError(
    'DG_DENY_TARGET',
    `${api.operation.id} denied by policy "${policy.name}": ${what} has what this policy does not allow in ${kind === 'container' ? 'a container' : 'an exec'} it creates: ${describeAll(t, violations)}`,
    { policy: policy.name, rule: [...new Set(violations.map((v) => v.guard))].join(','), violations },
  )
}

export function bodyRefusal(api: ApiRequest, t: Judged, violations: readonly Violation[]): DockgateError {
  const policy = t.policy
  return new DockgateError('DG_DENY_BODY', `${api.operation.id} denied by policy "${policy.name}": ${describeAll(t, violations)}`, {
    policy: policy.name,
    rule: [...new Set(violations.map((v) => v.guard))].join(','),
    violations,
  })
}
