/**
 * Command-line flags and DOCKGATE_* environment variables → raw settings, each remembering where
 * it came from (`--listen`, `DOCKGATE_LISTEN`) so that config.ts can word its problems.
 * Nothing here interprets a value; config.ts validates them all.
 *
 * The flag table is data: usage text, parsing and the environment variable names all come from it.
 */
import { parseArgs as parseArgsUtil, type ParseArgsConfig } from 'node:util'
import { didYouMean, suggest, type Problem } from './problems.js'

/** Settings that both a flag and an environment variable can give. */
export type SettingKey =
  | 'config' | 'listen' | 'upstream' | 'policy' | 'admin' | 'logLevel' | 'tlsCert' | 'tlsKey' | 'tlsCa'
  | 'socketMode' | 'socketOwner' | 'socketGroup' | 'auditOnly'

export interface FlagSpec {
  readonly key: SettingKey
  readonly flag: `--${string}`
  readonly env: `DOCKGATE_${string}`
  readonly metavar: string
  /** `--listen` may be given several times; its variable is comma-separated. */
  readonly repeatable: boolean
  /** Takes no value (`--audit-only`); its variable is 1/true/0/false, read by config.ts. */
  readonly boolean?: true
  readonly help: string
}

export const FLAGS: readonly FlagSpec[] = [
  { key: 'config', flag: '--config', env: 'DOCKGATE_CONFIG', metavar: 'FILE', repeatable: false, help: 'YAML config file: listeners with their own policies, socket modes, limits' },
  { key: 'listen', flag: '--listen', env: 'DOCKGATE_LISTEN', metavar: 'ADDR', repeatable: true, help: 'serve the Docker API here; repeatable (the variable: comma-separated); replaces the config file\'s listeners' },
  { key: 'upstream', flag: '--upstream', env: 'DOCKGATE_UPSTREAM', metavar: 'ADDR', repeatable: false, help: 'the Docker engine to forward to' },
  { key: 'policy', flag: '--policy', env: 'DOCKGATE_POLICY', metavar: 'NAME|FILE', repeatable: false, help: 'policy for listeners that do not name one: a preset name or a YAML file' },
  { key: 'admin', flag: '--admin', env: 'DOCKGATE_ADMIN', metavar: 'ADDR', repeatable: false, help: 'serve /metrics, /healthz and /readyz on this address (off by default)' },
  { key: 'logLevel', flag: '--log-level', env: 'DOCKGATE_LOG_LEVEL', metavar: 'LEVEL', repeatable: false, help: 'fatal, error, warn, info, debug, trace or silent' },
  { key: 'tlsCert', flag: '--tls-cert', env: 'DOCKGATE_TLS_CERT', metavar: 'FILE', repeatable: false, help: 'serve tcp:// listeners over TLS with this PEM certificate (chain); needs --tls-key' },
  { key: 'tlsKey', flag: '--tls-key', env: 'DOCKGATE_TLS_KEY', metavar: 'FILE', repeatable: false, help: 'the PEM private key of --tls-cert' },
  { key: 'tlsCa', flag: '--tls-ca', env: 'DOCKGATE_TLS_CA', metavar: 'FILE', repeatable: false, help: 'mutual TLS: only clients with a certificate signed by these PEM CAs may connect' },
  { key: 'auditOnly', flag: '--audit-only', env: 'DOCKGATE_AUDIT_ONLY', metavar: '', repeatable: false, boolean: true, help: 'every listener decides as usual, and what its policy would refuse is forwarded and recorded as would-deny instead (variable: 1/true/0/false)' },
  { key: 'socketMode', flag: '--socket-mode', env: 'DOCKGATE_SOCKET_MODE', metavar: 'MODE', repeatable: false, help: 'file mode of the unix sockets that set none in the config file, like 0660' },
  { key: 'socketOwner', flag: '--socket-owner', env: 'DOCKGATE_SOCKET_OWNER', metavar: 'USER', repeatable: false, help: 'owner (name or uid) of the unix sockets that set none in the config file' },
  { key: 'socketGroup', flag: '--socket-group', env: 'DOCKGATE_SOCKET_GROUP', metavar: 'GROUP', repeatable: false, help: 'group (name or gid) of the unix sockets that set none in the config file' },
]

/** Other DOCKGATE_* variables dockgate reads (outside the config), so they are not taken for typos. */
export const OTHER_ENV: Readonly<Record<string, string>> = {
  DOCKGATE_DEBUG: 'print the stack trace of an internal error',
  DOCKGATE_DEFAULT_LISTEN: 'where to listen when no option, DOCKGATE_LISTEN or config file names a listener (the image sets tcp://0.0.0.0:2375)',
}

/** The variable that replaces the built-in default listener (read by config.ts). */
export const DEFAULT_LISTEN_ENV = 'DOCKGATE_DEFAULT_LISTEN'

/** One raw value and where it came from. */
export interface Setting {
  readonly value: string
  /** `--listen` or `DOCKGATE_LISTEN`: how problems name it. */
  readonly origin: string
}

export type Settings = { readonly [K in SettingKey]?: K extends 'listen' ? readonly Setting[] : Setting }

export interface ParsedArgs {
  readonly help: boolean
  readonly version: boolean
  readonly settings: Settings
  /** Words that are not flags: room for subcommands (`dockgate check …`). */
  readonly positionals: readonly string[]
  readonly problems: readonly Problem[]
}

/** Flags that take no value and set no setting. */
const COMMAND_FLAGS = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const

/** node:util parseArgs options, from FLAGS. */
const OPTIONS: ParseArgsConfig['options'] = {
  ...COMMAND_FLAGS,
  ...Object.fromEntries(FLAGS.map((f) => [f.flag.slice(2), { type: f.boolean === true ? 'boolean' : 'string', multiple: f.repeatable }])),
}

