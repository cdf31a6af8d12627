/**
 * A policy's `redact:` — what never leaves through the engine's responses — as written, checked
 * and folded through `extends:`.
 *
 *   redact: all                      # every kind below (also: none)
 *   redact: [container_env, secret_data]
 *   redact:
 *     container_env: { keep: [VIRTUAL_HOST, "LETSENCRYPT_*"] }   # these values stay visible
 *     swarm_join_tokens: true
 *     volume_options: false          # turns off what a parent turned on
 *
 * A policy that says nothing redacts nothing, unless a file it extends does. Files are folded in
 * `extends:` order, the policy's own last (as `guards:` are): `all` and `none` set every kind, a
 * list turns the kinds it names on, a mapping sets the kinds it names, a kind's setting replacing
 * its parents' (its `keep:` list too). Where each kind is found in responses is per operation, in
 * operations.ts (`response:`); redact/apply.ts replaces the values.
 */
import { didYouMean, type JsonPath, type Problem, type YamlFile } from '../problems.js'

/** What a policy can redact; each names the values it hides (README, "Redaction"). */
export const REDACT_KINDS = [
  /** Values of containers' environment (Config.Env; services' and tasks' ContainerSpec.Env; images' Config.Env). */
  'container_env',
  /** GET /swarm JoinTokens.Worker and .Manager. */
  'swarm_join_tokens',
  /** GET /swarm/unlockkey UnlockKey. */
  'swarm_unlock_key',
  /** Secrets' Spec.Data (not returned by today's engines; hidden if one ever does) and their driver's options. */
  'secret_data',
  /** Configs' Spec.Data. */
  'config_data',
  /** Values of plugins' Settings.Env (credentials of volume and log plugins). */
  'plugin_env',
  /** Values of volume driver options (a CIFS volume's `o=username=…,password=…`). */
  'volume_options',
  /** Values of logging driver options (`splunk-token`, a `loki-url` with a password). */
  'log_options',
] as const

export type RedactKind = (typeof REDACT_KINDS)[number]

/** The folded result, frozen with the policy. */
export interface RedactRules {
  /** The kinds whose values are replaced, in REDACT_KINDS order. */
  readonly kinds: readonly RedactKind[]
  /** container_env: variable names (`*` matches any run of characters) whose values stay visible. */
  readonly keepEnv: readonly string[]
}

export const NO_REDACTION: RedactRules = Object.freeze({ kinds: Object.freeze([]), keepEnv: Object.freeze([]) })

/** A name in `keep:`: an environment variable name, `*` as a wildcard; never `=`. */
const KEEP_NAME = /^[A-Za-z0-9_.*-]{1,128}$/

type Setting = false | { readonly keep: readonly string[] }

/** One file's `redact:`: the kinds it sets (absent: inherited). */
export type RedactDoc = ReadonlyMap<RedactKind, Setting>

const isKind = (s: string): s is RedactKind => (REDACT_KINDS as readonly string[]).includes(s)
const ON: Setting = Object.freeze({ keep: Object.freeze([]) })

/**
 * Checks a file's `redact:` value (at `['redact']`), pushing a problem for everything wrong, with
 * did-you-mean for misspelt kinds. Returns what it sets, or undefined when nothing usable is there.
 */
export function parseRedact(raw: unknown, yaml: YamlFile, problems: Problem[]): RedactDoc | undefined {
  const at: JsonPath = ['redact']
  const out = new Map<RedactKind, Setting>()
  const unknownKind = (name: string, path: JsonPath, key: boolean): void => {
    problems.push(yaml.problem(path, `unknown kind ${JSON.stringify(name)}${didYouMean(name, REDACT_KINDS)}; kinds: ${REDACT_KINDS.join(', ')}`, key))
  }
  if (typeof raw === 'string') {
    if (raw === 'all' || raw === 'none') {
      for (const k of REDACT_KINDS) out.set(k, raw === 'all' ? ON : false)
      return out
    }
    problems.push(yaml.problem(at, `must be all, none, a list of kinds or a mapping of kind to true/false, not ${JSON.stringify(raw)}${didYouMean(raw, ['all', 'none', ...REDACT_KINDS])}`))
    return undefined
  }
  if (Array.isArray(raw)) {
    raw.forEach((item: unknown, i) => {
      if (typeof item !== 'string') problems.push(yaml.problem([...at, i], 'must be the name of a kind'))
      else if (!isKind(item)) unknownKind(item, [...at, i], false)
      else if (out.has(item)) problems.push(yaml.problem([...at, i], `${item} is listed twice`))
      else out.set(item, ON)
    })
    return out
  }
  if (raw === null || typeof raw !== 'object') return undefined // the schema reported it
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const path = [...at, name]
    if (!isKind(name)) {
      unknownKind(name, path, true)
      continue
    }
    if (typeof value === 'boolean') {
      out.set(name, value ? ON : false)
      continue
    }
    if (name === 'container_env' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const keep = parseKeep(value as Record<string, unknown>, yaml, path, problems)
      if (keep !== undefined) out.set(name, Object.freeze({ keep }))
      continue
    }
    problems.push(yaml.problem(path, name === 'container_env' ? 'must be true, false or { keep: [NAME, …] }' : 'must be true or false'))
  }
  return out
}

function parseKeep(value: Record<string, unknown>, yaml: YamlFile, path: JsonPath, problems: Problem[]): readonly string[] | undefined {
  let ok = true
  for (const key of Object.keys(value)) {
    if (key === 'keep') continue
    problems.push(yaml.problem([...path, key], `unknown key ${JSON.stringify(key)}${didYouMean(key, ['keep'])}; allowed keys: keep`, true))
    ok = false
  }
  const keep = value['keep']
  if (!ok) return undefined // a misspelt `keep` was reported; not again as missing
  if (!Array.isArray(keep) || keep.length === 0) {
    problems.push(yaml.problem([...path, 'keep'], 'must be a list of variable names whose values stay visible (`*` matches any characters); for none, write container_env: true'))
    return undefined
  }
  keep.forEach((n: unknown, i) => {
    if (typeof n === 'string' && KEEP_NAME.test(n)) return
    ok = false
    problems.push(yaml.problem([...path, 'keep', i], `${typeof n === 'string' ? JSON.stringify(n) : 'this'} is not a variable name: letters, digits, "_", ".", "-" and the wildcard "*", without "="`))
  })
  return ok ? Object.freeze([...new Set(keep as string[])]) : undefined
}

/** Folds the files' settings in order (parents first); a kind set later replaces the earlier setting. */
export function foldRedact(docs: ReadonlyArray<RedactDoc | undefined>): RedactRules {
  const state = new Map<RedactKind, Setting>()
  for (const d of docs) if (d !== undefined) for (const [k, v] of d) state.set(k, v)
  const kinds = REDACT_KINDS.filter((k) => { const s = state.get(k); return s !== undefined && s !== false })
  if (kinds.length === 0) return NO_REDACTION
  const env = state.get('container_env')
  return Object.freeze({ kinds: Object.freeze(kinds), keepEnv: Object.freeze(env === undefined || env === false ? [] : [...env.keep]) })
}
