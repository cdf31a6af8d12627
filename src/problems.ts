/**
 * Problems found while loading configuration and policies, with source positions.
 *
 * Everything that validates input collects Problems rather than stopping at the first one (the
 * way oauth2-proxy reports every bad option): the CLI prints them all as `file:line:col: message`
 * and exits 2, never with a stack trace.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import type * as YamlLib from 'yaml'
import type { Document } from 'yaml'

/**
 * yaml and ajv are loaded at first use (both are CommonJS packages, so `require` gives the same
 * instance an `import` would): dockgate started with a shipped preset and no configuration file
 * needs neither (policy/preset-cache.ts), and they take about 10 MiB of RSS with ajv's compiled
 * validators (bench/README.md).
 */
const requireLib = createRequire(import.meta.url)
let yamlLib: typeof YamlLib | undefined
const Y = (): typeof YamlLib => (yamlLib ??= requireLib('yaml') as typeof YamlLib)

/** One thing wrong with the input. */
export interface Problem {
  /** The file as shown to the user; absent for flags, environment variables and whole-run problems. */
  readonly file?: string
  /** 1-based line of the offending node. */
  readonly line?: number
  /** 1-based column of the offending node. */
  readonly col?: number
  /** What is wrong, led by where inside the file or which flag: `rules[2].allow: unknown operation …`. */
  readonly message: string
}

/** Thrown by loaders with every problem found; `message` is the formatted list. */
export class ConfigError extends Error {
  readonly problems: readonly Problem[]
  constructor(problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'))
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError
}

/** `policies/ci.yaml:14:7: rules[2].allow: unknown operation "ContainerCreat" (did you mean ContainerCreate?)` */
export function formatProblem(p: Problem): string {
  if (p.file === undefined) return p.message
  const pos = p.line === undefined ? '' : p.col === undefined ? `:${p.line}` : `:${p.line}:${p.col}`
  return `${p.file}${pos}: ${p.message}`
}

/** Removes exact repeats (same text) and sorts each file's problems by position, files in first-seen order. */
export function tidyProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>()
  const fileOrder = new Map<string, number>()
  const unique: Problem[] = []
  for (const p of problems) {
    const text = formatProblem(p)
    if (seen.has(text)) continue
    seen.add(text)
    const key = p.file ?? ''
    if (!fileOrder.has(key)) fileOrder.set(key, fileOrder.size)
    unique.push(p)
  }
  return unique
    .map((p, i) => ({ p, i }))
    .sort((a, b) =>
      (fileOrder.get(a.p.file ?? '') ?? 0) - (fileOrder.get(b.p.file ?? '') ?? 0) ||
      (a.p.line ?? 0) - (b.p.line ?? 0) ||
      (a.p.col ?? 0) - (b.p.col ?? 0) ||
      a.i - b.i)
    .map(({ p }) => p)
}

// ---------------------------------------------------------------------------------------------
// JSON paths

/** A path into the parsed document, e.g. `['rules', 2, 'allow']`. */
export type JsonPath = ReadonlyArray<string | number>

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** `['rules', 2, 'allow']` → `rules[2].allow`; odd keys are quoted: `labels["a.b"]`. */
export function formatPath(path: JsonPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

/** `rules[2].allow: message`, or just the message at the root. */
export function atPath(path: JsonPath, message: string): string {
  return path.length === 0 ? message : `${formatPath(path)}: ${message}`
}

// ---------------------------------------------------------------------------------------------
// YAML with positions

/** A parsed YAML file that can say where any part of it is. */
export interface YamlFile {
  /** The file as shown in problems. */
  readonly file: string
  /** The plain JS value; undefined when the YAML itself was broken (its problems say why). */
  readonly value: unknown
  /**
   * Line and column of the node at `path`, or of its key when `key` is set (for unknown keys).
   * When the path does not exist, the position of its nearest existing ancestor.
   */
  locate(path: JsonPath, key?: boolean): { line: number; col: number }
  /** A problem at `path`, its message led by the path: `rules[2].allow: …`. */
  problem(path: JsonPath, message: string, key?: boolean): Problem
}

/**
 * Parses YAML text. Refuses what would make the file mean something other than it seems:
 * duplicate keys (yaml's `uniqueKeys`, on by default), several documents in one file, unknown
 * tags, and keys that are lists or mappings. YAML 1.2 core schema: `yes` is a string, `0660`
 * is the decimal number 660.
 */
export function parseYaml(text: string, file: string): { yaml: YamlFile; problems: Problem[] } {
  const lineCounter = new (Y().LineCounter)()
  const doc = Y().parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core' })
  const pos = (offset: number): { line: number; col: number } => {
    const p = lineCounter.linePos(offset)
    return p.line === 0 ? { line: 1, col: offset + 1 } : p
  }
  const problems: Problem[] = []
  for (const err of [...doc.errors, ...doc.warnings]) {
    const at = pos(err.pos[0])
    const message = err.code === 'DUPLICATE_KEY'
      ? `duplicate key ${JSON.stringify(keyAt(doc, err.pos[0]) ?? text.slice(err.pos[0], err.pos[1]))}`
      : `invalid YAML: ${err.message}`
    problems.push({ file, ...at, message })
  }
  Y().visit(doc, {
    Pair(_, pair) {
      if (!Y().isScalar(pair.key) && pair.key !== null) {
        const node = pair.key as { range?: [number, number, number] | null }
        problems.push({ file, ...pos(node.range?.[0] ?? 0), message: 'invalid YAML: a key must be a plain string, not a list or mapping' })
      }
    },
  })
  let value: unknown
  if (problems.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 })
    } catch (err) {
      problems.push({ file, line: 1, col: 1, message: `invalid YAML: ${(err as Error).message}` })
    }
  }
  const locate = (path: JsonPath, key = false): { line: number; col: number } => pos(offsetOf(doc, path, key))
  const yaml: YamlFile = {
    file,
    value,
    locate,
    problem: (path, message, key = false) => ({ file, ...locate(path, key), message: atPath(path, message) }),
  }
  return { yaml, problems }
}

