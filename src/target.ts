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
 * Reads (inspect, logs, stats) are not resolved: they change nothing and reach into nothing —
 * except for a client with a tenant. Its references of every kind but images (containers, execs,
 * networks, volumes; reads included) are resolved among its tenant's objects only
 * (tenant/view.ts), and a named volume it mounts that does not exist yet is created, labelled,
 * once everything else has passed. Without a tenant none of that runs.
 */
import { decodeBody, encodeBody } from './body/gojson.js'
import { renameKeyAt, replaceAt, valueAt, type JsonValue } from './body/json-value.js'
import { DockgateError } from './errors.js'
import { execCreateGuard } from './guards/exec-create.js'
import { isSelf } from './guards/self.js'
import type { BodyReference, OperationGuard, SelfIdentity } from './guards/types.js'
import type { ContainerInfo, EngineClient, ExecInfo } from './engine-client.js'
import { asInspected, bodyRefusal, createViolations, displayName, guardContext, isSelfContainer, selfRefusal, targetRefusal, volumeViolations } from './target-checks.js'
import type { GuardRules } from './guards/rules.js'
import type { CompiledPolicy } from './policy/compile.js'
import { inheritedStart, onRemoval, type StatusHook } from './recreate/allow.js'
import type { RecreateStore } from './recreate/store.js'
import type { ApiRequest } from './types.js'
import { canonicalTarget, withQuery } from './normalize.js'
import { implicitVolume, tenantReferences, type VolumeSpec } from './tenant/references.js'
import { checkTenantRequest, RESOLVED_KINDS } from './tenant/request.js'
import { notFound, type TenantView } from './tenant/view.js'

