/**
 * A listener's `clients:` — who gets which policy on a shared listener — and its `tenant:`.
 *
 *   clients:
 *     - match: { uid: 1000 }          # or { gid: docker } or { subject: "CN=ci-runner" }
 *       policy: container-operator
 *       tenant: alice                 # optional; carried per connection
 *       name: alice                   # optional; audit records name the entry by it
 *
 * The first entry that matches a connection decides its policy and tenant; the listener's own
 * `policy` and `tenant` serve connections that match none. uid and gid need a unix socket (peer
 * credentials, peercred.ts), subject a TLS listener with a client CA (subject.ts).
 */
import type { CompiledPolicy, RefOrigin } from './policy/compile.js'
import type { JsonPath, Problem, YamlFile } from './problems.js'
import { parseSubject, type Subject } from './subject.js'
import { formatAddress, type Address } from './upstream.js'

/** What a clients entry matches on: exactly one of these. */
export type ClientMatch =
  | { readonly kind: 'uid'; readonly uid: number }
  /** The peer's primary gid or one of its supplementary groups (SO_PEERGROUPS). */
  | { readonly kind: 'gid'; readonly gid: number }
  /** The client certificate's whole subject (subject.ts); `text` as written in the config. */
  | { readonly kind: 'subject'; readonly subject: Subject; readonly text: string }

export interface ClientEntry {
  /** Position in the listener's `clients:` list. */
  readonly index: number
  /** The entry's `name`, else `clients[<index>]`: how audit records name it. */
  readonly label: string
  readonly match: ClientMatch
  readonly policy: CompiledPolicy
  readonly tenant?: string
}

/**
 * A tenant name: usable as a label value, in a filter and a metric label without quoting —
 * lower-case letters, digits, `.`, `_`, `-`, starting with a letter or digit, at most 63 long.
 */
export const TENANT_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/
/** A clients entry's `name`: like a tenant name, so it cannot be mistaken for `clients[0]`. */
const ENTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

const idSchema = { type: ['string', 'integer'], minLength: 1, minimum: 0, maximum: 4294967294 }

/** Schema of a listener's `tls`, `tenant` and `clients` (config.ts adds them to the listener's). */
export const listenerIdentitySchema: Readonly<Record<string, unknown>> = {
  tls: {
    type: 'object',
    additionalProperties: false,
    required: ['cert', 'key'],
    properties: { cert: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 }, ca: { type: 'string', minLength: 1 } },
  },
  tenant: { type: 'string', minLength: 1 },
  clients: {
    type: 'array',
    minItems: 1,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['match', 'policy'],
      properties: {
        match: { type: 'object', additionalProperties: false, properties: { uid: idSchema, gid: idSchema, subject: { type: 'string', minLength: 1 } } },
        policy: { type: 'string', minLength: 1 },
        tenant: { type: 'string', minLength: 1 },
        name: { type: 'string', minLength: 1 },
      },
    },
  },
}

/** What checkClients needs from config.ts. */
export interface ClientCheck {
  readonly yaml: YamlFile
  /** The listener's path in the file, e.g. `['listeners', 1]`. */
  readonly at: JsonPath
  readonly address: Address | undefined
  /** The listener serves TLS, and asks clients for a certificate (has a client CA). */
  readonly tls: boolean
  readonly clientCa: boolean
  /** Loads a policy the way the listener's own is loaded (same loader, same name checks). */
  loadPolicy(ref: string, origin: RefOrigin): CompiledPolicy | undefined
  /** Resolves a user or group name (or number) through NSS (getent: nss.ts). */
  lookup(kind: 'user' | 'group', value: string | number): { id: number } | { error: string }
  readonly problems: Problem[]
  readonly warnings: Problem[]
}

/** A tenant under a policy with body guards off: nothing of its requests would be read, so nothing kept to its tenant. */
export function unguardedTenant(policy: string): string {
  return `a tenant needs a policy with body guards on: policy "${policy}" has them off, so dockgate would read nothing it could label or keep to the tenant`
}

/** Checks a tenant name; the error is a phrase. */
export function tenantProblem(name: string): string | undefined {
  return TENANT_NAME.test(name) ? undefined : `${JSON.stringify(name)} is not a tenant name: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters`
}

