/**
 * Flags, DOCKGATE_* variables and the YAML config file → one deep-frozen Config.
 *
 * Precedence: flags > environment > config file > DEFAULTS. `--listen` / DOCKGATE_LISTEN replace
 * the config file's listeners; `--policy` / DOCKGATE_POLICY apply to listeners that name no policy.
 * Every problem is collected — flags, variables, the file, every policy — and thrown together
 * as a ConfigError; the CLI prints them and exits 2, never with a stack trace.
 */
import { readFileSync } from 'node:fs'
import type { ValidateFunction } from 'ajv'
import { isIPv4, isIPv6 } from 'node:net'
import { dirname, join, posix, resolve } from 'node:path'
import { DEFAULT_LISTEN_ENV, FLAGS, OTHER_ENV, parseArgs, readEnv, readListEnv, type Setting, type SettingKey } from './args.js'
import { readCompatEnv } from './compat/tecnativa.js'
import { PolicyLoader, type CompiledPolicy, type RefOrigin } from './policy/compile.js'
import { deepFreeze } from './policy/freeze.js'
import { listPresets, packageRoot, presetPath } from './policy/presets.js'
import {
  ConfigError, createAjv, didYouMean, formatProblem, parseYaml, readText, schemaProblems, tidyProblems,
  type JsonPath, type Problem, type YamlFile,
} from './problems.js'
import { formatAddress, type Address } from './upstream.js'
import { checkClients, listenerIdentitySchema, tenantProblem, unguardedTenant, type ClientEntry } from './config-clients.js'
import { loadTls, type TlsFileRef, type TlsMaterial } from './tls-files.js'
import { decisionMode, parseSocketMode, parseSwitch, type DecisionMode } from './listener-mode.js'
import { lookupId, type IdLookup, type NssOptions } from './nss.js'

export type { Address }

/** pino's levels (pino `levels.values`, plus `silent`). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Every default in one place. */
export const DEFAULTS = Object.freeze({
  /** The engine's own socket (address). */
  upstream: 'unix:///var/run/docker.sock',
  /** Policy for listeners that name none (preset name): look, never touch. */
  policy: 'read-only',
  /** Where dockgate serves when flags, environment and config file name no listener (address). */
  listen: 'unix:///var/run/dockgate.sock',
  /** pino level. */
  logLevel: 'info' as LogLevel,
  /** Unix socket file mode (octal): owner and group may connect, others may not. */
  socketMode: 0o660,
  /** Largest request body read for inspection (bytes; 1 MiB). A container create body is a few KiB. */
  bodyBytes: 1024 * 1024,
  /** Deadline for an inspected body to arrive (milliseconds; 30 s). */
  bodyTimeoutMs: 30_000,
  /**
   * Bytes of bodies held for inspection across all connections at once (128 MiB): beyond it a
   * request is answered 503 with Retry-After, so slow clients cannot make dockgate hold GiBs.
   */
  bodyBudgetBytes: 128 * 1024 * 1024,
  /** Deadline for the engine to answer a lookup dockgate makes while admitting a request (milliseconds; 10 s). */
  lookupTimeoutMs: 10_000,
  /**
   * Largest engine answer read whole to redact it (bytes; 32 MiB): an inspect is a few KiB, a
   * list of 5,000 tasks about 15 MiB. Parsed, an answer takes a few times its size in memory; it
   * also counts against bodyBudgetBytes while held.
   */
  responseBytes: 32 * 1024 * 1024,
})

/** Upper bounds, so that a typo cannot make a limit meaningless. */
const LIMIT_MAX = Object.freeze({
  /** bytes; 1 GiB. */
  bodyBytes: 1024 * 1024 * 1024,
  /** milliseconds; 1 h (setTimeout fires at once above 2^31-1 ms anyway). */
  bodyTimeoutMs: 3_600_000,
  /** bytes; 64 GiB. */
  bodyBudgetBytes: 64 * 1024 * 1024 * 1024,
  /** milliseconds; 10 min. */
  lookupTimeoutMs: 600_000,
  /** bytes; 1 GiB. */
  responseBytes: 1024 * 1024 * 1024,
})

export interface ListenerConfig {
  readonly address: Address
  /** The policy of connections that match no `clients:` entry. */
  readonly policy: CompiledPolicy
  /** Unix socket file mode, e.g. 0o660 (ignored for TCP). */
  readonly mode: number
  readonly uid?: number
  readonly gid?: number
  /** TCP listeners: serve TLS with these (from `tls:`, or --tls-cert/--tls-key/--tls-ca). */
  readonly tls?: TlsMaterial
  /** The tenant of connections that match no `clients:` entry (config-clients.ts). */
  readonly tenant?: string
  /** Who gets which policy, first match wins (config-clients.ts); empty: everyone gets `policy`. */
  readonly clients: readonly ClientEntry[]
  /** Audit-only (`mode: audit`, `--audit-only`): policy refusals are recorded as would-deny and forwarded. */
  readonly auditOnly: boolean
}

