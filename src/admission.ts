/**
 * The decision on one normalised request, free of sockets: policy, API version floor, form
 * bodies (admit), then the body guard on the Go-decoded body (inspect). The pipeline calls these
 * for live traffic; `dockgate check` calls them to answer "would this be allowed?".
 */
import type { Transform } from 'node:stream'
import type { CompiledPolicy } from './policy/compile.js'
import { decide } from './policy/decide.js'
import { guardFor } from './guards/index.js'
import { SELF_GUARD } from './guards/self.js'
import { versionBelow } from './guards/version.js'
import type { GuardContext, OperationGuard, SelfIdentity, Violation } from './guards/types.js'
import type { BodyLimits } from './body.js'
import { decodeBody, encodeBody, BodyError } from './body/gojson.js'
import { DockgateError } from './errors.js'
import type { ApiRequest } from './types.js'

/** Where a request stands after admission: allowed, with the body to forward if it was inspected. */
export interface Admitted {
  readonly api: ApiRequest
  readonly rule: string | undefined
  readonly guard: OperationGuard | undefined
}

/**
 * Steps 2–3 for a request normalised in step 1: policy decision, API version floor, form bodies.
 * (Step 1 is done by the handlers, so that a refusal here is recorded with its operation.)
 */
export function admit(policy: CompiledPolicy, api: ApiRequest, contentTypeHeader: string | undefined): Admitted {
  const decision = decide(policy, api)
  const what = `${api.operation.id} (${api.method} ${api.path})`
  if (!decision.allow) {
    throw new DockgateError('DG_DENY_OPERATION', `${what} denied by policy "${policy.name}": ${decision.reason}`, {
      policy: policy.name,
      ...(decision.rule === undefined ? {} : { rule: decision.rule }),
    })
  }
  if (!policy.unguarded && api.version !== undefined && versionBelow(api.version, policy.guards.apiVersionFloor)) {
    // Old API versions change semantics: below 1.24 the engine applies a HostConfig sent to
    // /containers/{id}/start (../shared/engine-notes.md, "Old API versions").
    throw new DockgateError(
      'DG_DENY_API_VERSION',
      `${what} denied by policy "${policy.name}": API version ${api.version} is below the floor ${policy.guards.apiVersionFloor} (guards.api_version_floor)`,
      { policy: policy.name, rule: 'guards.api_version_floor' },
    )
  }
  const contentType = (contentTypeHeader ?? '').split(';')[0]!.trim().toLowerCase()
  if (contentType === 'application/x-www-form-urlencoded') {
    // Go's Request.ParseForm merges such a body into the query values the engine reads
    // (e.g. `fromSrc`, `networkmode`), ahead of the query string dockgate checked.
    throw new DockgateError('DG_REQ_FORM_BODY', `${what}: form-encoded request bodies are refused (the engine would read parameters from them)`)
  }
  const guard = policy.unguarded ? undefined : guardFor(api.operation.id)
  return { api, rule: decision.rule, guard }
}

/** Step 4: run the guard on the (decoded) body; returns the canonical body to forward, if read. */
export function inspect(policy: CompiledPolicy, self: SelfIdentity, admitted: Admitted, raw: Buffer | undefined): Buffer | undefined {
  const { api, guard } = admitted
  if (!guard) return undefined
  let value
  let canonical: Buffer | undefined
  if (guard.body === 'json' && raw !== undefined) {
    if (raw.length > 0) {
      try {
        value = decodeBody(raw, guard.shape)
      } catch (err) {
        if (err instanceof BodyError) {
          throw new DockgateError('DG_REQ_BAD_BODY', `${api.operation.id} refused: the JSON body is ambiguous or malformed: ${err.reason}`, { policy: policy.name })
        }
        throw err
      }
      canonical = Buffer.from(encodeBody(value), 'utf8')
    } else {
      canonical = raw
    }
  }
  const violations = guard.check(value, guardContext(policy, self, api))
  if (violations.length > 0) throw denied(policy, api, violations)
  return canonical
}

/**
 * Step 4, for a body that streams through its guard (ImageBuild's build context): the filter it is
 * forwarded through, or undefined. The filter reads the body as it passes and errors with a
 * DockgateError to refuse (the forwarder then aborts the upstream request).
 */
export function inspectStream(policy: CompiledPolicy, self: SelfIdentity, admitted: Admitted, limits: BodyLimits): Transform | undefined {
  const { api, guard } = admitted
  if (guard?.stream === undefined) return undefined
  return guard.stream(guardContext(policy, self, api), {
    maxBytes: limits.bytes,
    deny: (violations) => denied(policy, api, violations),
    unreadable: (message, tooLarge) =>
      new DockgateError(tooLarge ? 'DG_REQ_BODY_TOO_LARGE' : 'DG_REQ_BUILD_CONTEXT', `${api.operation.id} refused: ${message}${tooLarge ? ' (limits.body_bytes)' : ''}`, { policy: policy.name }),
  })
}

function guardContext(policy: CompiledPolicy, self: SelfIdentity, api: ApiRequest): GuardContext {
  return { operationId: api.operation.id, query: api.query, params: api.params, version: api.version, rules: policy.guards, self }
}

/** The refusal for a guard's violations: DG_DENY_SELF when all are about dockgate's own container, else DG_DENY_BODY. */
function denied(policy: CompiledPolicy, api: ApiRequest, violations: readonly Violation[]): DockgateError {
  // Reaching into dockgate's own container (exec, attach, archive…) has its own code: no
  // policy can loosen it.
  const code = violations.every((v) => v.guard === SELF_GUARD || v.guard.startsWith(`${SELF_GUARD}.`)) ? 'DG_DENY_SELF' : 'DG_DENY_BODY'
  return new DockgateError(code, `${api.operation.id} denied by policy "${policy.name}": ${violations.map(describe).join('; ')}`, {
    policy: policy.name,
    rule: violations.map((v) => v.guard).join(','),
    field: violations.map((v) => v.field).join(','),
    violations,
  })
}

function describe(v: Violation): string {
  return `${v.field}=${v.value} is not allowed (guard ${v.guard}${v.detail ? `: ${v.detail}` : ''})`
}
