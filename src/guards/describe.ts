/**
 * One guard violation as a sentence for a refusal: the field and the value refused, what is wrong
 * with it (the guard's detail, a predicate: `is not in guards.container.binds`), which guard
 * decided, and what the policy allows there today, read from the compiled rules — so that a user
 * sees the key to loosen and what it holds now without opening the policy:
 *
 *   HostConfig.NetworkMode="host" is not in guards.container.namespaces.network
 *     (guard container.namespaces; allowed now: none)
 *   HostConfig.Binds[0]="/etc:/x" mounts host path /etc, which is not in guards.container.binds
 *     (guard container.binds; allowed now: /srv/data/** read-only)
 *   HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)
 */
import type { GlobList } from './glob.js'
import type { BindRule, GuardRules } from './rules.js'
import type { Violation } from './types.js'

/** `guards.container.namespaces.network` → `['container', 'namespaces', 'network']`, the first key a detail names. */
const KEY = /\bguards\.([a-z_]+(?:\.[a-z_]+)*)/

/** The sentence for one violation; `rules` are the ones the request was judged by. */
export function describeViolation(v: Violation, rules: GuardRules): string {
  const now = v.detail === undefined ? undefined : allowedNow(v.detail, rules)
  return `${v.field}=${v.value} ${v.detail ?? 'is not allowed'} (guard ${v.guard}${now === undefined ? '' : `; ${now}`})`
}

/** What the key named in `detail` allows in these rules, in words; undefined when it names none. */
export function allowedNow(detail: string, rules: GuardRules): string | undefined {
  const m = KEY.exec(detail)
  if (m === null) return undefined
  let node: unknown = rules
  for (const seg of m[1]!.split('.')) {
    const camel = seg.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
    if (node === null || typeof node !== 'object' || !(camel in node)) return undefined
    node = (node as Record<string, unknown>)[camel]
  }
  return m[1] === 'container.binds' ? binds(node as readonly BindRule[]) : render(node)
}

function render(value: unknown): string | undefined {
  if (typeof value === 'boolean') return value ? 'it is true in this policy' : 'it is false in this policy'
  if (typeof value === 'number') return `it is ${value} in this policy`
  if (value === null) return 'allowed now: any'
  if (Array.isArray(value)) {
    return value.every((x) => typeof x === 'string') ? list(value as string[]) : undefined
  }
  if (isGlobList(value)) return list(value.patterns)
  return undefined
}

function list(items: readonly string[]): string {
  return `allowed now: ${items.length === 0 ? 'none' : items.join(', ')}`
}

function binds(rules: readonly BindRule[]): string {
  if (rules.length === 0) return 'allowed now: no host paths'
  return `allowed now: ${rules.map((b) => (b.readOnly ? `${b.path} read-only` : b.path)).join(', ')}`
}

function isGlobList(v: unknown): v is GlobList {
  return v !== null && typeof v === 'object' && Array.isArray((v as GlobList).patterns) && typeof (v as GlobList).matches === 'function'
}