export interface Config {
  readonly upstream: Address
  readonly admin?: Address
  readonly logLevel: LogLevel
  readonly limits: {
    readonly bodyBytes: number; readonly bodyTimeoutMs: number; readonly bodyBudgetBytes: number; readonly lookupTimeoutMs: number; readonly responseBytes: number
  }
  readonly listeners: readonly ListenerConfig[]
  /** Things to print at start that do not stop dockgate, already formatted (`file:line:col: message`). */
  readonly warnings: readonly string[]
  /** Absolute path of the config file, when one was used. */
  readonly configFile?: string
}

export interface LoadConfigOptions {
  /** Base for relative paths in flags and variables; default process.cwd(). */
  readonly cwd?: string
  /** How `owner:` / `group:` names (and --socket-owner/--socket-group) are resolved: getent, through NSS (nss.ts). */
  readonly nss?: NssOptions
}

export { formatAddress }

// ---------------------------------------------------------------------------------------------
// Addresses

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
/** sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL. */
const UNIX_PATH_MAX = 107

/**
 * `unix:///abs/path.sock` or `tcp://HOST:PORT` (`tcp://[::1]:2375`). Port 0 (any free port) only
 * where dockgate listens. The error is a phrase that names the form to write.
 */
export function parseAddress(text: string, opts: { allowPort0?: boolean } = {}): { address: Address } | { error: string } {
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length)
    if (!path.startsWith('/')) return { error: 'the unix socket path must be absolute, as in unix:///run/dockgate.sock' }
    if (path.includes('\0')) return { error: 'the unix socket path contains a NUL byte' }
    const clean = posix.normalize(path)
    if (clean !== path || (path.length > 1 && path.endsWith('/'))) return { error: `write the path plainly: unix://${clean.replace(/\/$/, '')}` }
    if (Buffer.byteLength(path) > UNIX_PATH_MAX) return { error: `the unix socket path is ${Buffer.byteLength(path)} bytes; the limit is ${UNIX_PATH_MAX}` }
    return { address: { kind: 'unix', path } }
  }
  if (text.startsWith('tcp://')) {
    const rest = text.slice('tcp://'.length)
    const bracketed = rest.startsWith('[')
    if (!bracketed && (rest.match(/:/g) ?? []).length > 1) return { error: 'write an IPv6 address in brackets, as in tcp://[::1]:2375' }
    const m = bracketed ? /^\[([^\]]*)\](?::(.*))?$/.exec(rest) : /^([^:[\]]*)(?::(.*))?$/.exec(rest)
    if (m === null) return { error: 'expected tcp://HOST:PORT' }
    // `tcp://:2375` binds loopback: never the network unless an address says so.
    const host = m[1] === undefined || m[1] === '' ? '127.0.0.1' : m[1]
    const portText = m[2]
    if (bracketed ? !isIPv6(host) : !(isIPv4(host) || HOSTNAME.test(host))) return { error: `${JSON.stringify(host)} is not a valid ${bracketed ? 'IPv6 address' : 'host name or IPv4 address'}` }
    if (portText === undefined || portText === '') return { error: 'the port is missing: tcp://HOST:PORT' }
    if (!/^[0-9]{1,5}$/.test(portText)) return { error: `${JSON.stringify(portText)} is not a port number${portText.includes('/') ? ' (no path after the port)' : ''}` }
    const port = Number(portText)
    const min = opts.allowPort0 === true ? 0 : 1
    if (port < min || port > 65535) return { error: `port ${port} is out of range (${min}–65535)` }
    return { address: { kind: 'tcp', host, port } }
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)
  if (scheme !== null) return { error: `unsupported scheme "${scheme[1] ?? ''}://"; use unix:///path.sock or tcp://HOST:PORT` }
  if (text.startsWith('/')) return { error: `write unix://${text}` }
  if (/^[^/]+:[0-9]+$/.test(text)) return { error: `write tcp://${text}` }
  return { error: 'expected unix:///path.sock or tcp://HOST:PORT' }
}

/** True for addresses only this host can reach. */
export function isLoopback(a: Address): boolean {
  if (a.kind === 'unix') return true
  const h = a.host.toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h)
}

// ---------------------------------------------------------------------------------------------
// The config file

const ownerSchema = { type: ['string', 'integer'], minLength: 1, minimum: 0, maximum: 4294967294 }

