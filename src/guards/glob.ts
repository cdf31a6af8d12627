/**
 * Globs in the `guards:` section, compiled once at policy load with fixed, tested options.
 *
 * micromatch semantics: `*` and `?` never cross `/`, `**` does; `{a,b}` braces and `[...]`
 * classes work; negation (`!x`) and extglobs (`+(x)`) are off, so a leading `!` is a literal
 * (and reported as a problem, because it is almost certainly a mistake).
 */
import micromatch from 'micromatch'

/** The options every guard glob is compiled with (test/unit/guards/rules.test.ts pins them). */
export const GLOB_OPTIONS: micromatch.Options = Object.freeze({
  dot: true, // `/srv/**` covers `/srv/.ssh`: a hidden name is no reason to escape an allowlist
  nonegate: true,
  noextglob: true,
  strictBrackets: true, // an unclosed `[`, `{` or `(` is an error, not a literal
  nocase: false,
})

/** A compiled list of globs; `matches` is true when any glob matches the whole value. */
export interface GlobList {
  /** The globs as written in the policy, for messages and audit records. */
  readonly patterns: readonly string[]
  matches(value: string): boolean
}

/** Compiles one glob, or returns the reason it is unusable. */
export function compileGlob(pattern: string): ((value: string) => boolean) | string {
  if (pattern === '') return 'empty glob'
  if (pattern.startsWith('!')) return 'negated globs are not supported (list what is allowed instead)'
  try {
    const match = micromatch.matcher(pattern, GLOB_OPTIONS)
    // micromatch compiles lazily for some inputs; one call surfaces a late syntax error now.
    match('')
    return match
  } catch (err) {
    return `invalid glob: ${err instanceof Error ? err.message : String(err)}`
  }
}

/**
 * Compiles globs into a GlobList; an unusable glob is left out and reported through `problem`
 * with its index (the policy loader then refuses the policy, so leaving it out never loosens).
 */
export function globList(patterns: readonly string[], problem?: (index: number, message: string) => void): GlobList {
  const kept: string[] = []
  const matchers: Array<(value: string) => boolean> = []
  patterns.forEach((pattern, index) => {
    const compiled = compileGlob(pattern)
    if (typeof compiled === 'string') {
      problem?.(index, `${compiled}: ${JSON.stringify(pattern)}`)
      return
    }
    kept.push(pattern)
    matchers.push(compiled)
  })
  return Object.freeze({
    patterns: Object.freeze(kept),
    matches: (value: string) => matchers.some((m) => m(value)),
  })
}

/** A GlobList that matches nothing. */
export const NO_GLOBS: GlobList = globList([])

/** A GlobList that matches everything (used for `allow: true`). */
export const ANY_GLOB: GlobList = Object.freeze({ patterns: Object.freeze(['**']), matches: () => true })
