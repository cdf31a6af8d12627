/**
 * One policy file → PolicyDoc: parsed YAML, validated against one strict schema, with the
 * positions needed to point at any part of it. Checks that need no other file happen here;
 * operations, globs and `extends:` are checked in compile.ts.
 */
import { basename } from 'node:path'
import { guardRulesSchema } from '../guards/rules.js'
import type { ValidateFunction } from 'ajv'
import { createAjv, parseYaml, schemaProblems, type JsonPath, type Problem, type YamlFile } from '../problems.js'
import { cachedPreset } from './preset-cache.js'
import { isShippedFull } from './presets.js'
import { parseRedact, type RedactDoc } from './redact.js'

/** A rule target as written: an operationId or `METHOD /glob`, with where it is. */
export interface TargetDoc {
  readonly text: string
  readonly path: JsonPath
}

export interface RuleDoc {
  readonly index: number
  readonly effect: 'allow' | 'deny'
  readonly name?: string
  readonly targets: readonly TargetDoc[]
}

export interface ExtendsDoc {
  readonly ref: string
  readonly path: JsonPath
}

/** A policy file as written, before `extends:` is followed. */
export interface PolicyDoc {
  /** Absolute path. */
  readonly file: string
  readonly yaml: YamlFile
  readonly name: string
  readonly description?: string
  readonly extends: readonly ExtendsDoc[]
  readonly rules: readonly RuleDoc[]
  /** The raw `guards:` section, undefined when the file has none. */
  readonly guards?: unknown
  /** `unguarded: true`, accepted only in the shipped `full` preset. */
  readonly unguarded: boolean
  /** The kinds of response values its `redact:` sets (redact.ts); undefined when it has none. */
  readonly redact?: RedactDoc
  /** A shipped preset whose schema check was done at build time (preset-cache.ts). */
  readonly prevalidated?: true
}

/** Policy and rule names appear in messages, logs and metric labels: keep them plain. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const target = { type: ['string', 'array'], minLength: 1, minItems: 1, items: { type: 'string', minLength: 1 } }

/**
 * The guards helper owns the `guards:` schema; it is registered under its own `$id` (or ours) so
 * that any local `$ref`s inside it keep resolving.
 */
const ownGuardsId = (guardRulesSchema as { $id?: unknown }).$id
const GUARDS_ID = typeof ownGuardsId === 'string' ? ownGuardsId : 'https://dockgate.invalid/schema/policy-guards.json'

/** The policy file schema: additionalProperties false everywhere (guards brings its own). */
export const policySchema: Readonly<Record<string, unknown>> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    extends: { type: ['string', 'array'], minLength: 1, items: { type: 'string', minLength: 1 } },
    rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { allow: target, deny: target, name: { type: 'string', minLength: 1 } },
      },
    },
    guards: { $ref: GUARDS_ID },
    unguarded: { type: 'boolean' },
    // Checked by redact.ts, which names the kinds and suggests the nearest for a misspelt one.
    redact: { type: ['string', 'array', 'object'] },
  },
}

/**
 * The schemas' validators, compiled at first use: with a shipped preset they are never needed
 * (preset-cache.ts), and compiling them costs about 10 MiB of RSS at start.
 */
let validators: { readonly policy: ValidateFunction; readonly guards: ValidateFunction | undefined } | undefined
function compiled(): NonNullable<typeof validators> {
  if (validators === undefined) {
    const ajv = createAjv()
    ajv.addSchema(typeof ownGuardsId === 'string' ? guardRulesSchema : { ...guardRulesSchema, $id: GUARDS_ID })
    validators = { policy: ajv.compile(policySchema), guards: ajv.getSchema(GUARDS_ID) }
  }
  return validators
}

/** What a preset's build-time check covered: the cache is used only when these are unchanged. */
export const SCHEMA_FINGERPRINT = (): string => JSON.stringify([policySchema, guardRulesSchema])

/** True when a `guards:` section passes its schema, so compileGuardRules may be given it. */
export function guardsValid(value: unknown): boolean {
  const v = compiled().guards
  return v === undefined || v(value) === true
}

/** The default policy name: the file's basename without `.yaml`/`.yml`. */
export function defaultPolicyName(file: string): string {
  return basename(file).replace(/\.ya?ml$/i, '')
}

/**
 * Parses one policy file. Returns a doc whenever the YAML itself parsed, even if the schema
 * found problems, so that the caller can still report unknown operations in the well-formed
 * rules: every problem in one run.
 */