/** The config file schema: additionalProperties false everywhere. */
export const configSchema: Readonly<Record<string, unknown>> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    upstream: { type: 'string', minLength: 1 },
    admin: { type: 'string', minLength: 1 },
    log_level: { type: 'string', minLength: 1 },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        body_bytes: { type: 'integer', minimum: 1, maximum: LIMIT_MAX.bodyBytes },
        body_timeout_ms: { type: 'integer', minimum: 1, maximum: LIMIT_MAX.bodyTimeoutMs },
        body_budget_bytes: { type: 'integer', minimum: 1, maximum: LIMIT_MAX.bodyBudgetBytes },
        lookup_timeout_ms: { type: 'integer', minimum: 1, maximum: LIMIT_MAX.lookupTimeoutMs },
        response_bytes: { type: 'integer', minimum: 1, maximum: LIMIT_MAX.responseBytes },
      },
    },
    listeners: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['listen'],
        properties: {
          listen: { type: 'string', minLength: 1 },
          policy: { type: 'string', minLength: 1 },
          mode: { type: ['string', 'integer'] },
          socket_mode: { type: ['string', 'integer'] },
          owner: ownerSchema,
          group: ownerSchema,
          ...listenerIdentitySchema,
        },
      },
    },
  },
}

let configValidator: ValidateFunction | undefined
/** Compiled at first use: only a configuration file needs it (ajv's validators cost RSS at start). */
const validateConfig = (): ValidateFunction => (configValidator ??= createAjv().compile(configSchema))

/** Where a value came from: a flag or variable (`--listen: …`) or a place in the config file. */
interface Where {
  problem(message: string): Problem
  /** `--listen`, `DOCKGATE_LISTEN`, `config.yaml:7:13 (listeners[1].listen)`. */
  readonly label: string
}

const fromSetting = (s: Setting): Where => ({ problem: (message) => ({ message: `${s.origin}: ${message}` }), label: s.origin })
const fromFile = (yaml: YamlFile, path: JsonPath): Where => {
  const { line, col } = yaml.locate(path)
  return { problem: (message) => yaml.problem(path, message), label: `${yaml.file}:${line}:${col}` }
}
const fromDefault = (what: string): Where => ({ problem: (message) => ({ message: `default ${what}: ${message}` }), label: `the default ${what}` })

/** A value and where it came from. */
interface Sourced<T> {
  readonly value: T
  readonly where: Where
}

// ---------------------------------------------------------------------------------------------
// loadConfig

/** What one loadConfig call has found so far. */
interface Run {
  readonly cwd: string
  readonly opts: LoadConfigOptions
  readonly problems: Problem[]
  readonly warnings: Problem[]
  /** User and group names asked of NSS so far (nss.ts), each once per load. */
  readonly ids: Map<string, IdLookup>
}

/** The config file, or an empty one when none was given. */
interface ConfigFile {
  readonly path?: string
  readonly yaml?: YamlFile
  readonly data: Readonly<Record<string, unknown>>
}

interface PolicyChoice {
  readonly ref: string
  readonly baseDir: string
  readonly origin: RefOrigin
  /** Already compiled (derived from Tecnativa-style variables); `ref` is then only its name. */
  readonly compiled?: CompiledPolicy
}

/** A listener before its values are checked: each value with where it came from. */
interface Draft {
  readonly listen: Sourced<unknown>
  readonly policy: PolicyChoice
  /** The unix socket's file mode: `socket_mode:`, or a `mode:` that is not a decision mode. */
  readonly mode?: Sourced<unknown>
  /** Which key `mode` came from, for its problems. */
  readonly modeKey?: 'mode' | 'socket_mode'
  /** `mode: audit` or `mode: enforce`. */
  readonly decision?: Sourced<DecisionMode>
  readonly owner?: Sourced<unknown>
  readonly group?: Sourced<unknown>
  /** The listener's own `tls:`, `tenant:` and `clients:` (config file only). */
  readonly tls?: TlsDraft
  readonly tenant?: Sourced<unknown>
  readonly clients?: { readonly raw: unknown; readonly yaml: YamlFile; readonly at: JsonPath }
}

/** TLS files before they are read: from a listener's `tls:` or from --tls-cert/--tls-key/--tls-ca. */
interface TlsDraft {
  readonly cert: TlsFileRef
  readonly key: TlsFileRef
  readonly ca?: TlsFileRef
  /** Where the whole setting is, for problems about TLS on a unix socket. */
  readonly where: Where
  /** Same draft for every listener it serves: load once. */
  loaded?: { tls?: TlsMaterial }
}

/**
 * Everything dockgate needs to start, or `{help}` / `{version}`. Throws ConfigError listing every
 * problem found in flags, variables, the config file and every policy it names.
 */