export interface TargetContext {
  readonly policy: CompiledPolicy
  readonly self: SelfIdentity
  /** The engine to ask; absent for `dockgate check`, which then makes the static checks only. */
  readonly engine: EngineClient | undefined
  /** Records a policy refusal: throws it, or (audit-only mode) keeps it and lets the request go on. */
  readonly refuse: (err: DockgateError) => void
  /** The client's tenant, when it has one: what it names is resolved among the tenant's objects. */
  readonly view?: TenantView | undefined
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

/** The container `ref` names: the tenant's (tenant/view.ts), else whichever the engine resolves it to. */
async function lookupContainer(t: TargetContext, engine: EngineClient, ref: string): Promise<ContainerInfo> {
  if (t.view !== undefined) return t.view.container(ref)
  const info = await engine.inspectContainer(ref)
  if (info === undefined) throw notFound('container', ref)
  return info
}

/** The exec `ref` names, and its container: the tenant's, else any. */
async function lookupExec(t: TargetContext, engine: EngineClient, ref: string): Promise<{ exec: ExecInfo; info: ContainerInfo }> {
  if (t.view !== undefined) return t.view.exec(ref)
  const exec = await engine.inspectExec(ref)
  if (exec === undefined) throw notFound('exec instance', ref)
  const info = await engine.inspectContainer(exec.ContainerID)
  if (info === undefined) throw notFound('container', exec.ContainerID)
  return { exec, info }
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
  return withQuery(api, query)
}

/** Step 1–3 for the object in the path or query. */
async function checkPathTarget(t: TargetContext, api: ApiRequest): Promise<TargetOutcome> {
  const target = api.operation.target
  const ref = targetRef(api)
  if (target === undefined || ref === undefined) return { api }
  const view = t.view !== undefined && RESOLVED_KINDS.has(target.kind) ? t.view : undefined
  if (target.reach === 'read' && view === undefined) return { api }
  if (view !== undefined && target.kind === 'network') return { api: withTargetId(api, (await view.network(ref, target.reach === 'read' ? 'read' : 'use')).network.Id) }
  if (view !== undefined && target.kind === 'volume') return (await view.volume(ref), { api })
  if (target.kind === 'container') {
    if (view !== undefined && target.reach === 'read') return { api: withTargetId(api, await view.containerId(ref)) }
    const field = 'param' in target.from ? `params.${target.from.param}` : `query.${target.from.query}`
    if (isSelf(ref, t.self)) t.refuse(selfRefusal(api, t.policy, field, ref))
    const engine = t.engine
    if (engine === undefined) return { api }
    const info = await lookupContainer(t, engine, ref)
    if (isSelfContainer(info, t.self)) t.refuse(selfRefusal(api, t.policy, field, ref))
    if (target.reach === 'enter') {
      const violations = await createViolations(t, engine, info, 'all')
      const note = violations.length > 0 && STARTS.has(api.operation.id)
        ? await inheritedStart(t.recreate, { policy: t.policy, tenant: t.view?.tenant }, info, (rules) => createViolations({ ...t, rules }, engine, info, 'all'))
        : undefined
      if (violations.length > 0 && note === undefined) t.refuse(targetRefusal(api, t, `container ${displayName(info)}`, violations))
      if (note !== undefined) return { api: withTargetId(api, info.Id), note }
    }
    // A removal an updater may re-create: what the container has is taken now, from the engine.
    const onEngineStatus = await onRemoval(t.recreate, { policy: t.policy, tenant: t.view?.tenant }, api.operation.id, info, () => createViolations(t, engine, info, 'all'), () => engine.facts())
    return { api: withTargetId(api, info.Id), ...(onEngineStatus === undefined ? {} : { onEngineStatus }) }
  }
  if (target.kind === 'exec') {
    if (t.engine === undefined) return { api }
    const { exec, info } = await lookupExec(t, t.engine, ref)
    if (target.reach === 'read') return { api: withTargetId(api, exec.ID) }
    if (isSelfContainer(info, t.self)) t.refuse(selfRefusal(api, t.policy, 'exec container', displayName(info)))
    if (target.reach === 'enter') {
      // The exec runs as it was created, whoever created it: its own options must pass too.
      const pc = exec.ProcessConfig ?? {}
      const asCreate = decodeBody(Buffer.from(JSON.stringify({ Privileged: pc.privileged === true, User: pc.user ?? '' })), execCreateGuard.shape)
      const own = execCreateGuard.check(asCreate, guardContext(t, 'ContainerExec'))
      if (own.length > 0) t.refuse(targetRefusal(api, t, `exec ${exec.ID.slice(0, 12)} (in container ${displayName(info)})`, own, 'exec'))
      const violations = await createViolations(t, t.engine, info, 'all')
      if (violations.length > 0) t.refuse(targetRefusal(api, t, `container ${displayName(info)} (of exec ${exec.ID.slice(0, 12)})`, violations))
    }
    return { api: withTargetId(api, exec.ID) }
  }
  return { api }
}

/**
 * Containers, volumes and (for a tenant) networks the body names. Returns the body with container
 * references by full id, and the named volumes a tenant's container would make the engine create.
 */
async function checkBodyReferences(t: TargetContext, api: ApiRequest, refs: readonly BodyReference[], body: JsonValue): Promise<{ body: JsonValue; implicit: VolumeSpec[] }> {
  let out = body
  const implicit: VolumeSpec[] = []
  // EndpointsConfig keys are renamed last: the paths of the references inside them go through them.
  const renames: Rename[] = []
  for (const r of refs) {
    if (r.kind === 'network') {
      if (t.view === undefined) continue
      const { network, unique } = await t.view.network(r.ref, 'use')
      const name = unique && r.ref === network.Name ? r.ref : network.Id
      if (r.key === true) renames.push({ path: r.path, name, id: network.Id })
      else if (r.rewrite !== undefined) out = replaceAt(out, r.path, r.rewrite(name))
    } else if (r.kind === 'container') {
      if (isSelf(r.ref, t.self)) t.refuse(selfRefusal(api, t.policy, r.field, r.ref))
      if (t.engine === undefined) continue
      const info = await lookupContainer(t, t.engine, r.ref)
      if (isSelfContainer(info, t.self)) t.refuse(selfRefusal(api, t.policy, r.field, r.ref))
      if (r.use === 'volumes-from') {
        // Inheriting a container's mounts is mounting them: they must pass as binds of a new container.
        const mounts = r.readOnly === true ? 'read-only' : 'as-is'
        const violations = (await createViolations(t, t.engine, info, { mounts })).map((v) => ({ ...v, field: `${r.field} (container ${displayName(info)}: ${asInspected(v).field})` }))
        if (violations.length > 0) t.refuse(bodyRefusal(api, t, violations))
      }
      if (r.rewrite !== undefined) out = replaceAt(out, r.path, r.rewrite(info.Id))
    } else if (t.engine !== undefined) {
      const vol = t.view === undefined ? await t.engine.inspectVolume(r.ref) : await t.view.mountable(r.ref)
      const spec = vol === undefined && t.view !== undefined ? implicitVolume(body, r, t.view.tenant) : undefined
      if (spec !== undefined) implicit.push(spec)
      const violations = volumeViolations(t, r.field, r.ref, vol ?? spec)
      if (violations.length > 0) t.refuse(bodyRefusal(api, t, violations))
    }
  }
  return { body: renameKeys(api, out, renames), implicit }
}

/** An EndpointsConfig key naming `id`, to be written as `name`. */
interface Rename {
  readonly path: ReadonlyArray<string | number>
  readonly name: string
  readonly id: string
}

/** Renames EndpointsConfig keys to what they were resolved to; two keys for one network are refused (Go would keep one). */
function renameKeys(api: ApiRequest, body: JsonValue, renames: readonly Rename[]): JsonValue {
  let out = body
  const seen = new Set<string>()
  for (const { path, name, id } of renames) {
    const twice = new DockgateError('DG_REQ_BAD_BODY', `${api.operation.id} refused: NetworkingConfig.EndpointsConfig names the network ${id.slice(0, 12)} twice`)
    const where = JSON.stringify([...path.slice(0, -1), id])
    if (seen.has(where)) throw twice
    seen.add(where)
    if (path.at(-1) === name) continue
    if (valueAt(out, [...path.slice(0, -1), name]) !== undefined) throw twice
    const renamed = renameKeyAt(out, path, name)
    if (renamed === out) throw new Error(`EndpointsConfig key at ${JSON.stringify(path)} was not renamed`)
    out = renamed
  }
  return out
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
  const scoped = t.view === undefined ? api : await checkTenantRequest(t.view, api, body)
  const path = await checkPathTarget(t, scoped)
  const own = body === undefined || guard?.references === undefined ? [] : guard.references(body)
  const refs = t.view === undefined ? own : [...own, ...tenantReferences(api.operation.id, body)]
  if (refs.length === 0 || body === undefined) return path
  const checked = await checkBodyReferences(t, api, refs, body)
  // Last, once everything has passed: the tenant's new named volumes, made with its label.
  for (const spec of checked.implicit) await t.view?.createVolume(spec)
  return checked.body === body ? path : { ...path, body: checked.body }
}

/** Re-encodes a rewritten body for forwarding. */
export function encodeRewritten(body: JsonValue): Buffer {
  return Buffer.from(encodeBody(body), 'utf8')
}
