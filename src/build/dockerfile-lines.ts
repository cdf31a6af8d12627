/**
 * A Dockerfile's bytes → its logical lines (instructions), the way moby/buildkit's
 * frontend/dockerfile/parser/parser.go Parse() joins them, in two variants:
 *
 * - '20.10' (buildkit v0.8, vendored by dockerd 20.10): bufio.ScanLines (drops "\n" and one
 *   trailing "\r");
 * - '26.1' (buildkit v0.13, dockerd 26.1): lines keep their "\n" and lose every trailing "\r"/"\n"
 *   (trimNewline). Heredocs (`RUN <<EOF`) are NOT modelled: callers treat a file that contains
 *   "<<" conservatively (dockerfile-check.ts).
 *
 * Common to both: a UTF-8 BOM is dropped from the first line; leading parser directives
 * (`# escape=` and `# syntax=`, once each) come first; leading Unicode whitespace is trimmed from the
 * first line of an instruction; lines starting with '#' are comments; the escape token, last on a
 * line (only spaces or tabs after it, not itself escaped), joins the next line, with comment lines
 * and blank lines inside the continuation skipped.
 */
import { trimLeftSpace } from './go-text.js'

export type ParserVariant = '20.10' | '26.1'

export interface LogicalLine {
  /** 1-based number of the line the instruction starts on. */
  readonly line: number
  /** The joined text (a byte string, see go-text.ts), as handed to newNodeFromLine. */
  readonly text: string
}

export interface DockerfileLines {
  readonly escape: '\\' | '`'
  readonly lines: readonly LogicalLine[]
  /** Every physical line, for the conservative scan of heredoc-capable files. */
  readonly physical: readonly string[]
}

/** A Dockerfile the engine refuses to parse (it then builds nothing). */
export class DockerfileSyntaxError extends Error {}

// Go regexp \s is [\t\n\f\r ]; '.' is any char but '\n'.
const DIRECTIVE = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/

function physicalLines(src: string, variant: ParserVariant): string[] {
  const out: string[] = []
  let start = 0
  while (start < src.length) {
    const nl = src.indexOf('\n', start)
    const end = nl === -1 ? src.length : nl + 1
    let line = src.slice(start, end)
    if (variant === '20.10') {
      if (line.endsWith('\n')) line = line.slice(0, -1)
      if (line.endsWith('\r')) line = line.slice(0, -1)
    }
    out.push(line)
    start = end
  }
  return out
}

function trimNewline(line: string, variant: ParserVariant): string {
  return variant === '26.1' ? line.replace(/[\r\n]+$/, '') : line
}

class Directives {
  escape: '\\' | '`' = '\\'
  private done = false
  private readonly seen = new Set<string>()
  private continuation = this.continuationFor('\\')

  private continuationFor(esc: string): RegExp {
    const e = `\\${esc}`
    return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`)
  }

  /** possibleParserDirective (throws for what makes Parse fail). */
  check(token: string): void {
    if (this.done) return
    const m = DIRECTIVE.exec(token)
    if (m === null) {
      this.done = true
      return
    }
    const key = m[1]!.toLowerCase()
    if (key !== 'escape' && key !== 'syntax') {
      this.done = true
      return
    }
    if (this.seen.has(key)) throw new DockerfileSyntaxError(`only one ${key} parser directive can be used`)
    this.seen.add(key)
    if (key === 'escape') {
      const v = m[2]!
      if (v !== '`' && v !== '\\') throw new DockerfileSyntaxError(`invalid escape token '${v}' does not match \` or \\`)
      this.escape = v
      this.continuation = this.continuationFor(v)
    }
  }

  /** trimContinuationCharacter: [line without the escape, whether the instruction ends here]. */
  trimContinuation(line: string): [string, boolean] {
    const m = this.continuation.exec(line)
    if (m === null) return [line, true]
    return [line.slice(0, m.index) + (m[1] ?? ''), false]
  }
}

function isComment(line: string): boolean {
  return trimLeftSpace(line).startsWith('#')
}

function trimComment(token: string): string {
  return token.startsWith('#') ? '' : token
}

/**
 * Splits `src` (the Dockerfile as a byte string) into instructions. Throws
 * DockerfileSyntaxError for what makes the engine's Parse fail (bad directives).
 */
export function logicalLines(src: string, variant: ParserVariant): DockerfileLines {
  const d = new Directives()
  const physical = physicalLines(src, variant)
  const lines: LogicalLine[] = []
  let i = 0
  const processLine = (raw: string, stripLeft: boolean): string => {
    let token = trimNewline(raw, variant)
    if (stripLeft) token = trimLeftSpace(token)
    d.check(token)
    return trimComment(token)
  }
  while (i < physical.length) {
    let raw = physical[i]!
    if (i === 0 && raw.startsWith('\xef\xbb\xbf')) raw = raw.slice(3)
    const first = processLine(raw, true)
    i++
    const start = i
    let [line, ended] = d.trimContinuation(first)
    if (ended && line === '') continue
    while (!ended && i < physical.length) {
      const next = physical[i]!
      const processed = processLine(next, false)
      i++
      if (isComment(trimNewline(next, variant))) continue
      if (trimLeftSpace(processed) === '') continue
      const [more, end] = d.trimContinuation(processed)
      line += more
      ended = end
    }
    lines.push({ line: start, text: line })
  }
  return { escape: d.escape, lines, physical }
}

/**
 * The instruction that would start at physical line `index` (0-based), joined the same way:
 * what 26.1 reads there when a heredoc before it ended on the previous line.
 */
export function lineStartingAt(file: DockerfileLines, index: number, variant: ParserVariant): LogicalLine | undefined {
  const d = new Directives()
  if (file.escape === '`') d.check('# escape=`')
  const all = file.physical
  const processed = (raw: string, stripLeft: boolean): string => {
    let token = trimNewline(raw, variant)
    if (stripLeft) token = trimLeftSpace(token)
    return trimComment(token)
  }
  let [line, ended] = d.trimContinuation(processed(all[index]!, true))
  if (ended && line === '') return undefined
  let i = index + 1
  while (!ended && i < all.length) {
    const next = all[i]!
    i++
    const p = processed(next, false)
    if (isComment(trimNewline(next, variant))) continue
    if (trimLeftSpace(p) === '') continue
    const [more, end] = d.trimContinuation(p)
    line += more
    ended = end
  }
  return { line: index + 1, text: line }
}