export function loadConfig(
  argv: readonly string[], env: NodeJS.ProcessEnv, opts: LoadConfigOptions = {},
): Config | { help: string } | { version: string } {
  const args = parseArgs(argv)
  if (args.help) return { help: usage() }
  if (args.version) return { version: packageVersion() }
  const envs = readEnv(env)
  const run: Run = { cwd: opts.cwd ?? process.cwd(), opts, problems: [...args.problems, ...envs.problems], warnings: [], ids: new Map() }
  for (const word of args.positionals) run.problems.push({ message: `unexpected argument ${JSON.stringify(word)} (dockgate takes only options; see --help)` })
  const pick = (k: Exclude<SettingKey, 'listen'>): Setting | undefined => args.settings[k] ?? envs.settings[k]
  const file = readConfigFile(run, pick('config'))
  // Tecnativa/LinuxServer variables: LOG_LEVEL and SOCKET_PATH rank below their DOCKGATE_ names;
  // the permission variables make the default policy when no policy is chosen otherwise.
  const compat = readCompatEnv(env, { policyChosen: pick('policy') !== undefined || pick('config') !== undefined })
  run.problems.push(...compat.problems)
  run.warnings.push(...compat.warnings)
  const compatSetting = (k: Exclude<SettingKey, 'listen'>): Setting | undefined => (k === 'logLevel' ? compat.logLevel : k === 'upstream' ? compat.upstream : undefined)
  const layered = (k: Exclude<SettingKey, 'listen'>, fileKey: string): Sourced<unknown> | undefined =>
    fromSettingValue(pick(k)) ?? fromSettingValue(compatSetting(k)) ?? fileEntry(file, fileKey)

  const upstream = checkAddress(run, layered('upstream', 'upstream') ?? { value: DEFAULTS.upstream, where: fromDefault('upstream') }, false)
  const adminSrc = layered('admin', 'admin')
  const admin = adminSrc === undefined ? undefined : checkAddress(run, adminSrc, true)
  if (admin !== undefined && adminSrc !== undefined) {
    if (!isLoopback(admin)) run.warnings.push(adminSrc.where.problem(`${formatAddress(admin)} serves metrics and health to the network; bind it to 127.0.0.1 unless that is intended`))
    if (upstream !== undefined && formatAddress(admin) === formatAddress(upstream)) run.problems.push(adminSrc.where.problem(`${formatAddress(admin)} is the upstream engine's address`))
  }
  const logLevel = checkLogLevel(run, layered('logLevel', 'log_level'))
  const fallback = readListEnv(env, DEFAULT_LISTEN_ENV, run.problems)
  const listenSettings = args.settings.listen ?? envs.settings.listen
  const drafts = applySocketSettings(run, draftListeners(run, file, listenSettings, pick('policy'), compat.policy, fallback), {
    mode: pick('socketMode'),
    owner: pick('socketOwner'),
    group: pick('socketGroup'),
  })
  const flagTls = draftFlagTls(run, drafts, pick('tlsCert'), pick('tlsKey'), pick('tlsCa'))
  const listeners = checkListeners(run, drafts, { upstream, admin, flagTls, auditOnly: checkAuditOnly(run, pick('auditOnly')) })

  const problems = tidyProblems(run.problems)
  if (problems.length > 0 || upstream === undefined) throw new ConfigError(problems)
  return deepFreeze({
    upstream,
    ...(admin === undefined ? {} : { admin }),
    logLevel,
    limits: readLimits(file),
    listeners,
    warnings: tidyProblems(run.warnings).map(formatProblem),
    ...(file.path === undefined ? {} : { configFile: file.path }),
  })
}

function fromSettingValue(s: Setting | undefined): Sourced<unknown> | undefined {
  return s === undefined ? undefined : { value: s.value, where: fromSetting(s) }
}

function fileEntry(file: ConfigFile, key: string): Sourced<unknown> | undefined {
  return file.yaml !== undefined && key in file.data ? { value: file.data[key], where: fromFile(file.yaml, [key]) } : undefined
}

function readConfigFile(run: Run, setting: Setting | undefined): ConfigFile {
  if (setting === undefined) return { data: {} }
  const path = resolve(run.cwd, setting.value)
  const read = readText(path)
  if ('error' in read) {
    run.problems.push(fromSetting(setting).problem(`cannot read ${JSON.stringify(setting.value)}: ${read.error}`))
    return { path, data: {} }
  }
  const { yaml, problems } = parseYaml(read.text, displayPath(path, run.cwd))
  run.problems.push(...problems)
  if (problems.length > 0) return { path, data: {} }
  // A file with only comments is an empty mapping: all defaults.
  if (yaml.value === null || yaml.value === undefined) return { path, yaml, data: {} }
  run.problems.push(...schemaProblems(validateConfig(), yaml))
  const data = typeof yaml.value === 'object' && !Array.isArray(yaml.value) ? (yaml.value as Record<string, unknown>) : {}
  return { path, yaml, data }
}

function checkAddress(run: Run, s: Sourced<unknown>, listening: boolean): Address | undefined {
  if (typeof s.value !== 'string') return undefined // the schema reported it
  const r = parseAddress(s.value, { allowPort0: listening })
  if ('error' in r) {
    run.problems.push(s.where.problem(`${r.error} (got ${JSON.stringify(s.value)})`))
    return undefined
  }
  return r.address
}

