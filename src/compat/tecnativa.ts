/**
 * Tecnativa's and LinuxServer's environment variables (CONTAINERS=1, POST=0, …) → a compiled
 * policy named "env", for people who swap their socket-proxy image for dockgate's and keep their
 * compose file. Read only when no policy is chosen otherwise (no --policy, --config,
 * DOCKGATE_POLICY or DOCKGATE_CONFIG); with one, set permission variables earn a warning.
 *
 * Same allow/deny results as Tecnativa's haproxy.cfg, except (README "Coming from Tecnativa"):
 *   1. body guards stay on: POST=1 does not open privileged creates, host binds, plugin installs,
 *      swarm joins, imports or remote builds;
 *   2. ALLOW_START, ALLOW_STOP, ALLOW_RESTARTS (and LinuxServer's ALLOW_PAUSE, ALLOW_UNPAUSE) work
 *      without POST=1, as in LinuxServer's proxy;
 *   3. reading files (GET/HEAD …/archive, GET …/export) needs ALLOW_ARCHIVE=1 / ALLOW_EXPORT=1 as
 *      well as CONTAINERS=1; writing (PUT …/archive) also POST=1.
 * Logs, top and changes follow CONTAINERS (LinuxServer's ALLOW_LOGS=0 etc. still close them), and
 * /_ping stays allowed whatever PING says (every client negotiates with it).
 */
import { allOperations } from '../endpoints.js'
import { compileGuardRules, DEFAULT_GUARD_RULES } from '../guards/rules.js'
import type { CompiledPolicy, CompiledRule } from '../policy/compile.js'
import { prepareDecisions } from '../policy/decide.js'
import { deepFreeze } from '../policy/freeze.js'
import { NO_REDACTION } from '../policy/redact.js'
import type { Problem } from '../problems.js'
import type { Setting } from '../args.js'
import {
  ACTIONS, DEFAULT_ON, FILE_ACCESS, HAPROXY_LOG_LEVELS, parseSwitch, PERMISSION_VARIABLES, POST, SECTIONS, SUBPATHS, type Section,
} from './tecnativa-vars.js'

/** The policy name in logs, metrics and refusals. */
export const ENV_POLICY_NAME = 'env'

export interface CompatResult {
  /** The derived policy, when permission variables are set and no policy was chosen otherwise. */
  readonly policy?: CompiledPolicy
  /** LOG_LEVEL (mapped to pino) and SOCKET_PATH (as an address), below DOCKGATE_LOG_LEVEL / DOCKGATE_UPSTREAM. */
  readonly logLevel?: Setting
  readonly upstream?: Setting
  readonly problems: readonly Problem[]
  readonly warnings: readonly Problem[]
}

const WHY = 'dockgate reads Tecnativa-style variables only when no --policy, --config, DOCKGATE_POLICY or DOCKGATE_CONFIG is given'

export function readCompatEnv(env: NodeJS.ProcessEnv, opts: { readonly policyChosen: boolean }): CompatResult {
  const problems: Problem[] = []
  const warnings: Problem[] = []
  const logLevel = readLogLevel(env, problems)
  const upstream = readSocketPath(env, problems)
  const set = PERMISSION_VARIABLES.filter((v) => env[v] !== undefined)
  const base = { problems, warnings, ...(logLevel ? { logLevel } : {}), ...(upstream ? { upstream } : {}) }
  if (opts.policyChosen) {
    const ignored = set.filter((v) => !(DEFAULT_ON.has(v) && env[v] === '1'))
    if (ignored.length > 0) warnings.push({ message: `${ignored.map((v) => `${v}=${env[v] ?? ''}`).join(' ')}: ignored (${WHY})` })
    return base
  }
  if (set.length === 0) return base
  const values = new Map<string, boolean>()
  for (const v of set) {
    const raw = env[v] ?? ''
    const on = parseSwitch(raw)
    if (on === undefined) {
      problems.push({ message: `${v}: ${raw === '' ? 'is set but empty' : `${JSON.stringify(raw)} is not 0 or 1`}; write ${v}=1 to allow or ${v}=0 to deny (${WHY}; pass --policy to ignore them)` })
    } else {
      values.set(v, on)
    }
  }
  const libpod = Object.keys(env).filter((k) => k.startsWith('LIBPOD_') && env[k] !== '0').sort()
  if (libpod.length > 0) warnings.push({ message: `${libpod.join(', ')}: ignored (dockgate does not serve Podman's libpod API)` })
  if (problems.length > 0) return base
  const derived = derivePolicy(values, problems, warnings)
  return problems.length > 0 ? base : { ...base, policy: derived }
}