export function parsePolicy(text: string, file: string, display: string): { doc?: PolicyDoc; problems: Problem[] } {
  // A shipped preset, unchanged since the build checked it against this schema: no YAML parser
  // and no schema validator at start (preset-cache.ts). Everything else is checked as for any file.
  const cached = cachedPreset(file, text, display, SCHEMA_FINGERPRINT)
  const { yaml, problems } = cached === undefined ? parseYaml(text, display) : { yaml: cached, problems: [] }
  if (problems.length > 0) return { problems }
  const v = yaml.value
  if (v === null || v === undefined) {
    return { problems: [{ file: display, line: 1, col: 1, message: 'the file is empty; a policy needs at least "rules:"' }] }
  }
  if (cached === undefined) problems.push(...schemaProblems(compiled().policy, yaml))
  if (typeof v !== 'object' || Array.isArray(v)) return { problems }
  const raw = v as Record<string, unknown>

  const name = typeof raw['name'] === 'string' ? raw['name'] : defaultPolicyName(file)
  if (!NAME_PATTERN.test(name)) {
    problems.push(typeof raw['name'] === 'string'
      ? yaml.problem(['name'], `${JSON.stringify(name)} is not a valid policy name (letters, digits, ".", "_", "-"; at most 64)`)
      : { file: display, line: 1, col: 1, message: `the file name gives the policy name ${JSON.stringify(name)}, which is not valid (letters, digits, ".", "_", "-"; at most 64): set "name:"` })
  }

  // A policy says what it allows: its own rules, or a preset it extends (and narrows or loosens).
  if (!('rules' in raw) && !('extends' in raw)) {
    problems.push({ file: display, line: 1, col: 1, message: 'missing key "rules" (or "extends")' })
  }

  if ('unguarded' in raw && !isShippedFull(file)) {
    problems.push(yaml.problem(['unguarded'], 'only the shipped preset "full" may turn body guards off; write "extends: [full]" instead', true))
  }

  const rules: RuleDoc[] = []
  const rawRules = Array.isArray(raw['rules']) ? (raw['rules'] as unknown[]) : []
  rawRules.forEach((r, index) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return // the schema reported it
    const rule = r as Record<string, unknown>
    const has = { allow: 'allow' in rule, deny: 'deny' in rule }
    if (has.allow && has.deny) {
      problems.push(yaml.problem(['rules', index], 'a rule has either "allow" or "deny", not both: split it in two'))
      return
    }
    if (!has.allow && !has.deny) {
      // An unknown key (`alow:`) was already reported, with a suggestion; don't say it twice.
      if (Object.keys(rule).every((k) => k === 'name')) problems.push(yaml.problem(['rules', index], 'a rule needs "allow" or "deny"'))
      return
    }
    const effect = has.allow ? 'allow' : 'deny'
    const value = rule[effect]
    const targets: TargetDoc[] = typeof value === 'string'
      ? (value === '' ? [] : [{ text: value, path: ['rules', index, effect] }])
      : Array.isArray(value)
        ? value.flatMap((t, i) => (typeof t === 'string' && t !== '' ? [{ text: t, path: ['rules', index, effect, i] }] : []))
        : []
    const ruleName = typeof rule['name'] === 'string' ? rule['name'] : undefined
    if (ruleName !== undefined && !NAME_PATTERN.test(ruleName)) {
      problems.push(yaml.problem(['rules', index, 'name'], `${JSON.stringify(ruleName)} is not a valid rule name (letters, digits, ".", "_", "-"; at most 64)`))
    }
    rules.push({ index, effect, targets, ...(ruleName === undefined ? {} : { name: ruleName }) })
  })

  const ext = raw['extends']
  const extendsList: ExtendsDoc[] = typeof ext === 'string'
    ? [{ ref: ext, path: ['extends'] }]
    : Array.isArray(ext)
      ? ext.flatMap((e, i) => (typeof e === 'string' && e !== '' ? [{ ref: e, path: ['extends', i] }] : []))
      : []

  const redact = 'redact' in raw ? parseRedact(raw['redact'], yaml, problems) : undefined

  const doc: PolicyDoc = {
    file,
    yaml,
    name,
    extends: extendsList,
    rules,
    unguarded: raw['unguarded'] === true && isShippedFull(file),
    ...(typeof raw['description'] === 'string' ? { description: raw['description'] } : {}),
    ...('guards' in raw ? { guards: raw['guards'] } : {}),
    ...(redact === undefined ? {} : { redact }),
    ...(cached === undefined ? {} : { prevalidated: true as const }),
  }
  return { doc, problems }
}