function checkLogLevel(run: Run, s: Sourced<unknown> | undefined): LogLevel {
  if (s === undefined || typeof s.value !== 'string') return DEFAULTS.logLevel
  const text = s.value
  const level = LOG_LEVELS.find((l) => l === text)
  if (level !== undefined) return level
  run.problems.push(s.where.problem(`unknown log level ${JSON.stringify(text)}${didYouMean(text, LOG_LEVELS)}; use ${LOG_LEVELS.join(', ')}`))
  return DEFAULTS.logLevel
}

function readLimits(file: ConfigFile): Config['limits'] {
  const raw = (typeof file.data['limits'] === 'object' && file.data['limits'] !== null ? file.data['limits'] : {}) as Record<string, unknown>
  return {
    bodyBytes: typeof raw['body_bytes'] === 'number' ? raw['body_bytes'] : DEFAULTS.bodyBytes,
    bodyTimeoutMs: typeof raw['body_timeout_ms'] === 'number' ? raw['body_timeout_ms'] : DEFAULTS.bodyTimeoutMs,
    bodyBudgetBytes: typeof raw['body_budget_bytes'] === 'number' ? raw['body_budget_bytes'] : DEFAULTS.bodyBudgetBytes,
    lookupTimeoutMs: typeof raw['lookup_timeout_ms'] === 'number' ? raw['lookup_timeout_ms'] : DEFAULTS.lookupTimeoutMs,
    responseBytes: typeof raw['response_bytes'] === 'number' ? raw['response_bytes'] : DEFAULTS.responseBytes,
  }
}

/**
 * `--listen` / DOCKGATE_LISTEN replace the file's listeners; the file's listeners come next; the
 * default listener last. `--policy` / DOCKGATE_POLICY serve every listener that names no policy.
 */
function draftListeners(
  run: Run, file: ConfigFile, listen: readonly Setting[] | undefined, policySetting: Setting | undefined, fromVariables: CompiledPolicy | undefined,
  fallback: readonly Setting[] | undefined,
): Draft[] {
  const defaultPolicy: PolicyChoice = policySetting !== undefined
    ? { ref: policySetting.value, baseDir: run.cwd, origin: (m) => fromSetting(policySetting).problem(m) }
    : fromVariables !== undefined
      ? { ref: fromVariables.name, baseDir: run.cwd, origin: (m) => ({ message: m }), compiled: fromVariables }
      : { ref: DEFAULTS.policy, baseDir: run.cwd, origin: (m) => fromDefault('policy').problem(m) }
  if (listen !== undefined) return listen.map((s) => ({ listen: { value: s.value, where: fromSetting(s) }, policy: defaultPolicy }))
  const list = file.data['listeners']
  const yaml = file.yaml
  if (!Array.isArray(list) || yaml === undefined) {
    if (fallback !== undefined) return fallback.map((s) => ({ listen: { value: s.value, where: fromSetting(s) }, policy: defaultPolicy }))
    return [{ listen: { value: DEFAULTS.listen, where: fromDefault('listen') }, policy: defaultPolicy }]
  }
  const configDir = dirname(file.path ?? run.cwd)
  const drafts: Draft[] = []
  list.forEach((raw: unknown, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return // the schema reported it
    const l = raw as Record<string, unknown>
    const at = (key: string): Sourced<unknown> | undefined => (key in l ? { value: l[key], where: fromFile(yaml, ['listeners', i, key]) } : undefined)
    const ref = l['policy']
    const [owner, group, tenant] = [at('owner'), at('group'), at('tenant')]
    const { mode, modeKey, decision } = splitModes(run, at('mode'), at('socket_mode'))
    const tls = fileTls(yaml, ['listeners', i, 'tls'], l['tls'], configDir)
    drafts.push({
      listen: at('listen') ?? { value: undefined, where: fromFile(yaml, ['listeners', i]) },
      policy: typeof ref === 'string' ? { ref, baseDir: configDir, origin: (m) => yaml.problem(['listeners', i, 'policy'], m) } : defaultPolicy,
      ...(mode === undefined ? {} : { mode, modeKey }),
      ...(decision === undefined ? {} : { decision }),
      ...(owner === undefined ? {} : { owner }),
      ...(group === undefined ? {} : { group }),
      ...(tls === undefined ? {} : { tls }),
      ...(tenant === undefined ? {} : { tenant }),
      ...('clients' in l ? { clients: { raw: l['clients'], yaml, at: ['listeners', i] } } : {}),
    })
  })
  if (policySetting !== undefined && drafts.length > 0 && drafts.every((d) => d.policy !== defaultPolicy)) {
    run.warnings.push(fromSetting(policySetting).problem('is not used: every listener in the config file names its own policy'))
  }
  return drafts
}