/** The listener's `clients:` list, checked; entries with problems are left out (the problems stop the start). */
export function checkClients(raw: unknown, c: ClientCheck): ClientEntry[] {
  if (!Array.isArray(raw)) return [] // absent, or the schema reported it
  const entries: ClientEntry[] = []
  const seen = new Map<string, string>()
  const names = new Set<string>()
  raw.forEach((item: unknown, index) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return
    const e = item as Record<string, unknown>
    const path = [...c.at, 'clients', index]
    const problem = (sub: JsonPath, message: string): void => void c.problems.push(c.yaml.problem([...path, ...sub], message))
    const match = checkMatch(e['match'], [...path, 'match'], c)
    const policy = typeof e['policy'] === 'string' ? c.loadPolicy(e['policy'], (m) => c.yaml.problem([...path, 'policy'], m)) : undefined
    const tenant = typeof e['tenant'] === 'string' ? e['tenant'] : undefined
    const tenantError = tenant === undefined ? undefined : tenantProblem(tenant)
    if (tenantError !== undefined) problem(['tenant'], tenantError)
    else if (tenant !== undefined && policy?.unguarded === true) problem(['tenant'], unguardedTenant(policy.name))
    const name = typeof e['name'] === 'string' ? e['name'] : undefined
    if (name !== undefined && !ENTRY_NAME.test(name)) problem(['name'], `${JSON.stringify(name)} is not an entry name: letters, digits, ".", "_" and "-", at most 63 characters`)
    else if (name !== undefined && names.has(name)) problem(['name'], `${JSON.stringify(name)} names an earlier entry too`)
    if (name !== undefined) names.add(name)
    if (match === undefined) return
    const key = matchKey(match)
    const earlier = seen.get(key)
    if (earlier !== undefined) c.warnings.push(c.yaml.problem([...path, 'match'], `never decides: ${earlier} matches the same clients first`))
    else seen.set(key, name ?? `clients[${index}]`)
    if (policy === undefined || tenantError !== undefined) return
    entries.push({ index, label: name ?? `clients[${index}]`, match, policy, ...(tenant === undefined ? {} : { tenant }) })
  })
  return entries
}

function matchKey(m: ClientMatch): string {
  if (m.kind === 'subject') return `subject:${JSON.stringify(Object.entries(m.subject).map(([k, v]) => [k, [...v].sort()]).sort())}`
  return m.kind === 'uid' ? `uid:${m.uid}` : `gid:${m.gid}`
}

function checkMatch(raw: unknown, path: JsonPath, c: ClientCheck): ClientMatch | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined // the schema reported it
  const m = raw as Record<string, unknown>
  const keys = (['uid', 'gid', 'subject'] as const).filter((k) => k in m)
  const problem = (sub: JsonPath, message: string): undefined => void c.problems.push(c.yaml.problem([...path, ...sub], message))
  if (keys.length !== 1) {
    return problem([], keys.length === 0 ? 'give one of uid, gid or subject' : `give one of uid, gid or subject, not ${keys.join(' and ')}: an entry matches on one thing`)
  }
  const key = keys[0]!
  const value = m[key]
  const where = c.address === undefined ? undefined : formatAddress(c.address)
  if (key === 'subject') {
    if (typeof value !== 'string') return undefined
    if (c.address !== undefined && !c.tls) return problem([key], `needs a TLS listener (tls: or --tls-cert): ${where} has no client certificates to match`)
    if (c.address !== undefined && !c.clientCa) return problem([key], `needs a client CA (tls.ca or --tls-ca): without one ${where} asks for no client certificate, so no subject is known`)
    const r = parseSubject(value)
    if ('error' in r) return problem([key], r.error)
    return { kind: 'subject', subject: r.subject, text: value }
  }
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  if (c.address?.kind === 'tcp') return problem([key], `matches unix-socket peer credentials; ${where} is TCP, where the peer's ${key} is not known`)
  const r = c.lookup(key === 'uid' ? 'user' : 'group', value)
  if ('error' in r) return problem([key], r.error)
  return key === 'uid' ? { kind: 'uid', uid: r.id } : { kind: 'gid', gid: r.id }
}
