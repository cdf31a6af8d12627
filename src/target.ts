/**
 * Existing objects a request names — in its path (`/containers/{id}/exec`), its query
 * (`/commit?container=`) or its body (VolumesFrom, `container:<ref>` modes, a network connect's
 * Container, named volumes) — are looked up in the engine before anything is forwarded:
 *
 *   1. dockgate's own container is off limits by every name: the reference is resolved by the
 *      engine (full id, name, `/name`, id prefix, as moby daemon/container.go GetContainer does)
 *      and the full id compared (DG_DENY_SELF);
 *   2. exec, attach, start, archive, export and commit reach *into* a container: it must be one this
 *      policy could have created, judged on what the engine applied (existing.ts; DG_DENY_TARGET);
 *      starting an exec also runs its own command line, which must pass the ContainerExec guard;
 *   3. the request is forwarded naming the object by the full id that was checked, and a reference
 *      the engine does not know is answered 404 by dockgate (DG_TARGET_NOT_FOUND), so a container
 *      created or renamed under that name in between cannot be the one acted on.
 * Named volumes that already exist are held to the VolumeCreate guard (a volume made with
 * `type=none,o=bind,device=/` is a bind mount of `/` under a harmless name).
 *
 * Reads (inspect, logs, stats) are not resolved: they change nothing and reach into nothing.
 */
import { decodeBody, encodeBody, BodyError } from './body/gojson.js'
import { replaceAt, type JsonValue } from './body/json-value.js'
import { DockgateError } from './errors.js'
import { effectiveCreateBody } from './existing.js'
import { containerCreateGuard } from './guards/container-create.js'
import { execCreateGuard } from './guards/exec-create.js'
import { isSelf, SELF_DETAIL, SELF_GUARD } from './guards/self.js'
import type { BodyReference, GuardContext, OperationGuard, SelfIdentity, Violation } from './guards/types.js'
import { volumeCreateGuard } from './guards/volume-create.js'
import type { ContainerInfo, EngineClient } from './engine-client.js'
import type { GuardRules } from './guards/rules.js'
import type { CompiledPolicy } from './policy/compile.js'
import { inheritedStart, onRemoval, type StatusHook } from './recreate/allow.js'
import type { RecreateStore } from './recreate/store.js'
import type { ApiRequest } from './types.js'
import { canonicalTarget, encodeQueryComponent } from './normalize.js'

export interface TargetContext {
  readonly policy: CompiledPolicy
  readonly self: SelfIdentity
  /** The engine to ask; absent for `dockgate check`, which then makes the static checks only. */
  readonly engine: EngineClient | undefined
  /** Records a policy refusal: throws it, or (audit-only mode) keeps it and lets the request go on. */
  readonly refuse: (err: DockgateError) => void
  /** The rules to judge by, when not the policy's own (a re-create: recreate/allow.ts). */
  readonly rules?: GuardRules
  /** Removed containers an updater may re-create (guards.container.recreate); absent for `dockgate check`. */
  readonly recreate?: RecreateStore
}

export interface TargetOutcome {
  readonly api: ApiRequest
  /** The decoded body with references rewritten to full ids; absent when nothing was rewritten. */
  readonly body?: JsonValue
  /** To call with the engine's status once it answers (a removal an updater may re-create). */
  readonly onEngineStatus?: StatusHook
  /** Why a request the create check would refuse goes through (a re-created container's start). */
  readonly note?: string
}

/** Starting runs the container's own command: a re-created container may do that with what it inherited (recreate/allow.ts). */
const STARTS: ReadonlySet<string> = new Set(['ContainerStart', 'ContainerRestart'])

function guardContext(t: TargetContext, operationId: string): GuardContext {
  return { operationId, query: new URLSearchParams(), params: {}, version: undefined, rules: t.rules ?? t.policy.guards, self: t.self }
}

