/**
 * `dockgate learn LOG... [--listener ADDR] [--client KEY=VALUE]`: from dockgate's audit records
 * (records.ts) to the smallest policy that lets the same requests through (build.ts, render.ts).
 * Run dockgate with a narrow preset in audit-only mode, use the tool, then learn: allowed,
 * would-deny and deny records all count as seen. The printed policy is compiled before it is
 * printed: it loads with no problem and no warning, or learn fails.
 */
import { readFileSync } from 'node:fs'
import { parseArgs as parseArgsUtil } from 'node:util'
import { compilePolicyText } from '../policy/compile.js'
import { ConfigError, formatProblem } from '../problems.js'
import { learnFrom } from './build.js'
import { CLIENT_KEYS, matchesFilter, readRecords, type ClientKey, type SeenRecord } from './records.js'
import { renderPolicy } from './render.js'

export const LEARN_USAGE = `Usage: dockgate learn LOG... [--listener ADDR]... [--client KEY=VALUE]...

Reads dockgate's audit records (the JSON lines it writes to stdout; - reads standard input) and
prints a policy (YAML) that lets the same requests through, and nothing else: it extends the
preset the records were made under, allows the operations seen, and loosens each body guard
exactly as far as the values seen (bind paths and their read-only flags, capabilities, ...), each
entry with a comment saying how often and by whom it was seen. Records with decision allow,
would-deny (--audit-only) and deny all count as seen.

  --listener ADDR     only records of this listener, as the records write it (repeatable)
  --client KEY=VALUE  only records of this client; KEY is uid, gid, pid, address, subject or
                      entry (repeatable: values of one key are alternatives, keys all apply)
Exit code: 0 policy printed, 1 nothing to learn (or nothing that loads), 2 usage problems.
`

export interface LearnIo {
  readonly out: (s: string) => void
  readonly err: (s: string) => void
  readonly stdin: () => Buffer
}

interface Args {
  readonly logs: string[]
  readonly listeners: string[]
  readonly clients: Map<ClientKey, string[]>
}

/** The flags, split by node:util parseArgs (as dockgate's own, args.ts); strict: learn has few flags and stops at the first problem. */
function parseArgs(argv: readonly string[]): Args | { help: true } | { problem: string } {
  let parsed
  try {
    parsed = parseArgsUtil({
      args: [...argv], allowPositionals: true, strict: true,
      options: { help: { type: 'boolean', short: 'h' }, listener: { type: 'string', multiple: true }, client: { type: 'string', multiple: true } },
    })
  } catch (err) {
    // ERR_PARSE_ARGS_UNKNOWN_OPTION, ERR_PARSE_ARGS_INVALID_OPTION_VALUE: node's message names the flag.
    return { problem: (err as Error).message }
  }
  if (parsed.values.help === true) return { help: true }
  const args: Args = { logs: [...parsed.positionals], listeners: [...(parsed.values.listener ?? [])], clients: new Map() }
  for (const v of parsed.values.client ?? []) {
    const at = v.indexOf('=')
    const key = v.slice(0, at) as ClientKey
    if (at < 1 || !CLIENT_KEYS.includes(key)) return { problem: `--client takes KEY=VALUE with KEY one of ${CLIENT_KEYS.join(', ')}: ${JSON.stringify(v)}` }
    args.clients.set(key, [...(args.clients.get(key) ?? []), v.slice(at + 1)])
  }
  if (args.logs.length === 0) return { problem: 'name at least one log file (or - for standard input)' }
  return args
}

export function learn(argv: readonly string[], io: LearnIo): number {
  const args = parseArgs(argv)
  if ('help' in args) {
    io.out(LEARN_USAGE)
    return 0
  }
  if ('problem' in args) {
    io.err(`dockgate learn: ${args.problem}\n${LEARN_USAGE}`)
    return 2
  }
  const all: SeenRecord[] = []
  let skipped = 0
  const other = new Map<string, number>()
  for (const log of args.logs) {
    let text: string
    try {
      text = (log === '-' ? io.stdin() : readFileSync(log)).toString('utf8')
    } catch (err) {
      io.err(`dockgate learn: cannot read ${log}: ${(err as Error).message}\n`)
      return 2
    }
    const read = readRecords(text)
    all.push(...read.records)
    skipped += read.skippedLines
    for (const [d, n] of read.otherDecisions) other.set(d, (other.get(d) ?? 0) + n)
  }
  if (skipped > 0) io.err(`dockgate learn: ${skipped} line(s) were not JSON (dockgate writes JSON lines when its stdout is not a terminal) and were skipped\n`)
  if (other.size > 0) io.err(`dockgate learn: not counted as seen: ${[...other].map(([d, n]) => `${n} ${d}`).join(', ')}\n`)
  const records = all.filter((r) => matchesFilter(r, { listeners: args.listeners, clients: args.clients }))
  if (records.length === 0) {
    io.err(`dockgate learn: no allow, would-deny or deny records${all.length > records.length ? ' match the filters' : ' in the input'}; nothing to learn\n`)
    return 1
  }
  const policies = new Map<string, number>()
  for (const r of records) policies.set(r.policy, (policies.get(r.policy) ?? 0) + 1)
  if (policies.size > 1) {
    io.err(`dockgate learn: the records were made under ${policies.size} policies (${[...policies].map(([p, n]) => `${JSON.stringify(p)}: ${n}`).join(', ')}); ` +
      'learn one at a time: choose its records with --listener or --client\n')
    return 2
  }
  const learned = learnFrom(records, [...policies.keys()][0]!)
  if (learned.operations.length === 0 && learned.extends === undefined && learned.section.empty) {
    io.err('dockgate learn: the records show nothing beyond /_ping, which every policy allows; nothing to learn\n')
    return 1
  }
  const text = renderPolicy(learned)
  try {
    const compiled = compilePolicyText(text, { file: 'learned.yaml' })
    if (compiled.warnings.length > 0) throw new ConfigError(compiled.warnings)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    // What learn prints must load cleanly; when it would not (a BuildKit session seen without its
    // build), say why rather than print it.
    io.err(`dockgate learn: the policy learned from these records would not load cleanly:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n${text}`)
    return 1
  }
  io.out(text)
  return 0
}
