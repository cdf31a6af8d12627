/**
 * PolicyDoc → CompiledPolicy: follows `extends:`, checks every operationId and glob, runs the
 * meaning checks, folds the `guards:` sections, and freezes the result.
 *
 * Order: the files a policy extends come first (depth first, in the order listed, each file once
 * even when reached twice), then the policy's own rules. Order matters only for which rule a
 * message names; deny always wins over allow (decide.ts).
 */
import { existsSync } from 'node:fs'
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { allOperations, matchEndpoint, operationIds } from '../endpoints.js'
import { compileGuardRules, DEFAULT_GUARD_RULES, type GuardRules } from '../guards/rules.js'
import { ConfigError, didYouMean, readText, tidyProblems, type JsonPath, type Problem } from '../problems.js'
import { ALWAYS_ALLOWED, prepareDecisions } from './decide.js'
import { deepFreeze } from './freeze.js'
import { compileGlob, looksLikeGlob, operationsMatching, type CompiledGlob } from './glob.js'
import { guardsValid, parsePolicy, type PolicyDoc, type RuleDoc } from './load.js'
import { listPresets, presetDir, resolvePolicyRef, type PolicyRef } from './presets.js'
import { sessionProblems } from './session-rule.js'
import { foldRedact, type RedactRules } from './redact.js'

/** One rule, ready for decide(). */
export interface CompiledRule {
  readonly effect: 'allow' | 'deny'
  /** The rule's `name`, or `<file>:rules[i]` (file basename). Shown to clients and in logs. */
  readonly name: string
  /** What the rule says, e.g. `allow ContainerList, ContainerInspect` or `deny * /containers/*\/export`. */
  readonly text: string
  /** Where it is written: `file:line:col` as shown in problems. */
  readonly at: string
  readonly operations: readonly string[]
  readonly globs: readonly CompiledGlob[]
}

/** A loaded, checked, deep-frozen policy. */
export interface CompiledPolicy {
  readonly name: string
  readonly description?: string
  /** Absolute path of the policy file. */
  readonly source: string
  /** Absolute paths of the files it extends, directly or not, in rule order. */
  readonly extends: readonly string[]
  /** Parents' rules first, then the policy's own. */
  readonly rules: readonly CompiledRule[]
  readonly guards: GuardRules
  /** Body guards off: only via the shipped `full` preset. The start-up code warns loudly. */
  readonly unguarded: boolean
  /** What the engine's responses never carry out (redact.ts); folded through `extends:`. */
  readonly redact: RedactRules
  /** Meaning-check findings that do not stop dockgate (e.g. a rule that repeats another). */
  readonly warnings: readonly Problem[]
}

export interface PolicyLoadOptions {
  /** Where relative paths given on the command line start, and what problem file names are relative to. Default: process.cwd(). */
  readonly cwd?: string
}

export interface PolicyResult {
  /** Present when there are no problems. */
  readonly policy?: CompiledPolicy
  readonly problems: readonly Problem[]
  readonly warnings: readonly Problem[]
}

/** Where a reference to a policy is written, so that "no such policy" points there. */
export type RefOrigin = (message: string) => Problem

interface TargetEntry {
  readonly key: string
  readonly op?: string
  readonly glob?: CompiledGlob
  readonly path: JsonPath
}

interface RuleEntry {
  readonly rule: CompiledRule
  readonly doc: PolicyDoc
  readonly src: RuleDoc
  readonly targets: readonly TargetEntry[]
}

interface DocEntry {
  readonly abs: string
  readonly readError?: string
  readonly doc?: PolicyDoc
  readonly problems: Problem[]
  readonly warnings: Problem[]
  readonly parents: string[]
  readonly rules: RuleEntry[]
}

/**
 * Loads policies, sharing parsed files between them: a config whose five listeners all extend
 * `read-only` reads and checks it once, and reports its problems once.
 */
export class PolicyLoader {
  readonly #cwd: string
  readonly #entries = new Map<string, DocEntry>()
  readonly #results = new Map<string, PolicyResult>()
  readonly #texts = new Map<string, string>()

  constructor(opts: PolicyLoadOptions = {}) {
    this.#cwd = opts.cwd ?? process.cwd()
  }