function displayName(info: ContainerInfo): string {
  return (info.Name ?? '').replace(/^\//, '') || info.Id.slice(0, 12)
}

function describe(v: Violation): string {
  return `${v.field}=${v.value} (guard ${v.guard}${v.detail ? `: ${v.detail}` : ''})`
}

function notFound(kind: string, ref: string): DockgateError {
  return new DockgateError('DG_TARGET_NOT_FOUND', `No such ${kind}: ${ref}`)
}

function selfRefusal(api: ApiRequest, policy: CompiledPolicy, field: string, ref: string): DockgateError {
  return new DockgateError('DG_DENY_SELF', `${api.operation.id} denied by policy "${policy.name}": ${field}=${JSON.stringify(ref)} ${SELF_DETAIL}; no policy can allow this`, {
    policy: policy.name,
    rule: SELF_GUARD,
    violations: [{ guard: SELF_GUARD, field, value: JSON.stringify(ref), detail: SELF_DETAIL }],
  })
}

/** True when the engine's answer shows the container is dockgate's own. */
function isSelfContainer(info: ContainerInfo, self: SelfIdentity): boolean {
  return isSelf(info.Id, self) || (info.Name !== undefined && info.Name !== '' && isSelf(info.Name, self))
}

/** What would stop this policy from creating `info` as it is: its whole definition, or its mounts only. */
async function createViolations(t: TargetContext, engine: EngineClient, info: ContainerInfo, only: 'all' | { mounts: 'as-is' | 'read-only' }): Promise<Violation[]> {
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
    return [{ guard: 'target', field: 'container', value: displayName(info), detail: `dockgate cannot read its definition (${err.reason})` }]
  }
  const violations = containerCreateGuard.check(body, guardContext(t, 'ContainerCreate'))
  const volumes = (info.Mounts ?? []).flatMap((m, i) => (m.Type === 'volume' && m.Name ? [{ field: `Mounts[${i}]`, name: m.Name }] : []))
  for (const v of volumes) violations.push(...(await volumeViolations(t, engine, v.field, v.name)))
  return violations
}

/** An existing named volume, held to the VolumeCreate guard; a volume that does not exist yet passes (the engine creates it plain). */
async function volumeViolations(t: TargetContext, engine: EngineClient, field: string, name: string): Promise<Violation[]> {
  const vol = await engine.inspectVolume(name)
  if (vol === undefined) return []
  const body = decodeBody(Buffer.from(JSON.stringify({ Name: vol.Name, Driver: vol.Driver ?? 'local', DriverOpts: vol.Options ?? {} })), volumeCreateGuard.shape)
  return volumeCreateGuard.check(body, guardContext(t, 'VolumeCreate')).map((v) => ({ ...v, field: `${field} (volume ${name}: ${v.field})` }))
}

/**
 * The existing container's effective mounts are checked as HostConfig.Mounts of a create body;
 * messages name them as inspect shows them (`Mounts[0].Source`), with what the engine applied.
 */
function asInspected(v: Violation): Violation {
  return v.field.startsWith('HostConfig.Mounts[') ? { ...v, field: v.field.slice('HostConfig.'.length) } : v
}

function targetRefusal(api: ApiRequest, policy: CompiledPolicy, what: string, found: readonly Violation[], kind: 'container' | 'exec' = 'container'): DockgateError {
  const violations = found.map(asInspected)
  return new DockgateError(
    'DG_DENY_TARGET',
    `${api.operation.id} denied by policy "${policy.name}": ${what} has ${violations.map(describe).join('; ')}, which this policy does not allow in ${kind === 'container' ? 'a container' : 'an exec'} it creates`,
    { policy: policy.name, rule: [...new Set(violations.map((v) => v.guard))].join(','), violations },
  )
}

/** The reference the request's path or query names, if any. */
function targetRef(api: ApiRequest): string | undefined {
  const from = api.operation.target?.from
  if (from === undefined) return undefined
  const ref = 'param' in from ? api.params[from.param] : api.query.get(from.query) ?? undefined
  return ref === '' ? undefined : ref
}

