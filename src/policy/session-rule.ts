/**
 * `POST /session` (operation Session) only together with a build the policy allows.
 *
 * A BuildKit session is a hijacked h2c connection through which the daemon calls back into the
 * client (files, secrets, SSH agent, registry credentials: moby session/ and the docker CLI's
 * build_buildkit.go). It exists to serve a build: `/build?version=2&session=<id>` (ImageBuild) or
 * a raw BuildKit solve over `/grpc` (BuildKitGrpc, when guards.build.grpc lets it through). A policy
 * that opens sessions without either is a mistake, and is refused at load time, pointing at the
 * rule that allowed Session.
 */
import type { GuardRules } from '../guards/rules.js'
import type { JsonPath, Problem, YamlFile } from '../problems.js'
import type { HttpMethod } from '../types.js'
import type { CompiledGlob } from './glob.js'

/** What this check needs to know of one rule (compile.ts's RuleEntry has it). */
export interface RuleView {
  readonly rule: { readonly effect: 'allow' | 'deny'; readonly name: string }
  readonly doc: { readonly yaml: YamlFile }
  readonly targets: ReadonlyArray<{ readonly op?: string; readonly glob?: CompiledGlob; readonly path: JsonPath }>
}

interface Endpoint {
  readonly id: string
  readonly method: HttpMethod
  readonly path: string
}

const SESSION: Endpoint = { id: 'Session', method: 'POST', path: '/session' }
const BUILD: Endpoint = { id: 'ImageBuild', method: 'POST', path: '/build' }
const GRPC: Endpoint = { id: 'BuildKitGrpc', method: 'POST', path: '/grpc' }

type Target = RuleView['targets'][number]

function covers(t: Target, e: Endpoint): boolean {
  if (t.op !== undefined) return t.op === e.id
  const g = t.glob
  return g !== undefined && (g.methods === '*' || g.methods.includes(e.method)) && g.test(e.path)
}

/** The first rule target that allows `e` when no deny covers it; undefined when `e` is refused. */
function allowedBy(rules: readonly RuleView[], e: Endpoint): { rule: RuleView; target: Target } | undefined {
  if (rules.some((r) => r.rule.effect === 'deny' && r.targets.some((t) => covers(t, e)))) return undefined
  for (const rule of rules) {
    if (rule.rule.effect !== 'allow') continue
    const target = rule.targets.find((t) => covers(t, e))
    if (target !== undefined) return { rule, target }
  }
  return undefined
}

/** Problems for a (guarded) policy whose rules allow Session but no build. */
export function sessionProblems(rules: readonly RuleView[], guards: GuardRules): Problem[] {
  const session = allowedBy(rules, SESSION)
  if (session === undefined) return []
  if (allowedBy(rules, BUILD) !== undefined) return []
  if (guards.build.grpc && allowedBy(rules, GRPC) !== undefined) return []
  return [session.rule.doc.yaml.problem(session.target.path,
    `Session (POST /session, a BuildKit session) is allowed by rule ${session.rule.rule.name}, but no build is: ` +
    'a session only serves a build the policy allows; allow ImageBuild too (or drop Session)')]
}