/** Reads a file as UTF-8 text; the error is a short phrase (`no such file`, `permission denied`). */
export function readText(absPath: string): { text: string } | { error: string } {
  try {
    return { text: readFileSync(absPath, 'utf8') }
  } catch (err) {
    return { error: describeFsError(err) }
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT': return 'no such file'
    case 'EACCES': case 'EPERM': return 'permission denied'
    case 'EISDIR': return 'is a directory'
    case 'ENOTDIR': return 'a parent is not a directory'
    default: return (err as Error).message
  }
}

type Ranged = { range?: readonly [number, number, number] | null | undefined }

function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined
  Y().visit(doc, {
    Pair(_, pair) {
      if (Y().isScalar(pair.key) && pair.key.range?.[0] === offset) {
        found = String(pair.key.value)
        return Y().visit.BREAK
      }
      return undefined
    },
  })
  return found
}

function offsetOf(doc: Document, path: JsonPath, wantKey: boolean): number {
  let node: unknown = doc.contents
  let best: Ranged | null = doc.contents as Ranged | null
  for (let i = 0; i < path.length; i++) {
    if (Y().isAlias(node)) node = node.resolve(doc)
    const seg = path[i]
    if (Y().isMap(node)) {
      const pair = node.items.find((p) => Y().isScalar(p.key) && String(p.key.value) === String(seg))
      if (pair === undefined) break
      if (wantKey && i === path.length - 1) {
        best = pair.key as Ranged
        break
      }
      // `allow:` with nothing after it is an empty scalar: point at the key instead.
      const empty = Y().isScalar(pair.value) && pair.value.source === '' && pair.value.value === null
      node = pair.value
      best = (pair.value === null || empty ? pair.key : pair.value) as Ranged
    } else if (Y().isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg]
      if (item === undefined || item === null) break
      node = item
      best = item as Ranged
    } else {
      break
    }
  }
  return best?.range?.[0] ?? 0
}

// ---------------------------------------------------------------------------------------------
// Suggestions

/**
 * Optimal-string-alignment distance: Levenshtein plus adjacent transposition, so that
 * `jsno` → `json` costs 1 like any other single typo.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1)
      d[i * cols + j] = v
    }
  }
  return at(a.length, b.length)
}

/**
 * The candidates closest to `word`, best first (at most 3). A case-insensitive exact match wins
 * outright, so `containerlist` suggests `ContainerList`. Distances are case-insensitive and
 * must be at most a third of the word's length (at least 1, at most 3).
 */
export function suggest(word: string, candidates: Iterable<string>): string[] {
  const lower = word.toLowerCase()
  const all = [...new Set(candidates)]
  const exact = all.filter((c) => c.toLowerCase() === lower && c !== word)
  if (exact.length > 0) return exact.sort()
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)))
  return all
    .map((c) => ({ c, d: editDistance(lower, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= limit && c !== word)
    .sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0))
    .slice(0, 3)
    .map(({ c }) => c)
}