/** A listener's `mode:` (a decision mode, or its socket file mode as before) and `socket_mode:`. */
function splitModes(run: Run, mode: Sourced<unknown> | undefined, socketMode: Sourced<unknown> | undefined): Pick<Draft, 'mode' | 'modeKey' | 'decision'> {
  const decision = mode === undefined ? undefined : decisionMode(mode.value)
  if (mode !== undefined && decision === undefined) {
    if (socketMode !== undefined) {
      run.problems.push(mode.where.problem(`both mode and socket_mode set the socket file mode; write mode: audit or enforce (the decision mode) and the file mode as socket_mode`))
    }
    return { mode, modeKey: 'mode' }
  }
  return {
    ...(socketMode === undefined ? {} : { mode: socketMode, modeKey: 'socket_mode' as const }),
    ...(decision === undefined || mode === undefined ? {} : { decision: { value: decision, where: mode.where } }),
  }
}

/** `--audit-only` / DOCKGATE_AUDIT_ONLY: for every listener, over the config file's `mode:`. */
function checkAuditOnly(run: Run, s: Setting | undefined): boolean | undefined {
  if (s === undefined) return undefined
  const on = parseSwitch(s.value)
  if (on === undefined) run.problems.push(fromSetting(s).problem(`must be 1, true, 0 or false (got ${JSON.stringify(s.value)})`))
  return on
}

/**
 * `--socket-mode|owner|group` / DOCKGATE_SOCKET_*: for every unix listener that does not set its
 * own in the config file (as `--policy` serves the listeners that name no policy).
 */
function applySocketSettings(run: Run, drafts: readonly Draft[], settings: Readonly<Record<'mode' | 'owner' | 'group', Setting | undefined>>): Draft[] {
  const unix = (d: Draft): boolean => typeof d.listen.value === 'string' && d.listen.value.startsWith('unix://')
  for (const s of Object.values(settings)) {
    if (s !== undefined && !drafts.some(unix)) run.warnings.push(fromSetting(s).problem('is not used: no listener is a unix socket'))
  }
  return drafts.map((d) => {
    if (!unix(d)) return d
    const out: { -readonly [K in keyof Draft]: Draft[K] } = { ...d }
    for (const key of ['mode', 'owner', 'group'] as const) {
      const s = settings[key]
      if (out[key] === undefined && s !== undefined) out[key] = { value: s.value, where: fromSetting(s) }
    }
    return out
  })
}

/** Checks each listener, loads its policies (each file once), and checks them against each other. */
function checkListeners(
  run: Run, drafts: readonly Draft[], others: { upstream: Address | undefined; admin: Address | undefined; flagTls: TlsDraft | undefined; auditOnly: boolean | undefined },
): ListenerConfig[] {
  const loader = new PolicyLoader({ cwd: run.cwd })
  const listeners: ListenerConfig[] = []
  const addresses = new Map<string, string>()
  const policyNames = new Map<string, string>()
  /** Loads a policy; its name must not be another file's (names label logs and metrics). */
  const loadPolicy = (ref: string, baseDir: string, origin: RefOrigin): CompiledPolicy | undefined => {
    const { policy, problems, warnings } = loader.load(ref, { baseDir, origin })
    run.problems.push(...problems)
    run.warnings.push(...warnings)
    if (policy === undefined) return undefined
    const other = policyNames.get(policy.name)
    if (other !== undefined && other !== policy.source) {
      run.problems.push(origin(`policy name ${JSON.stringify(policy.name)} is also the name of ${displayPath(other, run.cwd)}; names label logs and metrics, so they must differ (set "name:" in one of them)`))
      return undefined
    }
    policyNames.set(policy.name, policy.source)
    return policy
  }
  for (const d of drafts) {
    const address = checkAddress(run, d.listen, true)
    // A policy derived from Tecnativa-style variables comes compiled (compat/tecnativa.ts).
    const policy = d.policy.compiled ?? loadPolicy(d.policy.ref, d.policy.baseDir, d.policy.origin)
    const socket = checkSocketOptions(run, d, address)
    const tlsDraft = d.tls ?? (address?.kind === 'tcp' ? others.flagTls : undefined)
    if (d.tls !== undefined && address?.kind === 'unix') run.problems.push(d.tls.where.problem(`applies to tcp:// listeners only, not to ${formatAddress(address)} (a unix socket is protected by its file mode)`))
    const tls = tlsDraft === undefined || address?.kind !== 'tcp' ? undefined : loadTlsOnce(run, tlsDraft)
    const tenant = checkTenant(run, d.tenant)
    const clients = d.clients === undefined ? [] : checkClients(d.clients.raw, {
      yaml: d.clients.yaml, at: d.clients.at, address, tls: tlsDraft !== undefined && address?.kind !== 'unix', clientCa: tlsDraft?.ca !== undefined,
      loadPolicy: (ref, origin) => loadPolicy(ref, d.policy.baseDir, origin),
      lookup: (kind, value) => lookupId(kind, value, run.opts.nss, run.ids),
      problems: run.problems, warnings: run.warnings,
    })
    if (address === undefined) continue
    const key = formatAddress(address)
    const first = addresses.get(key)
    const anyPort = address.kind === 'tcp' && address.port === 0
    if (first !== undefined && !anyPort) run.problems.push(d.listen.where.problem(`${key} is already the address of another listener (${first})`))
    else addresses.set(key, d.listen.where.label)
    if (others.upstream !== undefined && key === formatAddress(others.upstream)) run.problems.push(d.listen.where.problem(`${key} is the upstream engine's address; dockgate would forward to itself`))
    if (others.admin !== undefined && key === formatAddress(others.admin)) run.problems.push(d.listen.where.problem(`${key} is also the admin address`))
    const policies = [policy?.name ?? d.policy.ref, ...clients.map((c) => c.policy.name)].map((n) => JSON.stringify(n))
    const allows = `what ${policies.length > 1 ? `policies ${[...new Set(policies)].join(', ')}` : `policy ${policies[0] ?? ''}`} allow${policies.length > 1 ? '' : 's'}`
    if (!isLoopback(address) && tlsDraft === undefined) {
      run.warnings.push(d.listen.where.problem(`${key} is reachable from the network without TLS: anyone who can connect gets ${allows}`))
    } else if (!isLoopback(address) && tlsDraft !== undefined && tlsDraft.ca === undefined) {
      run.warnings.push(d.listen.where.problem(`${key} serves TLS without a client CA (tls.ca or --tls-ca): anyone who can connect gets ${allows}`))
    }
    if (policy === undefined) continue
    if (tenant !== undefined && policy.unguarded && d.tenant !== undefined) run.problems.push(d.tenant.where.problem(unguardedTenant(policy.name)))
    const auditOnly = others.auditOnly ?? d.decision?.value === 'audit'
    listeners.push({ address, policy, ...socket, ...(tls === undefined ? {} : { tls }), ...(tenant === undefined ? {} : { tenant }), clients, auditOnly })
  }
  return listeners
}