function readLogLevel(env: NodeJS.ProcessEnv, problems: Problem[]): Setting | undefined {
  const raw = env['LOG_LEVEL']
  if (raw === undefined) return undefined
  const name = raw.trim().toLowerCase()
  const pino = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
  const level = HAPROXY_LOG_LEVELS[name] ?? (pino.includes(name) ? name : undefined)
  if (level !== undefined) return { value: level, origin: 'LOG_LEVEL' }
  problems.push({ message: `LOG_LEVEL: unknown level ${JSON.stringify(raw)}; use HAProxy's ${Object.keys(HAPROXY_LOG_LEVELS).join(', ')} or dockgate's ${pino.join(', ')}` })
  return undefined
}

function readSocketPath(env: NodeJS.ProcessEnv, problems: Problem[]): Setting | undefined {
  const raw = env['SOCKET_PATH']
  if (raw === undefined) return undefined
  if (raw.startsWith('/')) return { value: `unix://${raw}`, origin: 'SOCKET_PATH' }
  if (/^(unix|tcp):\/\//.test(raw)) return { value: raw, origin: 'SOCKET_PATH' }
  problems.push({ message: `SOCKET_PATH: ${JSON.stringify(raw)} is not an absolute socket path (like /var/run/docker.sock); for TCP set DOCKGATE_UPSTREAM=tcp://HOST:PORT` })
  return undefined
}

/** Operations under a section's prefix, as haproxy.cfg's `^(/v[\d.]+)?/prefix` matches them. */
function sectionOperations(s: Section): Array<{ id: string; read: boolean }> {
  return allOperations()
    .filter((o) => o.template === s.prefix || o.template.startsWith(`${s.prefix}/`))
    .map((o) => ({ id: o.id, read: o.method === 'GET' || o.method === 'HEAD' }))
}

const FILE_OPS: ReadonlySet<string> = new Set(Object.values(FILE_ACCESS).flat())

/** The policy the variables describe. `values` holds the variables that are set, parsed. */
export function derivePolicy(values: ReadonlyMap<string, boolean>, problems: Problem[] = [], warnings: Problem[] = []): CompiledPolicy {
  const on = (v: string): boolean => values.get(v) ?? DEFAULT_ON.has(v)
  const post = on(POST)
  const rules: CompiledRule[] = []
  const rule = (effect: 'allow' | 'deny', name: string, operations: readonly string[], because: string): void => {
    if (operations.length === 0) return
    rules.push({ effect, name, text: `${effect} ${operations.join(', ')}`, at: `environment (${because})`, operations, globs: [] })
  }
  for (const s of SECTIONS) {
    if (!on(s.variable)) continue
    const ops = sectionOperations(s).filter((o) => !FILE_OPS.has(o.id))
    rule('allow', s.variable, ops.filter((o) => o.read).map((o) => o.id), `${s.variable}=1`)
    if (post) rule('allow', `${s.variable}+POST`, ops.filter((o) => !o.read).map((o) => o.id), `${s.variable}=1 POST=1`)
  }
  for (const [v, ops] of Object.entries(ACTIONS)) if (on(v)) rule('allow', v, ops, `${v}=1`)
  for (const [v, ops] of Object.entries(FILE_ACCESS)) {
    if (!on(v)) continue
    if (!on('CONTAINERS')) {
      warnings.push({ message: `${v}=1: has no effect without CONTAINERS=1` })
      continue
    }
    rule('allow', v, ops.filter((id) => id !== 'PutContainerArchive' || post), `${v}=1 CONTAINERS=1`)
  }
  for (const [v, ops] of Object.entries(SUBPATHS)) if (values.get(v) === false) rule('deny', `${v}=0`, ops, `${v}=0`)
  if (values.get('PING') === false) warnings.push({ message: 'PING=0: /_ping stays allowed (every client negotiates the API version with it)' })
  if (on('SESSION') && post && !on('BUILD') && !on('GRPC')) {
    problems.push({ message: 'SESSION=1: /session only serves a BuildKit build; set BUILD=1 (or GRPC=1) too, or SESSION=0' })
  }
  const loosen: Record<string, unknown> = {}
  // Writing files into containers was asked for by name (ALLOW_ARCHIVE=1 with POST=1).
  if (on('ALLOW_ARCHIVE') && on('CONTAINERS') && post) loosen['archive'] = { write: true }
  // GRPC=1 with POST=1 asks for /grpc by name; dockgate warns loudly at start (main.ts).
  if (on('GRPC') && post) loosen['build'] = { grpc: true }
  const guards = compileGuardRules(loosen, DEFAULT_GUARD_RULES).rules
  const shown = [...values].map(([k, v]) => `${k}=${v ? 1 : 0}`).join(' ')
  const policy: CompiledPolicy = deepFreeze({
    name: ENV_POLICY_NAME,
    description: `from Tecnativa-style variables: ${shown === '' ? 'the defaults' : shown} (EVENTS, PING, VERSION on unless set to 0)`,
    source: 'environment',
    extends: [],
    rules,
    guards,
    unguarded: false,
    // Tecnativa's proxy hands responses out as they are; CONTAINERS=1 POST=1 users re-create containers.
    redact: NO_REDACTION,
    warnings: [],
  })
  prepareDecisions(policy)
  return policy
}
