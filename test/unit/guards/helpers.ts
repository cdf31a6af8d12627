/** Shared helpers for the guard tables: every body goes through the real Go-compatible decoder. */
import { readFileSync } from 'node:fs'
import { decodeBody } from '../../../src/body/gojson.js'
import type { JsonValue } from '../../../src/body/json-value.js'
import { guardFor } from '../../../src/guards/index.js'
import { compileGuardRules, DEFAULT_GUARD_RULES, type GuardRules } from '../../../src/guards/rules.js'
import type { SelfIdentity, Violation } from '../../../src/guards/types.js'

export const NO_SELF: SelfIdentity = { ids: [], names: [] }

/** A dockgate container id for self tests. */
export const SELF_ID = '4f3c2b1a00998877665544332211aabbccddeeff00112233445566778899aabb'
export const SELF: SelfIdentity = { ids: [SELF_ID], names: ['dockgate'] }

/** Compiles a `guards:` section (as the policy YAML would hold it) over the defaults; fails on problems. */
export function rules(raw?: Record<string, unknown>): GuardRules {
  const { rules: compiled, problems } = compileGuardRules(raw ?? {}, DEFAULT_GUARD_RULES)
  if (problems.length > 0) throw new Error(`guard rules problems: ${JSON.stringify(problems)}`)
  return compiled
}

export interface RunOptions {
  readonly guards?: Record<string, unknown>
  readonly query?: string
  readonly params?: Record<string, string>
  readonly version?: string
  readonly self?: SelfIdentity
}

/** Decodes `json` (undefined = no body) with the operation's shape and runs its guard. */
export function check(operationId: string, json: string | undefined, options: RunOptions = {}): Violation[] {
  const guard = guardFor(operationId)
  if (guard === undefined) throw new Error(`no guard for ${operationId}`)
  const body: JsonValue | undefined = json === undefined ? undefined : decodeBody(Buffer.from(json, 'utf8'), guard.shape)
  return guard.check(body, {
    operationId,
    query: new URLSearchParams(options.query ?? ''),
    params: options.params ?? {},
    version: options.version,
    rules: rules(options.guards),
    self: options.self ?? NO_SELF,
  })
}

/** `guard field` of each violation, for compact table expectations. */
export function hits(violations: readonly Violation[]): string[] {
  return violations.map((v) => `${v.guard} ${v.field}`)
}

/** A captured docker CLI body from test/fixtures/bodies/. */
export function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/bodies/${name}`, import.meta.url), 'utf8')
}

/** The plain `docker run` body (CLI 28, API 1.50) with HostConfig fields replaced/added. */
export function cliCreate(hostConfig: Record<string, unknown> = {}, top: Record<string, unknown> = {}): string {
  const body = JSON.parse(fixture('cli28/container-create.run-plain.json')) as Record<string, unknown>
  const hc = body.HostConfig as Record<string, unknown>
  return JSON.stringify({ ...body, ...top, HostConfig: { ...hc, ...hostConfig } })
}