/** The same request naming its target by `id` (path parameter or query parameter). */
export function withTargetId(api: ApiRequest, id: string): ApiRequest {
  const from = api.operation.target?.from
  if (from === undefined) return api
  if ('param' in from) {
    const params = { ...api.params, [from.param]: id }
    const path = api.operation.template.replace(/\{([^}]+)\}/g, (m, name: string) => params[name] ?? m)
    return { ...api, path, params, target: canonicalTarget(api.version, path, api.rawQuery) }
  }
  const query = new URLSearchParams(api.query)
  query.set(from.query, id)
  const rawQuery = canonicalQuery(query)
  return { ...api, query, rawQuery, target: canonicalTarget(api.version, api.path, rawQuery) }
}

function canonicalQuery(query: URLSearchParams): string {
  return [...query].map(([k, v]) => `${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`).join('&')
}

/** Step 1–3 for the object in the path or query. */
async function checkPathTarget(t: TargetContext, api: ApiRequest): Promise<TargetOutcome> {
  const target = api.operation.target
  const ref = targetRef(api)
  if (target === undefined || ref === undefined || target.reach === 'read') return { api }
  if (target.kind === 'container') {
    const field = 'param' in target.from ? `params.${target.from.param}` : `query.${target.from.query}`
    if (isSelf(ref, t.self)) t.refuse(selfRefusal(api, t.policy, field, ref))
    const engine = t.engine
    if (engine === undefined) return { api }
    const info = await engine.inspectContainer(ref)
    if (info === undefined) throw notFound('container', ref)
    if (isSelfContainer(info, t.self)) t.refuse(selfRefusal(api, t.policy, field, ref))
    if (target.reach === 'enter') {
      const violations = await createViolations(t, engine, info, 'all')
      const note = violations.length > 0 && STARTS.has(api.operation.id)
        ? await inheritedStart(t.recreate, t.policy, info, (rules) => createViolations({ ...t, rules }, engine, info, 'all'))
        : undefined
      if (violations.length > 0 && note === undefined) t.refuse(targetRefusal(api, t.policy, `container ${displayName(info)}`, violations))
      if (note !== undefined) return { api: withTargetId(api, info.Id), note }
    }
    // A removal an updater may re-create: what the container has is taken now, from the engine.
    const onEngineStatus = await onRemoval(t.recreate, t.policy, api.operation.id, info, () => createViolations(t, engine, info, 'all'), () => engine.facts())
    return { api: withTargetId(api, info.Id), ...(onEngineStatus === undefined ? {} : { onEngineStatus }) }
  }
  if (target.kind === 'exec') {
    if (t.engine === undefined) return { api }
    const exec = await t.engine.inspectExec(ref)
    if (exec === undefined) throw notFound('exec instance', ref)
    const info = await t.engine.inspectContainer(exec.ContainerID)
    if (info === undefined) throw notFound('container', exec.ContainerID)
    if (isSelfContainer(info, t.self)) t.refuse(selfRefusal(api, t.policy, 'exec container', displayName(info)))
    if (target.reach === 'enter') {
      // The exec runs as it was created, whoever created it: its own options must pass too.
      const pc = exec.ProcessConfig ?? {}
      const asCreate = decodeBody(Buffer.from(JSON.stringify({ Privileged: pc.privileged === true, User: pc.user ?? '' })), execCreateGuard.shape)
      const own = execCreateGuard.check(asCreate, guardContext(t, 'ContainerExec'))
      if (own.length > 0) t.refuse(targetRefusal(api, t.policy, `exec ${exec.ID.slice(0, 12)} (in container ${displayName(info)})`, own, 'exec'))
      const violations = await createViolations(t, t.engine, info, 'all')
      if (violations.length > 0) t.refuse(targetRefusal(api, t.policy, `container ${displayName(info)} (of exec ${exec.ID.slice(0, 12)})`, violations))
    }
    return { api: withTargetId(api, exec.ID) }
  }
  return { api }
}