  /** A path as shown in problems: relative to cwd when under it, else absolute. */
  display(abs: string): string {
    const rel = relative(this.#cwd, abs)
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs
  }

  /**
   * Loads a preset name or a path (relative to `baseDir`, default cwd). Problems about the
   * reference itself (no such preset or file) are made by `origin`.
   */
  load(ref: string, opts: { baseDir?: string; origin?: RefOrigin } = {}): PolicyResult {
    const baseDir = opts.baseDir ?? this.#cwd
    const origin: RefOrigin = opts.origin ?? ((message) => ({ message }))
    const r = resolvePolicyRef(ref, baseDir)
    const entry = this.#entry(r.path, [])
    if (entry.readError !== undefined) return { problems: [origin(refProblem(ref, r, baseDir, entry.readError))], warnings: [] }
    return this.#compile(r.path)
  }

  /** Compiles policy text as if it were the file `file` (relative to cwd); for tests and `dockgate check`. */
  loadText(text: string, file: string): PolicyResult {
    const abs = resolve(this.#cwd, file)
    this.#texts.set(abs, text)
    return this.load(abs)
  }

  #entry(abs: string, stack: readonly string[]): DocEntry {
    const cached = this.#entries.get(abs)
    if (cached !== undefined) return cached
    const text = this.#texts.get(abs)
    const read = text !== undefined ? { text } : readText(abs)
    if ('error' in read) {
      const failed: DocEntry = { abs, readError: read.error, problems: [], warnings: [], parents: [], rules: [] }
      this.#entries.set(abs, failed)
      return failed
    }
    const { doc, problems } = parsePolicy(read.text, abs, this.display(abs))
    const entry: DocEntry = { abs, problems, warnings: [], parents: [], rules: [], ...(doc === undefined ? {} : { doc }) }
    this.#entries.set(abs, entry)
    if (doc === undefined) return entry
    entry.rules.push(...compileRules(doc, problems, entry.warnings))
    const here = [...stack, abs]
    for (const ex of doc.extends) {
      const r = resolvePolicyRef(ex.ref, dirname(abs))
      const loop = here.indexOf(r.path)
      if (loop >= 0) {
        const chain = [...here.slice(loop), r.path].map((p) => basename(p)).join(' → ')
        problems.push(doc.yaml.problem(ex.path, `cycle in extends: ${chain}`))
        continue
      }
      if (entry.parents.includes(r.path)) {
        problems.push(doc.yaml.problem(ex.path, `${JSON.stringify(ex.ref)} is already extended`))
        continue
      }
      const parent = this.#entry(r.path, here)
      if (parent.readError !== undefined) {
        problems.push(doc.yaml.problem(ex.path, refProblem(ex.ref, r, dirname(abs), parent.readError)))
        continue
      }
      entry.parents.push(r.path)
    }
    return entry
  }

  /** Every file the policy at `abs` draws on, parents first, each once. */
  #linearize(abs: string, out: DocEntry[] = [], seen = new Set<string>()): DocEntry[] {
    if (seen.has(abs)) return out
    seen.add(abs)
    const entry = this.#entries.get(abs)
    if (entry === undefined) return out
    for (const p of entry.parents) this.#linearize(p, out, seen)
    out.push(entry)
    return out
  }

  #compile(abs: string): PolicyResult {
    const cached = this.#results.get(abs)
    if (cached !== undefined) return cached
    const order = this.#linearize(abs)
    const root = order[order.length - 1]
    const problems: Problem[] = order.flatMap((e) => e.problems)
    const warnings: Problem[] = order.flatMap((e) => e.warnings)
    const rules = order.flatMap((e) => e.rules)
    meaningChecks(rules, problems, warnings)

    let guards = DEFAULT_GUARD_RULES
    for (const e of order) {
      const doc = e.doc
      if (doc?.guards === undefined) continue
      if (this.#linearize(e.abs).some((x) => x.doc?.unguarded === true) && !doc.unguarded) {
        warnings.push(doc.yaml.problem(['guards'], 'has no effect: this policy extends "full", which turns body guards off', true))
      }
      if (doc.prevalidated !== true && !guardsValid(doc.guards)) continue // the schema problems say why
      const compiled = compileGuardRules(doc.guards, guards)
      for (const p of compiled.problems) problems.push(doc.yaml.problem(['guards', ...p.path], p.message))
      guards = compiled.rules
    }

