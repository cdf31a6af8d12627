/**
 * Replaces the values a policy redacts in a parsed answer of the engine. Pure: no sockets, so
 * each site can be tested in a table.
 *
 * Fail closed: a site whose value is absent or null has nothing to hide; one that has an
 * unexpected type (a string where the engine writes a list) is not guessed at — RedactShapeError,
 * and the answer is refused rather than forwarded (redact/response.ts).
 */
import type { Operation } from '../types.js'
import type { RedactKind, RedactRules } from '../policy/redact.js'
import { REDACTED, type RedactSite } from './sites.js'

/** What to do to one operation's answers under one policy. */
export interface RedactPlan {
  /** The operation's sites whose kind the policy redacts. */
  readonly sites: readonly RedactSite[]
  /** container_env names whose values stay visible. */
  readonly keepEnv: (name: string) => boolean
}

export class RedactShapeError extends Error {}

/** The base64 of the marker, for []byte fields (`docker config inspect` decodes them). */
const REDACTED_BASE64 = Buffer.from(REDACTED).toString('base64')

const plans = new WeakMap<RedactRules, Map<string, RedactPlan | null>>()

/** The plan for `op` under `rules`, or undefined when its answers are forwarded untouched. */
export function redactPlan(rules: RedactRules, op: Operation): RedactPlan | undefined {
  if (op.response === undefined || rules.kinds.length === 0) return undefined
  let byOp = plans.get(rules)
  if (byOp === undefined) plans.set(rules, (byOp = new Map()))
  let plan = byOp.get(op.id)
  if (plan === undefined) {
    const sites = op.response.filter((s) => rules.kinds.includes(s.kind))
    plan = sites.length === 0 ? null : Object.freeze({ sites, keepEnv: keepMatcher(rules.keepEnv) })
    byOp.set(op.id, plan)
  }
  return plan ?? undefined
}

/** `VIRTUAL_*` → matches VIRTUAL_HOST; names are compared as written (environment names are case-sensitive). */
function keepMatcher(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false
  const re = new RegExp(`^(?:${globs.map((g) => g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')).join('|')})$`)
  return (name) => re.test(name)
}

/**
 * Redacts `doc` in place. Returns the kinds that replaced at least one value (empty: nothing was
 * there to hide, and the engine's bytes can be forwarded as they were).
 */
export function applyRedaction(doc: unknown, plan: RedactPlan): Set<RedactKind> {
  const hit = new Set<RedactKind>()
  for (const s of plan.sites) {
    const keep = s.kind === 'container_env' ? plan.keepEnv : undefined
    walk(doc, s, 0, (holder, key) => {
      if (replace(holder, key, s, keep)) hit.add(s.kind)
    })
  }
  return hit
}

type Holder = Record<string, unknown> | unknown[]

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Calls `leaf(holder, key)` for every place the site's path reaches. */
function walk(node: unknown, s: RedactSite, i: number, leaf: (holder: Holder, key: string | number) => void): void {
  const step = s.steps[i]!
  const last = i === s.steps.length - 1
  if (step === '[]') {
    if (node === null || node === undefined) return
    if (!Array.isArray(node)) throw new RedactShapeError(`${s.path}: expected a list at step ${i + 1}`)
    for (let j = 0; j < node.length; j++) {
      if (last) leaf(node, j)
      else walk(node[j], s, i + 1, leaf)
    }
    return
  }
  if (node === null || node === undefined) return
  if (!isObject(node)) throw new RedactShapeError(`${s.path}: expected an object before ${step}`)
  if (!Object.hasOwn(node, step)) return
  if (last) leaf(node, step)
  else walk(node[step], s, i + 1, leaf)
}

function get(holder: Holder, key: string | number): unknown {
  return Array.isArray(holder) ? holder[key as number] : holder[key as string]
}

function set(holder: Holder, key: string | number, value: unknown): void {
  if (Array.isArray(holder)) holder[key as number] = value
  else holder[key as string] = value
}

/** Replaces the values at one place; true when something was replaced. */
function replace(holder: Holder, key: string | number, s: RedactSite, keep: ((name: string) => boolean) | undefined): boolean {
  const value = get(holder, key)
  if (value === null || value === undefined) return false
  switch (s.form) {
    case 'env': {
      if (!Array.isArray(value)) throw new RedactShapeError(`${s.path}: expected a list of NAME=value`)
      let any = false
      for (let j = 0; j < value.length; j++) {
        const entry: unknown = value[j]
        if (typeof entry !== 'string') throw new RedactShapeError(`${s.path}: expected a list of NAME=value`)
        const eq = entry.indexOf('=')
        // `NAME` alone carries no value (the engine's way to unset a variable).
        if (eq < 0 || keep?.(entry.slice(0, eq)) === true) continue
        value[j] = `${entry.slice(0, eq)}=${REDACTED}`
        any = true
      }
      return any
    }
    case 'map': {
      if (!isObject(value)) throw new RedactShapeError(`${s.path}: expected a mapping of options`)
      let any = false
      for (const k of Object.keys(value)) {
        if (value[k] === null) continue
        value[k] = REDACTED
        any = true
      }
      return any
    }
    case 'string':
    case 'base64': {
      if (typeof value !== 'string') throw new RedactShapeError(`${s.path}: expected a string`)
      // Empty: nothing to hide (JoinTokens of a node that is not a manager).
      if (value === '') return false
      set(holder, key, s.form === 'string' ? REDACTED : REDACTED_BASE64)
      return true
    }
  }
}
