/**
 * Admission: the ordered steps every request passes before anything of it reaches the engine —
 * plain, streamed or hijacked alike, and `dockgate check` too. Each step can stop the request
 * with a DockgateError; any other exception is a bug (the caller answers 500, never forwards).
 *
 *   head         HTTP/1.1 needs a Host; Transfer-Encoding is exactly chunked
 *   normalize    method + target → canonical ApiRequest (normalize.ts)
 *   policy       the policy's rules (policy/decide.ts)                          refusal: DG_DENY_OPERATION
 *   tenant-bounds a client with a tenant: engine-wide operations (tenant/request.ts)  DG_DENY_TENANT
 *   api-version  the API version floor                                          refusal: DG_DENY_API_VERSION
 *   upgrade      an upgrade request must be for an operation that hijacks, framed by Content-Length
 *   content-type a body comes with a type the operation accepts (content-type.ts)
 *   body         a JSON body a guard reads is read, bounded (body.ts)
 *   guard        the body guard on the Go-decoded body (guards/)                 refusal: DG_DENY_BODY
 *                (a create an updater re-creates: recreate/allow.ts)
 *   tenant       a client with a tenant: its label on lists and on what it creates
 *                (tenant/request.ts)                                             refusal: DG_DENY_TENANT
 *   target       what the path, query and body name, resolved in the engine (target.ts), among
 *                the tenant's objects for a client with one      refusal: DG_DENY_SELF/TARGET/BODY
 *   stream       a body a guard reads as it streams (ImageBuild's build context) gets the filter it
 *                is forwarded through; the filter refuses later, mid-stream      refusal: DG_DENY_BODY
 *
 * Policy refusals (the ones marked) are the policy's choice; in audit-only mode they are kept as
 * "would deny" and the request goes on. Refusals of what dockgate cannot read exactly,
 * DG_DENY_SELF (no policy can allow it) and a tenant's bounds stop the request in every mode.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Transform } from 'node:stream'
import type { CompiledPolicy } from './policy/compile.js'
import { decide } from './policy/decide.js'
import { operationAdvice } from './policy/advice.js'
import { versionBelow } from './guards/version.js'
import { SELF_GUARD } from './guards/self.js'
import type { GuardRules } from './guards/rules.js'
import { describeViolation } from './guards/describe.js'
import type { GuardContext, OperationGuard, SelfIdentity, Violation } from './guards/types.js'
import { recreateCreate, type StatusHook } from './recreate/allow.js'
import type { RecreateStore } from './recreate/store.js'
import { decodeBody, encodeBody, BodyError } from './body/gojson.js'
import type { JsonValue } from './body/json-value.js'
import { checkContentType, contentTypeValues } from './content-type.js'
import type { EngineClient } from './engine-client.js'
import { DockgateError, type ErrorCode } from './errors.js'
import { normalize } from './normalize.js'
import { checkTargets, checkTargetsStatic, encodeRewritten } from './target.js'
import { checkTenantBounds, scopeRequest } from './tenant/request.js'
import { TenantView } from './tenant/view.js'
import type { ApiRequest } from './types.js'

/** The parts of an HTTP request admission looks at. */
export interface RequestHead {
  readonly method: string
  readonly url: string
  readonly httpVersion: string
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  /** True for a request node:http handed over as an upgrade (`Connection: Upgrade`). */
  readonly upgrade: boolean
}

export interface AdmissionContext {
  readonly policy: CompiledPolicy
  readonly self: SelfIdentity
  /** The engine, for the target step; absent for `dockgate check` (static checks only). */
  readonly engine: EngineClient | undefined
  /** `audit`: policy refusals are recorded as would-deny and the request goes on. */
  readonly mode: 'enforce' | 'audit'
  /** Largest body a guard reads (bytes): an upgrade request's body may not be larger. */
  readonly bodyLimit: number
  /** Containers removed through policies with guards.container.recreate; absent for `dockgate check`. */
  readonly recreate?: RecreateStore
  /** The connection's tenant (connection.ts), when it has one. */
  readonly tenant?: string | undefined
}

/** Reads the request body (how differs for plain and upgraded requests); its bytes, or a promise of them. */
export type BodyReader = () => Buffer | Promise<Buffer>

