/**
 * (CompiledPolicy, request) → Decision. Runs on every request, so the work is done once per
 * policy: operationId rules become two maps of ready-made, frozen Decisions, and only glob rules
 * run per request.
 *
 * Semantics (README "Policies"): `GET|HEAD /_ping` is always allowed; any matching deny refuses,
 * whatever its position; otherwise the first matching allow admits; nothing matched → denied.
 */
import type { ApiRequest } from '../types.js'
import type { CompiledPolicy } from './compile.js'

/** What the policy said about one request. */
export interface Decision {
  readonly allow: boolean
  /** The policy's name. */
  readonly policy: string
  /** Display name of the rule that decided; absent when no rule matched or for /_ping. */
  readonly rule?: string
  /** Words for messages: `no rule allows it`, `denied by rule no-export (deny ContainerExport)`. */
  readonly reason: string
}

/** The part of a request a decision depends on. */
export type DecisionRequest = Pick<ApiRequest, 'method' | 'path' | 'operation'>

/**
 * Operations no policy can refuse: every client negotiates the API version with `/_ping`
 * (HEAD first, then GET: moby client/ping.go) and breaks in confusing ways without it.
 */
export const ALWAYS_ALLOWED: ReadonlySet<string> = new Set(['SystemPing', 'SystemPingHead'])

interface GlobEntry {
  readonly methods: ReadonlySet<string> | undefined
  readonly test: (path: string) => boolean
  readonly decision: Decision
}

interface PolicyIndex {
  readonly denyOps: ReadonlyMap<string, Decision>
  readonly allowOps: ReadonlyMap<string, Decision>
  readonly denyGlobs: readonly GlobEntry[]
  readonly allowGlobs: readonly GlobEntry[]
  readonly none: Decision
  readonly ping: Decision
}

// Kept beside the policy rather than in it, so the CompiledPolicy stays plain frozen data.
const indexes = new WeakMap<CompiledPolicy, PolicyIndex>()

/** Builds the decision index now rather than on the first request (compile.ts calls it). */
export function prepareDecisions(policy: CompiledPolicy): void {
  indexFor(policy)
}

export function decide(policy: CompiledPolicy, req: DecisionRequest): Decision {
  const ix = indexFor(policy)
  const id = req.operation.id
  if (ALWAYS_ALLOWED.has(id)) return ix.ping
  const denied = ix.denyOps.get(id) ?? firstMatch(ix.denyGlobs, req)
  if (denied !== undefined) return denied
  return ix.allowOps.get(id) ?? firstMatch(ix.allowGlobs, req) ?? ix.none
}

function firstMatch(globs: readonly GlobEntry[], req: DecisionRequest): Decision | undefined {
  for (const g of globs) {
    if ((g.methods === undefined || g.methods.has(req.method)) && g.test(req.path)) return g.decision
  }
  return undefined
}

function indexFor(policy: CompiledPolicy): PolicyIndex {
  let ix = indexes.get(policy)
  if (ix === undefined) {
    ix = buildIndex(policy)
    indexes.set(policy, ix)
  }
  return ix
}

function buildIndex(policy: CompiledPolicy): PolicyIndex {
  const decision = (allow: boolean, rule: string, target: string): Decision => Object.freeze({
    allow,
    policy: policy.name,
    rule,
    reason: `${allow ? 'allowed' : 'denied'} by rule ${rule} (${allow ? 'allow' : 'deny'} ${target})`,
  })
  const denyOps = new Map<string, Decision>()
  const allowOps = new Map<string, Decision>()
  const denyGlobs: GlobEntry[] = []
  const allowGlobs: GlobEntry[] = []
  for (const rule of policy.rules) {
    const allow = rule.effect === 'allow'
    const ops = allow ? allowOps : denyOps
    for (const id of rule.operations) {
      if (!ops.has(id)) ops.set(id, decision(allow, rule.name, id))
    }
    for (const g of rule.globs) {
      ;(allow ? allowGlobs : denyGlobs).push({
        methods: g.methods === '*' ? undefined : new Set(g.methods),
        test: g.test,
        decision: decision(allow, rule.name, g.text),
      })
    }
  }
  return {
    denyOps,
    allowOps,
    denyGlobs,
    allowGlobs,
    none: Object.freeze({ allow: false, policy: policy.name, reason: 'no rule allows it' }),
    ping: Object.freeze({ allow: true, policy: policy.name, reason: '/_ping is always allowed (clients negotiate the API version with it)' }),
  }
}
