/**
 * `METHOD /path/glob` rule targets: parsing, compiling once with micromatch, and the meaning
 * check "can this glob match any Engine API endpoint at all?".
 *
 * Globs are matched against the canonical decoded path WITHOUT the version prefix
 * (`/containers/abc/json`), the path normalize.ts decided on. That path never has empty, `.` or
 * `..` segments, a trailing `/`, or a query string, so a glob that needs one of those is refused.
 */
import micromatch from 'micromatch'
import type { HttpMethod, Operation } from '../types.js'

/**
 * The micromatch options every policy glob is compiled with. Each is tested in
 * test/unit/policy/glob.test.ts.
 * - `dot: true`: `*` also matches a segment starting with `.`; otherwise
 *   `deny "* /containers/*\/export"` would not match `/containers/.x/export`, and a deny glob must
 *   not be dodged by a name.
 * - `*` never crosses `/`; `**` as a whole segment crosses any number of them (micromatch's
 *   default, `noglobstar: false`). Image and plugin names contain `/`: use `/images/**\/json`.
 * - Braces on (`/containers/*\/{start,stop}`): they read well and expand to plain alternatives.
 * - `noextglob: true`: `+(a|b)` and friends are refused at load time (see GLOB_CHECKS) — one
 *   small glob language is easier to review than two.
 * - `nonegate: true`: a leading `!` is a literal, never "everything except".
 * - `strictBrackets: true`: an unbalanced `[` is an error instead of a literal.
 * - `nocase: false`: the engine's router is case-sensitive, so `/Containers/json` is not
 *   `/containers/json`.
 * - `windows: false`: `\` is an escape, never a path separator, on every platform.
 */
export const GLOB_OPTIONS: Readonly<micromatch.Options> = Object.freeze({
  dot: true,
  noglobstar: false,
  nobrace: false,
  noextglob: true,
  nonegate: true,
  strictBrackets: true,
  strictSlashes: true,
  nocase: false,
  windows: false,
})

export const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']

/** A compiled `METHOD /glob` target. */
export interface CompiledGlob {
  /** As written, normalised to one space: `GET|HEAD /containers/*\/json`. */
  readonly text: string
  /** The methods it applies to; `*` = all. */
  readonly methods: readonly HttpMethod[] | '*'
  readonly glob: string
  /** Tests a canonical path (no version prefix). */
  readonly test: (path: string) => boolean
}

/** True when the target is written as `METHOD /glob` (it has a `/`) rather than as an operationId. */
export function looksLikeGlob(target: string): boolean {
  return target.includes('/')
}

/** Checks run on the glob text before compiling; each returns a message or undefined. */
const GLOB_CHECKS: ReadonlyArray<(glob: string) => string | undefined> = [
  (g) => (g.startsWith('/') ? undefined : `glob ${JSON.stringify(g)} must be absolute (start with /)`),
  (g) => (/\s/.test(g) ? `one method and one glob per entry: ${JSON.stringify(g)} contains a space (use a list for several)` : undefined),
  (g) => (/^\/v[0-9]/.test(g)
    ? `glob ${JSON.stringify(g)} includes an API version prefix; globs match the path without it (e.g. ${JSON.stringify(g.replace(/^\/v[0-9.]*/, ''))})`
    : undefined),
  (g) => (/\?[^/]*[=&]/.test(g) ? `glob ${JSON.stringify(g)} looks like it has a query string; globs match the path only` : undefined),
  (g) => {
    const m = /\{([A-Za-z_]+)\}/.exec(g)
    return m === null ? undefined
      : `${JSON.stringify(m[0])} is not a placeholder in a glob; write * for one path segment, or ** for image and plugin names, which may contain /`
  },
  (g) => {
    const m = /[@!+?*]\(/.exec(g)
    return m === null ? undefined : `extglob ${JSON.stringify(`${m[0]}…)`)} is not supported; use {a,b} or separate entries`
  },
  (g) => (g.length > 1 && (g.endsWith('/') || /\/\/|\/\.\.?(\/|$)/.test(g))
    ? `glob ${JSON.stringify(g)} can never match: canonical paths have no empty, "." or ".." segments and no trailing /`
    : undefined),
]