/** A request that passed admission. */
export interface Admitted {
  /** What to forward: canonical, naming its targets by full id. */
  readonly api: ApiRequest
  /** The rule that allowed it (undefined for the always-allowed /_ping). */
  readonly rule: string | undefined
  /** The canonical body to forward in place of the client's, when a guard read it. */
  readonly body: Buffer | undefined
  /** In audit-only mode: what enforcement would have refused (a body filter may add to it while forwarding). */
  readonly wouldDeny: readonly DockgateError[]
  /** For a body a guard reads as it streams: forward it through this filter (forward.ts). */
  readonly filter: Transform | undefined
  /** To call with the engine's status as soon as it answers, before the client sees it (re-creates). */
  readonly onEngineStatus?: StatusHook
  /** Why a request the guards alone would refuse goes through (a re-create), for the audit record. */
  readonly note?: string
}

/** The request as the steps build it up. */
interface State {
  readonly ctx: AdmissionContext
  readonly head: RequestHead
  readonly readBody: BodyReader
  api: ApiRequest | undefined
  rule: string | undefined
  guard: OperationGuard | undefined
  raw: Buffer | undefined
  value: JsonValue | undefined
  body: Buffer | undefined
  filter: Transform | undefined
  readonly wouldDeny: DockgateError[]
  /** The rules the guard and target steps judge by: the policy's, or a re-create's (recreate/allow.ts). */
  rules: GuardRules
  onEngineStatus: StatusHook | undefined
  note: string | undefined
}

/** Codes a policy decides, which audit-only mode records instead of enforcing. */
const POLICY_REFUSALS: ReadonlySet<ErrorCode> = new Set(['DG_DENY_OPERATION', 'DG_DENY_API_VERSION', 'DG_DENY_BODY', 'DG_DENY_TARGET'])

function refuse(s: State, err: DockgateError): void {
  if (s.ctx.mode === 'audit' && POLICY_REFUSALS.has(err.code)) s.wouldDeny.push(err)
  else throw err
}

function apiOf(s: State): ApiRequest {
  if (s.api === undefined) throw new Error('admission step ran before normalize')
  return s.api
}

function what(api: ApiRequest): string {
  return `${api.operation.id} (${api.method} ${api.path})`
}

/** True when the request carries a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * An HTTP/1.1 request must name a Host (RFC 9112 §3.2); the engine's Go server refuses one that
 * does not. node:http would too, but with an empty 400 (server.ts turns that check off), and not
 * at all for upgrade requests; here both get the same JSON refusal.
 */
function head(s: State): void {
  if (s.head.httpVersion === '1.1' && s.head.headers.host === undefined) {
    throw new DockgateError('DG_REQ_MALFORMED_HTTP', 'HTTP/1.1 request without a Host header')
  }
  // Go's server knows only `chunked` and answers 501 to any other coding, or to several
  // (net/http transfer.go); node:http accepts a list that ends in chunked and re-frames it.
  const te = s.head.headers['transfer-encoding']
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
    throw new DockgateError('DG_REQ_MALFORMED_HTTP', `Transfer-Encoding ${JSON.stringify(te.slice(0, 60))} is refused: the engine accepts exactly "chunked"`)
  }
}

function normalizeStep(s: State): void {
  s.api = normalize(s.head.method, s.head.url)
}

/** Upgrade requests: only for operations the engine hijacks, and with a body framed by Content-Length. */
function upgrade(s: State): void {
  if (!s.head.upgrade) return
  const api = apiOf(s)
  if (api.operation.stream !== 'hijack') {
    throw new DockgateError('DG_REQ_BAD_UPGRADE', `${what(api)} does not take over the connection; Upgrade headers are refused there`)
  }
  if (s.head.headers['transfer-encoding'] !== undefined) {
    throw new DockgateError('DG_REQ_BAD_UPGRADE', `${api.operation.id}: a chunked body on an upgrade request is refused`)
  }
  const length = Number(s.head.headers['content-length'] ?? '0')
  if (!Number.isSafeInteger(length) || length < 0) throw new DockgateError('DG_REQ_BAD_UPGRADE', 'invalid Content-Length')
  if (length > s.ctx.bodyLimit) throw new DockgateError('DG_REQ_BODY_TOO_LARGE', `request body is larger than the ${s.ctx.bodyLimit}-byte limit`)
}

function policyStep(s: State): void {
  const api = apiOf(s)
  const decision = decide(s.ctx.policy, api)
  s.rule = decision.rule
  if (!decision.allow) {
    const advice = operationAdvice(s.ctx.policy, api.operation, decision)
    refuse(s, new DockgateError('DG_DENY_OPERATION', advice.message, {
      policy: s.ctx.policy.name,
      ...(decision.rule === undefined ? {} : { rule: decision.rule }),
    }, advice.hint))
  }
}