function loadTlsOnce(run: Run, d: TlsDraft): TlsMaterial | undefined {
  if (d.loaded === undefined) {
    const { tls, problems, warnings } = loadTls(d)
    run.problems.push(...problems)
    run.warnings.push(...warnings)
    d.loaded = tls === undefined ? {} : { tls }
  }
  return d.loaded.tls
}

function checkTenant(run: Run, s: Sourced<unknown> | undefined): string | undefined {
  if (s === undefined || typeof s.value !== 'string') return undefined // the schema reported it
  const error = tenantProblem(s.value)
  if (error !== undefined) run.problems.push(s.where.problem(error))
  return error === undefined ? s.value : undefined
}

/** A listener's `tls: { cert, key, ca }`, paths relative to the config file. */
function fileTls(yaml: YamlFile, path: JsonPath, raw: unknown, dir: string): TlsDraft | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined // absent, or the schema reported it
  const t = raw as Record<string, unknown>
  const ref = (k: string): TlsFileRef | undefined => {
    const v = t[k]
    return typeof v === 'string' ? { shown: v, abs: resolve(dir, v), problem: (m) => yaml.problem([...path, k], m) } : undefined
  }
  const [cert, key, ca] = [ref('cert'), ref('key'), ref('ca')]
  if (cert === undefined || key === undefined) return undefined // the schema reported it
  return { cert, key, ...(ca === undefined ? {} : { ca }), where: fromFile(yaml, path) }
}

/**
 * --tls-cert/--tls-key/--tls-ca (or DOCKGATE_TLS_*): TLS for every tcp:// listener that has no
 * `tls:` of its own, as --policy serves listeners that name none. Paths relative to cwd.
 */
function draftFlagTls(run: Run, drafts: readonly Draft[], cert: Setting | undefined, key: Setting | undefined, ca: Setting | undefined): TlsDraft | undefined {
  const given = [cert, key, ca].filter((s): s is Setting => s !== undefined)
  if (given.length === 0) return undefined
  const name = (k: 'tlsCert' | 'tlsKey'): string => FLAGS.filter((f) => f.key === k).map((f) => (given[0]!.origin.startsWith('DOCKGATE_') ? f.env : f.flag)).join('')
  const missing = [cert === undefined ? name('tlsCert') : undefined, key === undefined ? name('tlsKey') : undefined].filter((f) => f !== undefined)
  if (missing.length > 0) {
    run.problems.push(fromSetting(given[0]!).problem(`needs ${missing.join(' and ')} as well (a TLS listener needs a certificate and its key)`))
    return undefined
  }
  const tcp = drafts.filter((d) => typeof d.listen.value === 'string' && d.listen.value.startsWith('tcp://'))
  if (tcp.length === 0) {
    run.problems.push(fromSetting(given[0]!).problem('applies to tcp:// listeners, and every listener here is a unix socket (protected by its file mode, not TLS)'))
    return undefined
  }
  if (tcp.every((d) => d.tls !== undefined)) run.warnings.push(fromSetting(given[0]!).problem('is not used: every tcp:// listener in the config file has its own tls:'))
  const ref = (s: Setting): TlsFileRef => ({ shown: s.value, abs: resolve(run.cwd, s.value), problem: (m) => fromSetting(s).problem(m) })
  return { cert: ref(cert!), key: ref(key!), ...(ca === undefined ? {} : { ca: ref(ca) }), where: fromSetting(given[0]!) }
}