    const unguarded = order.some((e) => e.doc?.unguarded === true)
    if (!unguarded) problems.push(...sessionProblems(rules, guards))
    const rootDoc = root?.doc
    if (rootDoc !== undefined && rules.length === 0 && !unguarded && problems.length === 0) {
      warnings.push(rootDoc.yaml.problem(['rules'], 'the policy has no rules: it allows nothing but /_ping', true))
    }
    const tidy = { problems: tidyProblems(problems), warnings: tidyProblems(warnings) }
    if (rootDoc === undefined || tidy.problems.length > 0) {
      this.#results.set(abs, tidy)
      return tidy
    }
    const policy: CompiledPolicy = deepFreeze({
      name: rootDoc.name,
      ...(rootDoc.description === undefined ? {} : { description: rootDoc.description }),
      source: abs,
      extends: order.slice(0, -1).map((e) => e.abs),
      rules: rules.map((r) => r.rule),
      guards,
      unguarded,
      redact: foldRedact(order.map((e) => e.doc?.redact)),
      warnings: tidy.warnings,
    })
    prepareDecisions(policy)
    const result: PolicyResult = { policy, ...tidy }
    this.#results.set(abs, result)
    return result
  }
}

/**
 * Loads and compiles one policy: a preset name (`read-only`) or a file path (relative to
 * `opts.cwd`). Throws ConfigError with every problem found, in every file it extends.
 */
export function loadPolicy(nameOrPath: string, opts: PolicyLoadOptions = {}): CompiledPolicy {
  const result = new PolicyLoader(opts).load(nameOrPath)
  if (result.policy === undefined) throw new ConfigError(result.problems)
  return result.policy
}

/** Compiles policy text as the file `file` (default `policy.yaml` in cwd); `extends:` resolves from there. Throws ConfigError. */
export function compilePolicyText(text: string, opts: PolicyLoadOptions & { file?: string } = {}): CompiledPolicy {
  const result = new PolicyLoader(opts).loadText(text, opts.file ?? 'policy.yaml')
  if (result.policy === undefined) throw new ConfigError(result.problems)
  return result.policy
}

/**
 * Operations a deny glob matches with one-segment names but not with the names containing `/`
 * that the engine routes to the same operation (`{name:.*}`: images, plugins, legacy container
 * link names): `deny "DELETE /containers/*"` does not cover `DELETE /containers/web/db`.
 */
function spanningMisses(glob: CompiledGlob): Array<{ id: string; example: string }> {
  const out: Array<{ id: string; example: string }> = []
  for (const op of allOperations()) {
    if (glob.methods !== '*' && !glob.methods.includes(op.method)) continue
    if (!op.template.includes('{')) continue
    const one = op.template.replace(/\{[^}]+\}/g, 'x')
    const two = op.template.replace(/\{[^}]+\}/g, 'x/y')
    if (glob.test(one) && !glob.test(two) && matchEndpoint(op.method, two)?.operation.id === op.id) {
      out.push({ id: op.id, example: two })
    }
  }
  return out
}

function refProblem(ref: string, r: PolicyRef, baseDir: string, readError: string): string {
  if (r.kind === 'file') return `cannot read policy ${JSON.stringify(ref)}: ${readError}`
  const presets = listPresets()
  const local = [`${ref}.yaml`, `${ref}.yml`].find((f) => existsSync(resolve(baseDir, f)))
  return `unknown preset ${JSON.stringify(ref)}${didYouMean(ref, presets)}; presets: ${presets.join(', ')}` +
    (local === undefined ? '' : `; for the file ${local} here, write ./${local}`)
}

/** Checks and compiles each rule's targets: operationIds against the route table, globs with micromatch. */
function compileRules(doc: PolicyDoc, problems: Problem[], warnings: Problem[]): RuleEntry[] {
  const ids = operationIds()
  const at = (path: JsonPath): string => {
    const p = doc.yaml.locate(path)
    return `${doc.yaml.file}:${p.line}:${p.col}`
  }
  return doc.rules.map((src) => {
    const targets: TargetEntry[] = []
    for (const t of src.targets) {
      const text = t.text.trim().replace(/\s+/g, ' ')
      if (!looksLikeGlob(text)) {
        if (ids.has(text)) targets.push({ key: text, op: text, path: t.path })
        else problems.push(doc.yaml.problem(t.path, `unknown operation ${JSON.stringify(text)}${didYouMean(text, ids)}`))
        continue
      }
      const { glob, problems: msgs } = compileGlob(text)
      for (const m of msgs) problems.push(doc.yaml.problem(t.path, m))
      if (glob === undefined) continue
      if (operationsMatching(glob, allOperations()).length === 0) {
        const other = allOperations().filter((o) => glob.test(o.template.replace(/\{[^}]+\}/g, 'x')))
        const hint = other.length === 0 ? '' : `; with another method it would match ${other.slice(0, 3).map((o) => `${o.method} ${o.id}`).join(', ')}${other.length > 3 ? ', …' : ''}`
        problems.push(doc.yaml.problem(t.path, `${JSON.stringify(glob.text)} matches no Engine API endpoint${hint}`))
        continue
      }
      if (src.effect === 'deny') {
        const missed = spanningMisses(glob)
        if (missed.length > 0) {
          const list = missed.slice(0, 3).map((m) => `${m.id} on ${m.example}`).join(', ') + (missed.length > 3 ? ` and ${missed.length - 3} more` : '')
          warnings.push(doc.yaml.problem(t.path, `${JSON.stringify(glob.text)} does not deny ${list}: ` +
            'the engine accepts names with / there; deny the operation by id, or use ** for that segment'))
        }
      }
      targets.push({ key: glob.text, glob, path: t.path })
    }
    const name = src.name ?? `${basename(doc.file)}:rules[${src.index}]`
    const rule: CompiledRule = {
      effect: src.effect,
      name,
      text: `${src.effect} ${src.targets.map((t) => t.text.trim().replace(/\s+/g, ' ')).join(', ')}`,
      at: at(['rules', src.index]),
      operations: targets.flatMap((t) => (t.op === undefined ? [] : [t.op])),
      globs: targets.flatMap((t) => (t.glob === undefined ? [] : [t.glob])),
    }
    return { rule, doc, src, targets }
  })
}