/** Parses and compiles `METHOD /glob`; every problem is returned as a message. */
export function compileGlob(target: string): { glob?: CompiledGlob; problems: string[] } {
  const trimmed = target.trim()
  const m = /^(\S+)\s+(.*)$/.exec(trimmed)
  if (m === null) {
    if (trimmed.startsWith('/')) {
      return { problems: [`${JSON.stringify(trimmed)} needs a method: write "GET ${trimmed}", "GET|HEAD ${trimmed}" or "* ${trimmed}"`] }
    }
    return { problems: [`${JSON.stringify(trimmed)} is neither an operation id nor "METHOD /glob"`] }
  }
  const methodText = m[1] ?? ''
  const glob = (m[2] ?? '').trim()
  const problems: string[] = []
  const methods = parseMethods(methodText, problems)
  for (const check of GLOB_CHECKS) {
    const msg = check(glob)
    if (msg !== undefined) problems.push(msg)
  }
  let test: ((path: string) => boolean) | undefined
  if (problems.length === 0) {
    try {
      test = micromatch.matcher(glob, GLOB_OPTIONS)
    } catch (err) {
      problems.push(`invalid glob ${JSON.stringify(glob)}: ${(err as Error).message}`)
    }
  }
  if (problems.length > 0 || test === undefined || methods === undefined) return { problems }
  const text = `${methods === '*' ? '*' : methods.join('|')} ${glob}`
  return { glob: { text, methods, glob, test }, problems }
}

function parseMethods(text: string, problems: string[]): readonly HttpMethod[] | '*' | undefined {
  if (text === '*') return '*'
  const out: HttpMethod[] = []
  let ok = true
  for (const word of text.split('|')) {
    const method = METHODS.find((x) => x === word)
    if (method !== undefined) {
      if (!out.includes(method)) out.push(method)
      continue
    }
    ok = false
    const upper = word.toUpperCase()
    const hint = METHODS.includes(upper as HttpMethod) ? ` (did you mean ${upper}?)` : ''
    problems.push(word === '*'
      ? 'method "*" stands alone; it cannot be part of a list'
      : `unknown method ${JSON.stringify(word)}${hint}; use ${METHODS.join(', ')}, a list like GET|HEAD, or *`)
  }
  return ok ? out : undefined
}

// ---------------------------------------------------------------------------------------------
// Can the glob match an endpoint?

type GlobToken = { kind: 'globstar' } | { kind: 'seg'; test: (s: string) => boolean }
type TemplateToken = { kind: 'lit'; text: string } | { kind: 'param' }

/**
 * The operations whose path template this glob may match (and whose method it names).
 * Conservative: a path parameter stands for one or more segments of anything, since the engine
 * routes `{name:.*}` for images, plugins and more; when the glob uses escapes the answer is
 * "every operation with a matching method". Used for meaning checks only, never for decisions.
 */
export function operationsMatching(g: CompiledGlob, operations: readonly Operation[]): Operation[] {
  const byMethod = operations.filter((op) => g.methods === '*' || g.methods.includes(op.method))
  if (g.glob.includes('\\')) return byMethod
  const expanded = micromatch.braces(g.glob, { expand: true })
  const globs = expanded.map(tokenizeGlob)
  return byMethod.filter((op) => {
    const t = tokenizeTemplate(op.template)
    return globs.some((gt) => mayMatch(gt, t))
  })
}

function tokenizeGlob(glob: string): GlobToken[] {
  return glob.split('/').slice(1).map((seg): GlobToken => {
    if (seg === '**') return { kind: 'globstar' }
    const test = micromatch.matcher(seg, GLOB_OPTIONS)
    return { kind: 'seg', test }
  })
}

function tokenizeTemplate(template: string): TemplateToken[] {
  return template.split('/').slice(1).map((seg): TemplateToken => (/^\{[^}]+\}$/.test(seg) ? { kind: 'param' } : { kind: 'lit', text: seg }))
}

/**
 * Is there a path both match? A small NFA product: state (i, j, inParam) = glob token i,
 * template token j, and whether template token j (a parameter) has already taken a segment.
 */
function mayMatch(g: readonly GlobToken[], t: readonly TemplateToken[]): boolean {
  const seen = new Set<string>()
  const stack: Array<[number, number, boolean]> = [[0, 0, false]]
  while (stack.length > 0) {
    const [i, j, inParam] = stack.pop() ?? [0, 0, false]
    const key = `${i},${j},${inParam}`
    if (seen.has(key)) continue
    seen.add(key)
    const gt = g[i]
    // Epsilon moves: `**` may take no segment; a parameter that took one may end here.
    if (gt?.kind === 'globstar') stack.push([i + 1, j, inParam])
    if (inParam) stack.push([i, j + 1, false])
    if (i === g.length && j === t.length && !inParam) return true
    const tt = t[j]
    if (gt === undefined || tt === undefined) continue
    // Consume one segment on both sides.
    const segOk = gt.kind === 'globstar' || tt.kind === 'param' || gt.test(tt.text)
    if (!segOk) continue
    const ni = gt.kind === 'globstar' ? i : i + 1
    if (tt.kind === 'param') stack.push([ni, j, true])
    else stack.push([ni, j + 1, false])
  }
  return false
}
