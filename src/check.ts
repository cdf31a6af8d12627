/**
 * `dockgate check`: would this request be allowed? Runs the same admission steps as live traffic
 * (admission.ts) without a socket or an engine, and says which rule or guard decided. For
 * writing and reviewing policies, and in CI to pin a policy's behaviour. Without an engine the
 * target step makes only its static checks; the answer says when live traffic would also look
 * the target up.
 *
 *   dockgate check [--policy NAME|FILE] METHOD TARGET [--body FILE|-]
 *   dockgate check --policy container-operator POST /v1.41/containers/create --body create.json
 *
 * Exit code 0 when allowed, 1 when refused, 2 on usage or policy problems.
 */
import { readFileSync } from 'node:fs'
import { admit } from './admission.js'
import { readCompatEnv } from './compat/tecnativa.js'
import { loadPolicy } from './policy/compile.js'
import { ConfigError, formatProblem } from './problems.js'
import { redactPlan } from './redact/apply.js'
import { isDockgateError } from './errors.js'

export const CHECK_USAGE = `Usage: dockgate check [--policy NAME|FILE] METHOD TARGET [--body FILE|-]

Says whether the policy lets the request through, and which rule or guard decided.
  --policy NAME|FILE  preset name or policy file (default: DOCKGATE_POLICY, else read-only)
  --body FILE|-       the JSON request body (- reads standard input)
Exit code: 0 allowed, 1 refused, 2 usage or policy problems.
`

export interface CheckIo {
  readonly out: (s: string) => void
  readonly err: (s: string) => void
  readonly stdin: () => Buffer
}

export async function check(argv: readonly string[], env: NodeJS.ProcessEnv, io: CheckIo): Promise<number> {
  let policyRef = env['DOCKGATE_POLICY']
  let bodyRef: string | undefined
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--help' || a === '-h') {
      io.out(CHECK_USAGE)
      return 0
    }
    if (a === '--policy' || a === '--body') {
      const v = argv[++i]
      if (v === undefined) {
        io.err(`dockgate check: ${a} needs a value\n`)
        return 2
      }
      if (a === '--policy') policyRef = v
      else bodyRef = v
    } else if (a.startsWith('--')) {
      io.err(`dockgate check: unknown option ${a}\n${CHECK_USAGE}`)
      return 2
    } else {
      positional.push(a)
    }
  }
  if (positional.length !== 2) {
    io.err(`dockgate check: expected METHOD and TARGET\n${CHECK_USAGE}`)
    return 2
  }
  const [method, target] = positional as [string, string]
  let policy
  try {
    // As at start: with no policy chosen, Tecnativa-style variables make one (compat/tecnativa.ts).
    const compat = policyRef === undefined ? readCompatEnv(env, { policyChosen: false }) : undefined
    if (compat !== undefined && compat.problems.length > 0) throw new ConfigError(compat.problems)
    policy = compat?.policy ?? loadPolicy(policyRef ?? 'read-only')
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const p of err.problems) io.err(`dockgate: ${formatProblem(p)}\n`)
    return 2
  }
  let body: Buffer | undefined
  try {
    if (bodyRef !== undefined) body = bodyRef === '-' ? io.stdin() : readFileSync(bodyRef)
  } catch (err) {
    io.err(`dockgate check: cannot read ${bodyRef}: ${(err as Error).message}\n`)
    return 2
  }
  const headers: Record<string, string> = { host: 'dockgate-check' }
  const rawHeaders = ['Host', 'dockgate-check']
  if (body !== undefined) {
    headers['content-length'] = String(body.length)
    headers['content-type'] = 'application/json'
    rawHeaders.push('Content-Length', String(body.length), 'Content-Type', 'application/json')
  }
  try {
    const admitted = await admit(
      { policy, self: { ids: [], names: [] }, engine: undefined, mode: 'enforce', bodyLimit: Number.MAX_SAFE_INTEGER },
      { method, url: target, httpVersion: '1.1', headers, rawHeaders, upgrade: false },
      () => Promise.resolve(body ?? Buffer.alloc(0)),
    )
    const api = admitted.api
    const guard = policy.unguarded ? undefined : api.operation.guard
    const by = admitted.rule === undefined ? 'always allowed' : `rule ${admitted.rule}`
    const streamed = admitted.filter === undefined ? '' : ' (the streamed body, a build context, is read only on live traffic)'
    const guarded = guard ? `; guard checked ${guard.body === 'json' ? 'the body and query' : 'the query and path'}${streamed}` : policy.unguarded ? '; body guards are OFF in this policy' : ''
    const live = !policy.unguarded && api.operation.target !== undefined && api.operation.target.reach !== 'read'
      ? `\nlive traffic would also look up the ${api.operation.target.kind} in the engine: ${api.operation.target.reach === 'enter' ? 'it must be one this policy could create, and never dockgate\'s own' : 'never dockgate\'s own'}`
      : ''
    const plan = redactPlan(policy.redact, api.operation)
    const redacted = plan === undefined ? '' : `\nthe answer is redacted: ${[...new Set(plan.sites.map((x) => x.kind))].map((k) => `${k} (${plan.sites.filter((x) => x.kind === k).map((x) => x.path).join(', ')})`).join('; ')}`
    io.out(`allow: ${api.operation.id} (${api.method} ${api.path}) by policy "${policy.name}", ${by}${guarded}\nforwarded as: ${api.method} ${api.target}${live}${redacted}\n`)
    return 0
  } catch (err) {
    if (!isDockgateError(err)) throw err
    io.out(`deny: ${err.clientMessage()} (HTTP ${err.status})\n`)
    return 1
  }
}
