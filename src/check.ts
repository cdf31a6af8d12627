/**
 * `dockgate check`: would this request be allowed? Runs the same admission steps as live traffic
 * (admission.ts) without a socket or an engine, and says which rule or guard decided. For
 * writing and reviewing policies, and in CI to pin a policy's behaviour. Without an engine the
 * target step makes only its static checks; the answer says when live traffic would also look
 * the target up.
 *
 *   dockgate check [--policy NAME|FILE | --config FILE [--listener ADDR] [--client NAME]] METHOD TARGET [--body FILE|-]
 *   dockgate check --policy container-operator POST /v1.41/containers/create --body create.json
 *   dockgate check --config dockgate.yaml --listener unix:///run/dockgate/ci.sock post /containers/web/kill
 *
 * Exit code 0 when allowed, 1 when refused, 2 on usage or policy problems.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { admit } from './admission.js'
import { readCompatEnv } from './compat/tecnativa.js'
import { loadPolicy } from './policy/compile.js'
import { ConfigError, formatProblem } from './problems.js'
import { redactPlan } from './redact/apply.js'
import { isDockgateError } from './errors.js'
import { targetFromConfig, type CheckTarget } from './check-config.js'
import { liveChecks } from './check-live.js'

export const CHECK_USAGE = `Usage: dockgate check [--policy NAME|FILE | --config FILE [--listener ADDR] [--client NAME]] METHOD TARGET [--body FILE|-]

Says whether the policy lets the request through, and which rule or guard decided.
  --policy NAME|FILE  preset name or policy file (default: DOCKGATE_POLICY, else read-only)
  --config FILE       the server's configuration file: judge by the policy of one of its listeners
  --listener ADDR     with --config: the listener (unix:///path.sock or tcp://HOST:PORT); needed
                      when the file has several
  --client NAME       with --config: the listener's clients: entry of that name (or clients[i]);
                      default: the policy of connections that match no entry
  --body FILE|-       the JSON request body (- reads standard input)
METHOD may be written in any case (get = GET). Without an engine, what the request names in the
engine (the target container, a container the body refers to) is not looked up; the answer says
when live traffic would also check it.
Exit code: 0 allowed, 1 refused, 2 usage or policy problems.
`

export interface CheckIo {
  readonly out: (s: string) => void
  readonly err: (s: string) => void
  readonly stdin: () => Buffer
}

const OPTIONS = {
  policy: { type: 'string' },
  config: { type: 'string' },
  listener: { type: 'string' },
  client: { type: 'string' },
  body: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** The options as node:util parseArgs reads them (the same rules as the server's flags), or a usage problem. */
function readArgs(argv: readonly string[]): { values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean }; positionals: string[] } | { problem: string } {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const name = /'(-[^' ]+)/.exec((err as Error).message)?.[1] ?? ''
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return { problem: `unknown option ${name}` }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return { problem: `${name} needs a value` }
    return { problem: (err as Error).message }
  }
}

export async function check(argv: readonly string[], env: NodeJS.ProcessEnv, io: CheckIo): Promise<number> {
  const args = readArgs(argv)
  if ('problem' in args) {
    io.err(`dockgate check: ${args.problem}\n${CHECK_USAGE}`)
    return 2
  }
  const { values, positionals } = args
  if (values.help === true) {
    io.out(CHECK_USAGE)
    return 0
  }
  const usage = (problem: string): number => {
    io.err(`dockgate check: ${problem}\n`)
    return 2
  }
  if (positionals.length !== 2) {
    io.err(`dockgate check: expected METHOD and TARGET\n${CHECK_USAGE}`)
    return 2
  }
  if (values.config !== undefined && values.policy !== undefined) return usage('--policy and --config choose the policy two ways; give one')
  if (values.config === undefined && (values.listener !== undefined || values.client !== undefined)) return usage(`${values.listener !== undefined ? '--listener' : '--client'} chooses within a configuration file: give --config FILE too`)
  // HTTP methods are case-sensitive on the wire; here they are a word typed by a person.
  const method = positionals[0]!.toUpperCase()
  const target = positionals[1]!
  const bodyRef = values.body
  let judged: CheckTarget
  try {
    if (values.config !== undefined) {
      const picked = targetFromConfig({ file: values.config, listener: values.listener, client: values.client }, env)
      if ('problem' in picked) return usage(picked.problem)
      judged = picked
    } else {
      const policyRef = values.policy ?? env['DOCKGATE_POLICY']
      // As at start: with no policy chosen, Tecnativa-style variables make one (compat/tecnativa.ts).
      const compat = policyRef === undefined ? readCompatEnv(env, { policyChosen: false }) : undefined
      if (compat !== undefined && compat.problems.length > 0) throw new ConfigError(compat.problems)
      judged = { policy: compat?.policy ?? loadPolicy(policyRef ?? 'read-only'), tenant: undefined, where: '' }
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const p of err.problems) io.err(`dockgate: ${formatProblem(p)}\n`)
    return 2
  }
  const policy = judged.policy
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
  // With --config: which listener (and client) the answer is for, and its tenant, first.
  const where = judged.where === '' ? '' : `judged as on ${judged.where}: policy "${policy.name}"${judged.tenant === undefined ? '' : `, tenant "${judged.tenant}"`}\n`
  try {
    const admitted = await admit(
      {
        policy, self: { ids: [], names: [] }, engine: undefined, mode: 'enforce', bodyLimit: Number.MAX_SAFE_INTEGER,
        ...(judged.tenant === undefined ? {} : { tenant: judged.tenant }),
      },
      { method, url: target, httpVersion: '1.1', headers, rawHeaders, upgrade: false },
      () => Promise.resolve(body ?? Buffer.alloc(0)),
    )
    const api = admitted.api
    const guard = policy.unguarded ? undefined : api.operation.guard
    const by = admitted.rule === undefined ? 'always allowed' : `rule ${admitted.rule}`
    const streamed = admitted.filter === undefined ? '' : ' (the streamed body, a build context, is read only on live traffic)'
    const guarded = guard ? `; guard checked ${guard.body === 'json' ? 'the body and query' : 'the query and path'}${streamed}` : policy.unguarded ? '; body guards are OFF in this policy' : ''
    const live = liveChecks(api, guard, body, policy.unguarded, judged.tenant).map((line) => `\n${line}`).join('')
    const plan = redactPlan(policy.redact, api.operation)
    const redacted = plan === undefined ? '' : `\nthe answer is redacted: ${[...new Set(plan.sites.map((x) => x.kind))].map((k) => `${k} (${plan.sites.filter((x) => x.kind === k).map((x) => x.path).join(', ')})`).join('; ')}`
    io.out(`${where}allow: ${api.operation.id} (${api.method} ${api.path}) by policy "${policy.name}", ${by}${guarded}\nforwarded as: ${api.method} ${api.target}${live}${redacted}\n`)
    return 0
  } catch (err) {
    if (!isDockgateError(err)) throw err
    io.out(`${where}deny: ${err.clientMessage()} (HTTP ${err.status})\n`)
    return 1
  }
}