/** Containers and volumes the body names. Returns the body with container references by full id. */
async function checkBodyReferences(t: TargetContext, api: ApiRequest, refs: readonly BodyReference[], body: JsonValue): Promise<JsonValue> {
  let out = body
  for (const r of refs) {
    if (r.kind === 'container') {
      if (isSelf(r.ref, t.self)) t.refuse(selfRefusal(api, t.policy, r.field, r.ref))
      if (t.engine === undefined) continue
      const info = await t.engine.inspectContainer(r.ref)
      if (info === undefined) throw notFound('container', r.ref)
      if (isSelfContainer(info, t.self)) t.refuse(selfRefusal(api, t.policy, r.field, r.ref))
      if (r.use === 'volumes-from') {
        // Inheriting a container's mounts is mounting them: they must pass as binds of a new container.
        const mounts = r.readOnly === true ? 'read-only' : 'as-is'
        const violations = (await createViolations(t, t.engine, info, { mounts })).map((v) => ({ ...v, field: `${r.field} (container ${displayName(info)}: ${asInspected(v).field})` }))
        if (violations.length > 0) t.refuse(bodyRefusal(api, t.policy, violations))
      }
      if (r.rewrite !== undefined) out = replaceAt(out, r.path, r.rewrite(info.Id))
    } else if (t.engine !== undefined) {
      const violations = await volumeViolations(t, t.engine, r.field, r.ref)
      if (violations.length > 0) t.refuse(bodyRefusal(api, t.policy, violations))
    }
  }
  return out
}

function bodyRefusal(api: ApiRequest, policy: CompiledPolicy, violations: readonly Violation[]): DockgateError {
  return new DockgateError('DG_DENY_BODY', `${api.operation.id} denied by policy "${policy.name}": ${violations.map(describe).join('; ')}, which this policy does not allow`, {
    policy: policy.name,
    rule: [...new Set(violations.map((v) => v.guard))].join(','),
    violations,
  })
}

/** The checks that need no engine: references that name dockgate by a name or id it knows. */
export function checkTargetsStatic(t: TargetContext, api: ApiRequest, guard: OperationGuard | undefined, body: JsonValue | undefined): void {
  if (t.policy.unguarded) return
  const target = api.operation.target
  const ref = targetRef(api)
  if (target?.kind === 'container' && target.reach !== 'read' && ref !== undefined && isSelf(ref, t.self)) {
    t.refuse(selfRefusal(api, t.policy, 'param' in target.from ? `params.${target.from.param}` : `query.${target.from.query}`, ref))
  }
  for (const r of body === undefined || guard?.references === undefined ? [] : guard.references(body)) {
    if (r.kind === 'container' && isSelf(r.ref, t.self)) t.refuse(selfRefusal(api, t.policy, r.field, r.ref))
  }
}

/**
 * Resolves and checks what the request names, then returns the request to forward (by full id)
 * and, when references in it were rewritten, the body. Under an unguarded policy (`full`) nothing
 * is looked up.
 */
export async function checkTargets(t: TargetContext, api: ApiRequest, guard: OperationGuard | undefined, body: JsonValue | undefined): Promise<TargetOutcome> {
  if (t.policy.unguarded) return { api }
  const path = await checkPathTarget(t, api)
  const refs = body === undefined || guard?.references === undefined ? [] : guard.references(body)
  if (refs.length === 0 || body === undefined) return path
  const rewritten = await checkBodyReferences(t, api, refs, body)
  return rewritten === body ? path : { ...path, body: rewritten }
}

/** Re-encodes a rewritten body for forwarding. */
export function encodeRewritten(body: JsonValue): Buffer {
  return Buffer.from(encodeBody(body), 'utf8')
}
