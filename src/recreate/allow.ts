/**
 * The updater re-create allowance (guards.container.recreate): a container removed through a
 * policy may be created again under the same name through that policy, with what it had and
 * nothing more, and then started — even where the policy refuses those options in a new container.
 *
 *   removal   ContainerDelete (or the stop/kill of an AutoRemove container): the target step has
 *             just inspected it; what the ContainerCreate guard refuses in its effective definition
 *             (existing.ts) is what it "had". Remembered once the engine confirms (store.ts).
 *   re-create ContainerCreate `?name=<that name>` within the window: the body, with the engine's
 *             own defaults copied from the inspect read as defaults (isEngineDefault), must pass
 *             the guard under the policy loosened by exactly what the old container had
 *             (loosen/: the same narrowest loosening `dockgate learn` writes). Its command surface
 *             must be the old one: same image repository (the tag or digest may change: that is the
 *             update), Cmd, Entrypoint, User, WorkingDir, Healthcheck and Shell as they were or unset
 *             (the new image's default), Env and Labels no entries the old container lacked, and no
 *             port published that it did not publish.
 *             One re-create per removal.
 *   start     ContainerStart/ContainerRestart of the re-created container (the name, not the old
 *             id) within the window after the re-create: its effective definition must pass under
 *             the same loosened rules. Exec, attach, archive, export and commit never inherit: they
 *             run the client's own command or read the container's files, and a container holding
 *             the docker socket would hand over the host.
 * The old definition is only ever the engine's answer before the removal, never the client's body.
 */
import { encodeBody } from '../body/gojson.js'
import { foldKey, isObject, JsonObject, replaceAt, type JsonValue } from '../body/json-value.js'
import type { ContainerInfo, EngineFacts } from '../engine-client.js'
import { ENGINE_DEFAULT_FIELDS, isEngineDefault } from '../existing.js'
import { containerCreateGuard } from '../guards/container-create.js'
import { imageRepository } from '../guards/image-ref.js'
import { compileGuardRules, type GuardRules } from '../guards/rules.js'
import type { SelfIdentity, Violation } from '../guards/types.js'
import { Findings } from '../guards/values.js'
import { GuardsSection } from '../loosen/section.js'
import { loosen, loosenings } from '../loosen/table.js'
import { RecreateStore, scopeKey, type RecreateScope, type RemovedContainer } from './store.js'

export const RECREATE_GUARD = 'container.recreate'

/** The policy's rules loosened by exactly what the removed container had. */
export function inheritedRules(base: GuardRules, had: readonly Violation[]): GuardRules {
  const section = new GuardsSection<Violation>(base)
  for (const v of had) {
    const outcome = loosen(v)
    for (const l of loosenings(outcome)) section.add(l, v)
  }
  const compiled = compileGuardRules(section.toRaw(), base)
  // A problem here is a bug in loosen/; without the loosening the re-create is simply refused.
  return compiled.problems.length === 0 ? compiled.rules : base
}

/** Called with the engine's status for the forwarded request (0: none came); only the first call counts. */
export type StatusHook = (status: number) => void

function once(hook: StatusHook): StatusHook {
  let done = false
  return (status) => {
    if (done) return
    done = true
    hook(status)
  }
}

/**
 * What a container about to be removed has that the policy refuses in a new one: the target step's
 * create check of its effective definition (which lists inherited mounts, not VolumesFrom), plus its
 * VolumesFrom names, which a re-create copied from its inspect sends again.
 */
function removedHad(info: ContainerInfo, violations: readonly Violation[]): Violation[] {
  const from = info.HostConfig?.['VolumesFrom']
  const specs = Array.isArray(from) ? from.filter((s): s is string => typeof s === 'string') : []
  return [...violations, ...specs.map((spec, i) => ({ guard: 'container.volumes_from', field: `HostConfig.VolumesFrom[${i}]`, value: JSON.stringify(spec), detail: 'is not in guards.container.volumes_from' }))]
}

/**
 * The target step, before a request that removes `info` is forwarded — ContainerDelete, or the stop
 * or kill of an AutoRemove container (the engine removes it then): what the container has
 * (`check`, the target step's create check of it) is taken now, from the engine, and remembered
 * once the engine confirms the removal. Undefined for anything else.
 */