function apiVersion(s: State): void {
  const api = apiOf(s)
  const floor = s.ctx.policy.guards.apiVersionFloor
  if (s.ctx.policy.unguarded || api.version === undefined || !versionBelow(api.version, floor)) return
  // Old API versions change semantics: below 1.24 the engine applies a HostConfig sent to
  // /containers/{id}/start (docs/engine-notes.md, "Old API versions").
  refuse(s, new DockgateError('DG_DENY_API_VERSION', `${what(api)} denied by policy "${s.ctx.policy.name}": API version ${api.version} is below the floor ${floor} (guards.api_version_floor)`, {
    policy: s.ctx.policy.name,
    rule: 'guards.api_version_floor',
  }))
}

function contentType(s: State): void {
  if (hasBody(s.head.headers)) checkContentType(apiOf(s), contentTypeValues(s.head.rawHeaders))
}

function body(s: State): Promise<void> | void {
  s.guard = s.ctx.policy.unguarded ? undefined : apiOf(s).operation.guard
  if (s.guard?.body !== 'json') return
  const raw = s.readBody()
  if (Buffer.isBuffer(raw)) {
    s.raw = raw
    return
  }
  return raw.then((bytes) => {
    s.raw = bytes
  })
}

function guardStep(s: State): void {
  const api = apiOf(s)
  const guard = s.guard
  if (guard === undefined) return
  if (s.raw !== undefined) {
    if (s.raw.length > 0) {
      try {
        s.value = decodeBody(s.raw, guard.shape)
      } catch (err) {
        if (err instanceof BodyError) throw new DockgateError('DG_REQ_BAD_BODY', `${api.operation.id} refused: the JSON body is ambiguous or malformed: ${err.reason}`, { policy: s.ctx.policy.name })
        throw err
      }
      s.body = Buffer.from(encodeBody(s.value), 'utf8')
    } else {
      s.body = s.raw
    }
  }
  let violations = guard.check(s.value, guardContext(s, api))
  if (violations.length === 0) return
  if (api.operation.id === 'ContainerCreate') {
    const re = recreateCreate(s.ctx.recreate, { policy: s.ctx.policy, tenant: s.ctx.tenant }, s.ctx.self, api.query, s.value, violations)
    if (re?.allowed === true) {
      s.rules = re.rules
      s.note = re.note
      s.onEngineStatus = re.onEngineStatus
      return
    }
    if (re !== undefined) {
      violations = [...re.violations]
      if (re.rules !== undefined) s.rules = re.rules
    }
  }
  refuse(s, denied(s, api, violations))
}

function guardContext(s: State, api: ApiRequest): GuardContext {
  return { operationId: api.operation.id, query: api.query, params: api.params, version: api.version, rules: s.rules, self: s.ctx.self }
}

/** The refusal for a guard's violations. */
function denied(s: State, api: ApiRequest, violations: readonly Violation[]): DockgateError {
  // Reaching into dockgate's own container (a namespace, VolumesFrom, a link) has its own code: no policy can loosen it.
  const self = violations.every((v) => v.guard === SELF_GUARD)
  return new DockgateError(self ? 'DG_DENY_SELF' : 'DG_DENY_BODY', `${api.operation.id} denied by policy "${s.ctx.policy.name}": ${violations.map((v) => describeViolation(v, s.rules)).join('; ')}`, {
    policy: s.ctx.policy.name,
    rule: [...new Set(violations.map((v) => v.guard))].join(','),
    field: violations.map((v) => v.field).join(','),
    violations,
  })
}

/**
 * A body the guard reads as it streams (ImageBuild's build context): the filter it goes through.
 * Its refusals come while the body is forwarded; in audit-only mode a policy refusal is added to
 * wouldDeny and the body goes on, as for the other steps.
 */
function streamStep(s: State): void {
  if (s.guard?.stream === undefined) return
  const api = apiOf(s)
  s.filter = s.guard.stream(guardContext(s, api), {
    maxBytes: s.ctx.bodyLimit,
    deny: (violations) => {
      const err = denied(s, api, violations)
      if (s.ctx.mode === 'audit' && POLICY_REFUSALS.has(err.code)) {
        s.wouldDeny.push(err)
        return undefined
      }
      return err
    },
    unreadable: (message, tooLarge) =>
      new DockgateError(tooLarge ? 'DG_REQ_BODY_TOO_LARGE' : 'DG_REQ_BUILD_CONTEXT', `${api.operation.id} refused: ${message}${tooLarge ? ' (limits.body_bytes)' : ''}`, { policy: s.ctx.policy.name }),
  })
}