/** mode, owner and group: unix sockets only; names resolved through NSS (getent: nss.ts). */
function checkSocketOptions(run: Run, d: Draft, address: Address | undefined): { mode: number; uid?: number; gid?: number } {
  const out: { mode: number; uid?: number; gid?: number } = { mode: DEFAULTS.socketMode }
  if (address?.kind === 'tcp') {
    for (const opt of [d.mode, d.owner, d.group]) {
      if (opt !== undefined) run.problems.push(opt.where.problem(`applies to unix sockets only, not to ${formatAddress(address)}`))
    }
  }
  if (d.mode !== undefined) {
    const r = parseSocketMode(d.mode.value, d.modeKey ?? 'flag')
    if ('error' in r) run.problems.push(d.mode.where.problem(r.error))
    else {
      out.mode = r.mode
      if ((r.mode & 0o007) !== 0) run.warnings.push(d.mode.where.problem(`mode ${formatMode(r.mode)} lets every local user connect to this socket`))
    }
  }
  for (const [kind, opt] of [['user', d.owner], ['group', d.group]] as const) {
    if (opt === undefined || (typeof opt.value !== 'string' && typeof opt.value !== 'number')) continue // the schema reported it
    const r = lookupId(kind, opt.value, run.opts.nss, run.ids)
    if ('error' in r) run.problems.push(opt.where.problem(r.error))
    else if (kind === 'user') out.uid = r.id
    else out.gid = r.id
  }
  return out
}

function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`
}

function displayPath(abs: string, cwd: string): string {
  return abs.startsWith(`${cwd}/`) ? abs.slice(cwd.length + 1) : abs
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }
  return `dockgate ${String(pkg.version)}`
}

// ---------------------------------------------------------------------------------------------
// Usage

/** The text `dockgate --help` prints: flags with their variables and defaults, and the presets found in policies/. */
export function usage(): string {
  const defaults: Partial<Record<string, string>> = { listen: DEFAULTS.listen, upstream: DEFAULTS.upstream, policy: DEFAULTS.policy, logLevel: DEFAULTS.logLevel }
  const rows: Array<readonly [string, string]> = FLAGS.map((f) => {
    const d = defaults[f.key]
    return [`  ${f.flag}${f.metavar === '' ? '' : ` ${f.metavar}`}`, `${f.help}${d === undefined ? '' : ` (default ${d})`}; env ${f.env}`]
  })
  rows.push(['  -h, --help', 'print this help'], ['  --version', 'print the version'])
  const width = Math.max(...rows.map(([a]) => a.length)) + 2
  const presets = listPresets().map((name) => {
    const read = readText(presetPath(name))
    const value = 'text' in read ? parseYaml(read.text, name).yaml.value : undefined
    const description = value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>)['description'] === 'string'
      ? String((value as Record<string, unknown>)['description'])
      : ''
    return [`  ${name}`, description] as const
  })
  const pwidth = Math.max(0, ...presets.map(([a]) => a.length)) + 2
  return [
    'Usage: dockgate [options]',
    '',
    'A security proxy for the Docker Engine API: a Docker socket that allows only what a policy allows.',
    '',
    'Options:',
    ...rows.map(([a, b]) => `${a.padEnd(width)}${b}`),
    '',
    'ADDR is unix:///absolute/path.sock or tcp://HOST:PORT (IPv6: tcp://[::1]:2375).',
    'Precedence: options, then environment variables, then the config file, then defaults.',
    `Other variables: ${Object.entries(OTHER_ENV).map(([k, v]) => `${k} (${v})`).join('; ')}.`,
    'With no policy chosen (no --policy, --config, DOCKGATE_POLICY, DOCKGATE_CONFIG), the variables of Tecnativa\'s',
    'docker-socket-proxy (CONTAINERS=1, POST=0, …; see README) make the policy; LOG_LEVEL and SOCKET_PATH are read too.',
    '',
    'Presets (--policy NAME, or "extends: [NAME]" in a policy file):',
    ...presets.map(([a, b]) => `${a.padEnd(pwidth)}${b}`),
    '',
    'Commands:',
    '  dockgate check [--policy NAME|FILE | --config FILE [--listener ADDR] [--client NAME]] METHOD TARGET [--body FILE|-]',
    '      would this request be allowed, and by which rule or guard? (exit 0 allowed, 1 refused; see dockgate check --help)',
    '  dockgate healthcheck [options]',
    '      does the engine answer, and does each listener answer GET /_ping? (exit 0 healthy, 1 not)',
    '  dockgate learn LOG... [--listener ADDR] [--client KEY=VALUE]',
    '      the smallest policy that lets the requests of these audit records through (- reads stdin)',
    '',
  ].join('\n')
}