export async function onRemoval(
  store: RecreateStore | undefined, scope: RecreateScope, operationId: string, info: ContainerInfo,
  check: () => Promise<Violation[]>, facts: () => Promise<EngineFacts>,
): Promise<StatusHook | undefined> {
  const recreate = scope.policy.guards.container.recreate
  const name = (info.Name ?? '').replace(/^\//, '')
  const autoRemove = info.HostConfig?.['AutoRemove'] === true
  const removes = operationId === 'ContainerDelete' || ((operationId === 'ContainerStop' || operationId === 'ContainerKill') && autoRemove)
  if (store === undefined || recreate === null || name === '' || !removes) return undefined
  const had = removedHad(info, await check())
  const engine = await facts()
  return once((status) => {
    if (status >= 200 && status < 300) store.remember({ scope: scopeKey(scope), name, oldId: info.Id, info, facts: engine, had, withinMs: recreate.withinMs })
  })
}

const ago = (store: RecreateStore, at: number): string => `${Math.round((store.now() - at) / 1000)} s ago`

/** Why no re-create applies to this name right now, or the removal it may re-create. */
function usable(store: RecreateStore, scope: RecreateScope, name: string): RemovedContainer | string {
  const policy = scope.policy
  const removed = store.find(scopeKey(scope), name)
  if (removed === undefined) return `no container of this name was removed through policy "${policy.name}" in the last ${(policy.guards.container.recreate?.withinMs ?? 0) / 1000} s, so the create is checked as a new container`
  if (removed.state === 'creating') return 'a re-create of this container is already under way'
  if (removed.state === 'recreated') return `the container removed ${ago(store, removed.removedAt)} was already re-created; one re-create per removal`
  if (store.now() > removed.until) return `the container of this name was removed ${ago(store, removed.removedAt)}, longer ago than guards.container.recreate.within_ms (${removed.withinMs} ms)`
  return removed
}

/** The body with what the engine fills in by default (copied from the inspect) left out, for checking only. */
function withoutEngineDefaults(body: JsonValue, facts: EngineFacts): JsonValue {
  if (!isObject(body)) return body
  const key = body.keyOf('HostConfig')
  const hc = body.field('HostConfig')
  if (key === undefined || !isObject(hc)) return body
  const kept = hc.entries.filter(([k, v]) => {
    const field = ENGINE_DEFAULT_FIELDS.find((f) => foldKey(f) === foldKey(k))
    return field === undefined || !isEngineDefault(field, v, facts)
  })
  return replaceAt(body, [key], new JsonObject(kept, hc.kind))
}

/** Deterministic JSON of a plain value (object keys sorted), for comparing inspect and body values. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

const plain = (v: JsonValue | undefined): unknown => (v === undefined ? undefined : JSON.parse(encodeBody(v)))
const unset = (v: unknown): boolean => v === undefined || v === null || v === ''

/**
 * Published ports: a re-created container that holds the docker socket (or any other privilege)
 * must not become reachable from the host's network where it was not (a socket proxy's port,
 * an admin UI). Each binding must be one the old container had.
 */
function checkPorts(findings: Findings, body: JsonObject, old: Readonly<Record<string, unknown>>): void {
  const hc = body.field('HostConfig')
  if (!isObject(hc)) return
  const oldPorts = (old['PortBindings'] ?? {}) as Record<string, unknown>
  const ports = plain(hc.field('PortBindings'))
  for (const [port, bindings] of Object.entries(ports !== null && typeof ports === 'object' ? ports : {})) {
    const had = Array.isArray(oldPorts[port]) ? (oldPorts[port] as unknown[]).map(stable) : []
    for (const [i, b] of (Array.isArray(bindings) ? bindings : [bindings]).entries()) {
      if (!had.includes(stable(b))) findings.add(RECREATE_GUARD, `HostConfig.PortBindings[${JSON.stringify(port)}][${i}]`, stable(b), 'publishes a port the removed container did not')
    }
  }
  if (hc.field('PublishAllPorts') === true && old['PublishAllPorts'] !== true) {
    findings.add(RECREATE_GUARD, 'HostConfig.PublishAllPorts', true, 'publishes ports the removed container did not')
  }
}

/** The command surface of a re-create: what it runs and as whom must be the removed container's. */
function checkPins(findings: Findings, body: JsonObject, old: Readonly<Record<string, unknown>>): void {
  const image = body.field('Image')
  const oldImage = typeof old['Image'] === 'string' ? old['Image'] : ''
  if (typeof image !== 'string' || (imageRepository(oldImage) ?? oldImage) !== (imageRepository(image) ?? image)) {
    findings.add(RECREATE_GUARD, 'Image', image, `is not of the removed container's image repository (${oldImage}); a re-create may change only the tag or digest`)
  }
  // Shell too: the engine runs a CMD-SHELL health check with it (moby daemon/health.go getShell).
  for (const field of ['Cmd', 'Entrypoint', 'User', 'WorkingDir', 'Healthcheck', 'Shell']) {
    const v = plain(body.field(field))
    if (!unset(v) && stable(v) !== stable(old[field] ?? null)) {
      findings.add(RECREATE_GUARD, field, body.field(field), `is not the removed container's; a re-create keeps ${field} as it was, or unset for the image's default`)
    }
  }
  const oldEnv = Array.isArray(old['Env']) ? (old['Env'] as unknown[]) : []
  const env = plain(body.field('Env'))
  for (const [i, e] of (Array.isArray(env) ? env : []).entries()) {
    if (!oldEnv.includes(e)) findings.add(RECREATE_GUARD, `Env[${i}]`, typeof e === 'string' ? e.split('=')[0] ?? '' : null, 'is not in the removed container\'s environment (values are not shown)')
  }
  const oldLabels = (old['Labels'] ?? {}) as Record<string, unknown>
  const labels = plain(body.field('Labels'))
  for (const [k, v] of Object.entries(labels !== null && typeof labels === 'object' ? labels : {})) {
    if (oldLabels[k] !== v) findings.add(RECREATE_GUARD, `Labels[${JSON.stringify(k)}]`, typeof v === 'string' ? v : null, 'is not a label of the removed container')
  }
}

export type CreateVerdict =
  | { readonly allowed: true; readonly rules: GuardRules; readonly note: string; readonly onEngineStatus: StatusHook }
  /** Refused: the violations to report (with a `container.recreate` one saying why no re-create applies). */
  | { readonly allowed: false; readonly violations: readonly Violation[]; readonly rules?: GuardRules }

/**
 * The guard step, for a ContainerCreate whose body the guard refused (`refused`): a re-create of a
 * container removed through this policy, or not. Undefined when the allowance is off or there is
 * no name to go by. Refused with a removal remembered, the violations are what the old container
 * did not have.
 */
export function recreateCreate(store: RecreateStore | undefined, scope: RecreateScope, self: SelfIdentity, query: URLSearchParams, body: JsonValue | undefined, refused: readonly Violation[]): CreateVerdict | undefined {
  const policy = scope.policy
  const names = query.getAll('name')
  if (store === undefined || policy.guards.container.recreate === null || names.length !== 1 || names[0] === '' || !isObject(body)) return undefined
  const name = names[0]!.replace(/^\//, '')
  const findings = new Findings()
  const removed = usable(store, scope, name)
  if (typeof removed === 'string') {
    findings.add(RECREATE_GUARD, 'query.name', name, `gets no re-create allowance: ${removed}`)
    return { allowed: false, violations: [...refused, ...findings.list] }
  }
  const rules = inheritedRules(policy.guards, removed.had)
  const additions = containerCreateGuard.check(withoutEngineDefaults(body, removed.facts), { operationId: 'ContainerCreate', query, params: {}, version: undefined, rules, self })
  checkPins(findings, body, removed.info.Config ?? {})
  checkPorts(findings, body, removed.info.HostConfig ?? {})
  if (additions.length > 0 || findings.list.length > 0) {
    findings.add(RECREATE_GUARD, 'query.name', name, `re-creates the container removed ${ago(store, removed.removedAt)}, which did not have the others listed`)
    // The additions were judged by the inherited rules: the refusal says what those allow.
    return { allowed: false, violations: [...additions, ...findings.list], rules }
  }
  removed.state = 'creating'
  return {
    allowed: true,
    rules,
    note: `re-creates container ${name}, removed ${ago(store, removed.removedAt)} through this policy, with what it had${removed.had.length > 0 ? `: ${[...new Set(removed.had.map((v) => v.guard))].join(', ')}` : ''}`,
    onEngineStatus: once((status) => {
      if (status >= 200 && status < 300) {
        removed.state = 'recreated'
        removed.recreatedAt = store.now()
        removed.until = store.now() + removed.withinMs
      } else {
        removed.state = 'removed'
      }
    }),
  }
}

/**
 * The target step, for ContainerStart/ContainerRestart of a container the policy could not
 * create: the re-created container may start with what it inherited. `recheck` runs the target
 * step's create check on the container under the given rules.
 */
export async function inheritedStart(store: RecreateStore | undefined, scope: RecreateScope, info: ContainerInfo, recheck: (rules: GuardRules) => Promise<Violation[]>): Promise<string | undefined> {
  const policy = scope.policy
  const name = (info.Name ?? '').replace(/^\//, '')
  if (store === undefined || policy.guards.container.recreate === null || name === '') return undefined
  const removed = store.find(scopeKey(scope), name)
  if (removed === undefined || removed.state !== 'recreated' || removed.oldId === info.Id || store.now() > removed.until) return undefined
  if ((await recheck(inheritedRules(policy.guards, removed.had))).length > 0) return undefined
  return `starts container ${name}, re-created ${ago(store, removed.recreatedAt ?? removed.removedAt)} through this policy, with what it inherited`
}