/** A client with a tenant: what it may not do at all, refused before its body is read. */
function tenantBounds(s: State): void {
  if (s.ctx.tenant !== undefined) checkTenantBounds(apiOf(s).operation, s.ctx.policy.unguarded)
}

/** A client with a tenant: its label on list filters and on what is created. */
function tenant(s: State): void {
  const name = s.ctx.tenant
  if (name === undefined) return
  const scoped = scopeRequest(name, apiOf(s), s.value, s.ctx.policy.unguarded)
  s.api = scoped.api
  if (scoped.relabelled && scoped.body !== undefined) {
    s.value = scoped.body
    s.body = Buffer.from(encodeBody(scoped.body), 'utf8')
  }
}

function target(s: State): Promise<void> | void {
  const api = apiOf(s)
  const refs = s.guard?.references !== undefined && s.value !== undefined
  const name = s.ctx.tenant
  if (s.ctx.policy.unguarded || (api.operation.target === undefined && !refs && name === undefined)) return
  const view = name === undefined || s.ctx.engine === undefined ? undefined : new TenantView(name, s.ctx.engine)
  const t = {
    policy: s.ctx.policy, self: s.ctx.self, engine: s.ctx.engine, refuse: (err: DockgateError) => refuse(s, err), view,
    rules: s.rules, ...(s.ctx.recreate === undefined ? {} : { recreate: s.ctx.recreate }),
  }
  // Without an engine (`dockgate check`) only the static checks can run, and they need no wait.
  if (t.engine === undefined) return checkTargetsStatic(t, api, s.guard, s.value)
  return checkTargets(t, api, s.guard, s.value).then((out) => {
    s.api = out.api
    if (out.body !== undefined) s.body = encodeRewritten(out.body)
    if (out.onEngineStatus !== undefined) s.onEngineStatus = out.onEngineStatus
    if (out.note !== undefined) s.note = out.note
  })
}

type Step = (s: State) => Promise<void> | void

/** The steps, in order. */
const STEPS: readonly Step[] = [head, normalizeStep, policyStep, tenantBounds, apiVersion, upgrade, contentType, body, guardStep, tenant, target, streamStep]

/**
 * Runs every step on one request. Returns what to forward, or throws the DockgateError that
 * stopped it (or a bug). Steps run synchronously until one has to wait (for the body or the
 * engine); only then is the result a promise. That matters: a request refused before its body is
 * read is answered while node:http is still inside the packet that carried it, before anything
 * after it on the connection is parsed. `onNormalized` sees the canonical request as soon as there
 * is one, so that a later refusal can be recorded with its operation.
 */
export function admit(ctx: AdmissionContext, head: RequestHead, readBody: BodyReader, onNormalized?: (api: ApiRequest) => void): Admitted | Promise<Admitted> {
  const s: State = {
    ctx, head, readBody, api: undefined, rule: undefined, guard: undefined, raw: undefined, value: undefined, body: undefined, filter: undefined, wouldDeny: [],
    rules: ctx.policy.guards, onEngineStatus: undefined, note: undefined,
  }
  // A request refused after a step registered an engine-status hook never reaches the engine: the
  // hook hears so (status 0), and a re-create it held is released.
  const released = (err: unknown): never => {
    s.onEngineStatus?.(0)
    throw err
  }
  try {
    const out = runFrom(s, 0, onNormalized)
    return out instanceof Promise ? out.catch(released) : out
  } catch (err) {
    return released(err)
  }
}

function runFrom(s: State, first: number, onNormalized: ((api: ApiRequest) => void) | undefined): Admitted | Promise<Admitted> {
  for (let i = first; i < STEPS.length; i++) {
    const step = STEPS[i]!
    const pending = step(s)
    if (step === normalizeStep && onNormalized !== undefined) onNormalized(apiOf(s))
    if (pending !== undefined) return pending.then(() => runFrom(s, i + 1, onNormalized))
  }
  return {
    api: apiOf(s), rule: s.rule, body: s.body, wouldDeny: s.wouldDeny, filter: s.filter,
    ...(s.onEngineStatus === undefined ? {} : { onEngineStatus: s.onEngineStatus }),
    ...(s.note === undefined ? {} : { note: s.note }),
  }
}