const KNOWN_FLAGS: readonly string[] = [...FLAGS.map((f) => f.flag), ...Object.keys(COMMAND_FLAGS).map((k) => `--${k}`)]

/**
 * Parses argv (without `node` and the script). `--flag value` and `--flag=value`; `--` ends the flags.
 *
 * The splitting is node:util's parseArgs (the platform's own, with the POSIX/GNU conventions).
 * It runs non-strict, and the checks are made on its tokens here: strict mode throws at the
 * first problem with a message that cannot suggest the flag that was meant, and dockgate reports
 * every problem at once (`--lisen: unknown option (did you mean --listen?)`).
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const problems: Problem[] = []
  const settings: Record<string, Setting | Setting[]> = {}
  const positionals: string[] = []
  let help = false
  let version = false
  let from = 0
  parsing: while (from < argv.length) {
    const args = argv.slice(from)
    const { tokens } = parseArgsUtil({ args: [...args], options: OPTIONS, strict: false, allowPositionals: true, tokens: true })
    /** Index (in `args`) of a word taken as the value of an unknown option: not a positional. */
    let swallowed = -1
    let groupIndex = -1
    for (const token of tokens) {
      if (token.kind === 'option-terminator') continue
      if (token.kind === 'positional') {
        if (token.index !== swallowed) positionals.push(token.value)
        continue
      }
      const raw = args[token.index] ?? ''
      // `-listen`: node reads it as the short options -l -i -s…; it is one mistyped long option.
      if (!raw.startsWith('--') && raw !== '-h') {
        if (token.index === groupIndex) continue
        groupIndex = token.index
        const name = raw.split('=')[0] ?? raw
        problems.push({ message: `${name}: unknown option${didYouMean(name, KNOWN_FLAGS)}` })
        if (!raw.includes('=') && isValue(args[token.index + 1])) swallowed = token.index + 1
        continue
      }
      const name = token.rawName
      if (token.name === 'help' || token.name === 'version') {
        if (token.value !== undefined) problems.push({ message: `${name}: takes no value` })
        if (token.name === 'help') help = true
        else version = true
        continue
      }
      const spec = FLAGS.find((f) => f.flag === name)
      if (spec === undefined) {
        problems.push({ message: `${name}: unknown option${didYouMean(name, KNOWN_FLAGS)}` })
        // `--lisen x`: take x as its value rather than report it as a stray argument too.
        if (token.inlineValue !== true && isValue(args[token.index + 1])) swallowed = token.index + 1
        continue
      }
      let value: string
      if (spec.boolean === true) {
        if (token.value !== undefined) {
          problems.push({ message: `${name}: takes no value` })
          continue
        }
        value = 'true'
      } else if (token.value === undefined) {
        problems.push({ message: `${name}: needs a value (${spec.metavar})` })
        continue
      } else if (token.inlineValue !== true && !isValue(token.value)) {
        // `--policy --listen x`: node took the next flag as the value. Say so, and read on from that flag.
        problems.push({ message: `${name}: needs a value (${spec.metavar})` })
        from += token.index + 1
        continue parsing
      } else {
        value = token.value
      }
      const setting: Setting = { value, origin: name }
      if (spec.repeatable) {
        const list = (settings[spec.key] ??= []) as Setting[]
        list.push(setting)
      } else if (settings[spec.key] !== undefined) {
        problems.push({ message: `${name}: given more than once` })
      } else {
        settings[spec.key] = setting
      }
    }
    break
  }
  return { help, version, settings: settings as Settings, positionals, problems }
}

/** A word that can be a flag's value: not another flag (`-` alone is a value: standard input). */
function isValue(word: string | undefined): word is string {
  return word !== undefined && (!word.startsWith('-') || word === '-')
}

/**
 * Reads the DOCKGATE_* variables. An empty value is a problem, not "unset" (never fall back
 * silently). An unknown DOCKGATE_* name close to a known one is taken for a typo and is a
 * problem; names far from all of them (other tools' variables) are left alone.
 */
export function readEnv(env: NodeJS.ProcessEnv): { settings: Settings; problems: Problem[] } {
  const problems: Problem[] = []
  const settings: Record<string, Setting | Setting[]> = {}
  const known = [...FLAGS.map((f) => f.env), ...Object.keys(OTHER_ENV)]
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('DOCKGATE_') || known.includes(name)) continue
    if (suggest(name, known).length > 0) problems.push({ message: `${name}: unknown variable${didYouMean(name, known)}` })
  }
  for (const spec of FLAGS) {
    const raw = env[spec.env]
    if (raw === undefined) continue
    if (raw.trim() === '') {
      problems.push({ message: `${spec.env}: is set but empty; give a value or unset it` })
      continue
    }
    if (!spec.repeatable) {
      settings[spec.key] = { value: raw.trim(), origin: spec.env }
      continue
    }
    const list = readListEnv(env, spec.env, problems)
    if (list !== undefined) settings[spec.key] = list
  }
  return { settings, problems }
}

/** A comma-separated list of addresses in variable `name`; undefined when unset or not valid (then a problem says why). */
export function readListEnv(env: NodeJS.ProcessEnv, name: string, problems: Problem[]): Setting[] | undefined {
  const raw = env[name]
  if (raw === undefined) return undefined
  if (raw.trim() === '') {
    problems.push({ message: `${name}: is set but empty; give a value or unset it` })
    return undefined
  }
  const items = raw.split(',').map((s) => s.trim())
  if (items.some((s) => s === '')) {
    problems.push({ message: `${name}: has an empty item in ${JSON.stringify(raw)} (a comma-separated list of addresses)` })
    return undefined
  }
  return items.map((value) => ({ value, origin: name }))
}