/**
 * Checks across the whole rule list (parents included). Error: a rule name used twice (a denial
 * must name one rule). Warnings: a rule that repeats an earlier one exactly, a target already
 * allowed/denied earlier, an allow that an earlier (or same-file) deny cancels, a deny of the
 * always-allowed /_ping. A child denying what its parent allows is the normal way to narrow a
 * preset and is not reported. Warnings located in the shipped presets are dropped: they come from
 * how a user's file combines them, and point at a file the user cannot change.
 */
function meaningChecks(rules: readonly RuleEntry[], problems: Problem[], warnings: Problem[]): void {
  const found: Array<{ readonly doc: PolicyDoc; readonly warning: Problem }> = []
  const warn = (r: RuleEntry, path: JsonPath, message: string): void => {
    found.push({ doc: r.doc, warning: r.doc.yaml.problem(path, message) })
  }
  const names = new Map<string, RuleEntry>()
  const exact = new Map<string, RuleEntry>()
  const covered = { allow: new Map<string, RuleEntry>(), deny: new Map<string, RuleEntry>() }
  rules.forEach((r, order) => {
    const y = r.doc.yaml
    const i = r.src.index
    if (r.src.name !== undefined) {
      const prev = names.get(r.src.name)
      if (prev === undefined) names.set(r.src.name, r)
      else problems.push(y.problem(['rules', i, 'name'], `${JSON.stringify(r.src.name)} already names the rule at ${prev.rule.at}`))
    }
    if (r.targets.length > 0 && r.targets.length === r.src.targets.length) {
      const key = `${r.src.effect} ${[...new Set(r.targets.map((t) => t.key))].sort().join(' ')}`
      const prev = exact.get(key)
      if (prev !== undefined) {
        warn(r, ['rules', i], `repeats rule ${prev.rule.name} exactly`)
        return
      }
      exact.set(key, r)
    }
    const here = new Set<string>()
    for (const t of r.targets) {
      if (here.has(t.key)) {
        warn(r, t.path, `${t.key} is listed twice in this rule`)
        continue
      }
      here.add(t.key)
      const seen = covered[r.src.effect]
      const prev = seen.get(t.key)
      if (prev === undefined) seen.set(t.key, r)
      else warn(r, t.path, `${t.key} is already ${r.src.effect === 'allow' ? 'allowed' : 'denied'} by rule ${prev.rule.name}`)
      if (t.op === undefined || !ALWAYS_ALLOWED.has(t.op) || r.src.effect !== 'deny') continue
      warn(r, t.path, `${t.op} is always allowed (clients negotiate the API version with /_ping): this deny has no effect`)
    }
    if (r.src.effect !== 'allow') return
    for (const t of r.targets) {
      if (t.op === undefined || ALWAYS_ALLOWED.has(t.op)) continue
      const deny = rules.find((d, j) => d.src.effect === 'deny' && (j < order || d.doc === r.doc) && d.targets.some((dt) => dt.op === t.op))
      if (deny !== undefined) warn(r, t.path, `${t.op} is also denied by rule ${deny.rule.name}, and deny wins: this allow has no effect`)
    }
  })
  const presets = `${presetDir()}${sep}`
  for (const f of found) if (!f.doc.file.startsWith(presets)) warnings.push(f.warning)
}

