/**
 * `dockgate check`: would this request be allowed? Runs the same steps as live traffic
 * (normalize → admit → inspect, admission.ts) without a socket, and says which rule or guard
 * decided. For writing and reviewing policies, and in CI to pin a policy's behaviour.
 *
 *   dockgate check [--policy NAME|FILE] METHOD TARGET [--body FILE|-]
 *   dockgate check --policy container-operator POST /v1.41/containers/create --body create.json
 *
 * Exit code 0 when allowed, 1 when refused, 2 on usage or policy problems.
 */
import { readFileSync } from 'node:fs'
import { normalize } from './normalize.js'
import { admit, inspect } from './admission.js'
import { loadPolicy } from './policy/compile.js'
import { ConfigError, formatProblem } from './problems.js'
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

export function check(argv: readonly string[], env: NodeJS.ProcessEnv, io: CheckIo): number {
  let policyRef = env['DOCKGATE_POLICY'] ?? 'read-only'
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
    policy = loadPolicy(policyRef)
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
  try {
    const api = normalize(method, target)
    const admitted = admit(policy, api, body === undefined ? undefined : 'application/json')
    const raw = admitted.guard?.body === 'json' ? (body ?? Buffer.alloc(0)) : undefined
    inspect(policy, { ids: [], names: [] }, admitted, raw)
    const by = admitted.rule === undefined ? 'always allowed' : `rule ${admitted.rule}`
    const streamed = admitted.guard?.stream === undefined ? '' : ' (a streamed body, such as a build context, is read only on live traffic)'
    const guarded = admitted.guard ? `; guard checked ${admitted.guard.body === 'json' ? 'the body and query' : 'the query and path'}${streamed}` : policy.unguarded ? '; body guards are OFF in this policy' : ''
    io.out(`allow: ${api.operation.id} (${api.method} ${api.path}) by policy "${policy.name}", ${by}${guarded}\nforwarded as: ${api.method} ${api.target}\n`)
    return 0
  } catch (err) {
    if (!isDockgateError(err)) throw err
    io.out(`deny: ${err.clientMessage()} (HTTP ${err.status})\n`)
    return 1
  }
}