/** `A`, `A or B`, `A, B or C`. */
export function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`
}

/** ` (did you mean ContainerCreate?)`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates)
  return s.length === 0 ? '' : ` (did you mean ${orList(s)}?)`
}

// ---------------------------------------------------------------------------------------------
// JSON schema validation

/**
 * One Ajv instance for dockgate's schemas. `strict` rejects schema mistakes at start-up,
 * `allErrors` reports every problem, `verbose` gives the failing value and its schema to the
 * messages below. Union types (`string | list`) are used for the short forms of rules.
 */
export function createAjv(): Ajv {
  const { Ajv: AjvClass } = requireLib('ajv') as typeof import('ajv')
  return new AjvClass({ strict: true, allErrors: true, verbose: true, allowUnionTypes: true })
}

/** Validates `yaml.value` and turns every schema error into a positioned, readable problem. */
export function schemaProblems(validate: ValidateFunction, yaml: YamlFile): Problem[] {
  if (validate(yaml.value)) return []
  const errors = validate.errors ?? []
  // An anyOf/oneOf says it once for all its branches: drop the branches' own errors.
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`)
  return errors.filter((e) => !unions.some((u) => e.schemaPath.startsWith(u))).map((e) => {
    const path = pointerToPath(e.instancePath, yaml.value)
    const { at, message, key } = describeSchemaError(e, path)
    return yaml.problem(at, message, key)
  })
}

function pointerToPath(pointer: string, value: unknown): Array<string | number> {
  if (pointer === '') return []
  const out: Array<string | number> = []
  let node = value
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(node)) {
      const i = Number(seg)
      out.push(i)
      node = node[i]
    } else {
      out.push(seg)
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined
    }
  }
  return out
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', number: 'a number', integer: 'a whole number', boolean: 'true or false',
  array: 'a list', object: 'a mapping', null: 'empty',
}

/** A short, printable description of a value: `"abc"`, `5`, `a list`, `a mapping`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)
  return String(v)
}

function describeSchemaError(e: ErrorObject, path: Array<string | number>): { at: JsonPath; message: string; key: boolean } {
  const p = e.params as Record<string, unknown>
  const limit = p['limit'] as number
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(p['additionalProperty'])
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}
      const allowed = Object.keys(props)
      const hint = suggest(name, allowed)
      const parts = [...(hint.length > 0 ? [`did you mean ${orList(hint)}?`] : []), `allowed keys: ${allowed.join(', ') || 'none'}`]
      return { at: [...path, name], key: true, message: `unknown key ${JSON.stringify(name)} (${parts.join(' ')})` }
    }
    case 'required':
      return { at: path, key: false, message: `missing key ${JSON.stringify(String(p['missingProperty']))}` }
    case 'type': {
      const types = String(p['type']).split(',').map((t) => TYPE_WORDS[t] ?? t)
      return { at: path, key: false, message: `must be ${orList(types)}, not ${describeValue(e.data)}` }
    }
    case 'minItems':
      return { at: path, key: false, message: limit === 1 ? 'must not be empty' : `must have at least ${limit} items` }
    case 'maxItems':
      return { at: path, key: false, message: `must have at most ${limit} items` }
    case 'minLength':
      return { at: path, key: false, message: limit === 1 ? 'must not be empty' : `must be at least ${limit} characters long` }
    case 'maxLength':
      return { at: path, key: false, message: `must be at most ${limit} characters long` }
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
      const words: Record<string, string> = { '>=': 'at least', '<=': 'at most', '>': 'greater than', '<': 'less than' }
      return { at: path, key: false, message: `must be ${words[String(p['comparison'])] ?? String(p['comparison'])} ${limit}, not ${describeValue(e.data)}` }
    }
    case 'enum': {
      const allowed = (p['allowedValues'] as unknown[]).map((v) => String(v))
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : ''
      return { at: path, key: false, message: `must be one of ${allowed.join(', ')}, not ${describeValue(e.data)}${hint}` }
    }
    case 'const':
      return { at: path, key: false, message: `must be ${JSON.stringify(p['allowedValue'])}` }
    case 'uniqueItems':
      return { at: path, key: false, message: `items ${Math.min(Number(p['i']), Number(p['j']))} and ${Math.max(Number(p['i']), Number(p['j']))} are the same` }
    case 'anyOf': case 'oneOf': {
      const branches = (e.schema as Array<{ type?: unknown }> | undefined) ?? []
      const forms = branches.map((b) => [b.type].flat().map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or '))
      return { at: path, key: false, message: `must be ${orList(forms)}, not ${describeValue(e.data)}` }
    }
    case 'pattern':
      return { at: path, key: false, message: `${describeValue(e.data)} does not match ${String(p['pattern'])}` }
    default:
      return { at: path, key: false, message: e.message ?? 'is invalid' }
  }
}
