/**
 * One logical Dockerfile line → instruction keyword, flags and arguments, following
 * moby/buildkit frontend/dockerfile/parser (split_command.go, line_parsers.go; identical in the
 * v0.8 and v0.13 vendored by dockerd 20.10 and 26.1). All input and output strings are byte
 * strings (go-text.ts), because Go reads parts of a line byte by byte (extractBuilderFlags treats
 * each byte as a rune, so 0x85 and 0xA0 are spaces there) and other parts rune by rune.
 */
import { decodeRune, goLower, isSpace, toUnicode, trimLeftSpace, trimSpace } from './go-text.js'
import { decodeStringArray } from './json-array.js'

/** Go regexp [\t\v\f\r ]+ (reWhitespace). */
const WS = /[\t\v\f\r ]+/

export interface SplitLine {
  /** Lower-cased keyword, e.g. "add" (Unicode). */
  readonly cmd: string
  /** `--name=value` words before the arguments. */
  readonly flags: readonly string[]
  /** The rest of the line, trimmed. */
  readonly args: string
}

/** splitCommand. */
export function splitCommand(line: string): SplitLine {
  const trimmed = trimSpace(line)
  const m = WS.exec(trimmed)
  const cmd = goLower(toUnicode(m === null ? trimmed : trimmed.slice(0, m.index)))
  if (m === null) return { cmd, flags: [], args: '' }
  const [args, flags] = extractBuilderFlags(trimmed.slice(m.index + m[0].length))
  return { cmd, flags, args: trimSpace(args) }
}

/** extractBuilderFlags: leading `--flag` words (byte by byte, as Go does), then the rest. */
function extractBuilderFlags(line: string): [string, string[]] {
  const words: string[] = []
  let phase: 'spaces' | 'word' | 'quote' = 'spaces'
  let word = ''
  let quote = ''
  let blankOK = false
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = pos < line.length ? line[pos]! : ''
    if (phase === 'spaces') {
      if (pos === line.length) break
      if (isSpace(ch.charCodeAt(0))) continue
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return [line.slice(pos), words]
      phase = 'word'
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word)
      break
    }
    if (phase === 'word') {
      if (isSpace(ch.charCodeAt(0))) {
        phase = 'spaces'
        if (word === '--') return [line.slice(pos), words]
        if (blankOK || word.length > 0) words.push(word)
        word = ''
        blankOK = false
        continue
      }
      if (ch === "'" || ch === '"') {
        quote = ch
        blankOK = true
        phase = 'quote'
        continue
      }
      let c = ch
      if (c === '\\') {
        if (pos + 1 === line.length) continue
        c = line[++pos]!
      }
      word += c
      continue
    }
    // phase === 'quote'
    if (ch === quote) {
      phase = 'word'
      continue
    }
    let c = ch
    if (c === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word'
        continue
      }
      c = line[++pos]!
    }
    word += c
  }
  return ['', words]
}

/** parseStringsWhitespaceDelimited. */
export function whitespaceWords(rest: string): string[] {
  return rest === '' ? [] : rest.split(new RegExp(WS.source, 'g'))
}

/**
 * parseWords (ENV, ARG, LABEL): words split on Unicode spaces; quotes are kept (ProcessWord removes
 * them later); the escape token keeps the next character in the word.
 */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = []
  let phase: 'spaces' | 'word' | 'quote' = 'spaces'
  let word = ''
  let quote = ''
  let blankOK = false
  for (let pos = 0; pos <= rest.length; ) {
    let [r, w] = pos < rest.length ? decodeRune(rest, pos) : [0, 0]
    let ch = rest.slice(pos, pos + w)
    if (phase === 'spaces') {
      if (pos === rest.length) break
      if (isSpace(r)) {
        pos += w
        continue
      }
      phase = 'word'
    }
    if (pos === rest.length) {
      if (blankOK || word.length > 0) words.push(word)
      break
    }
    if (phase === 'word') {
      if (isSpace(r)) {
        phase = 'spaces'
        if (blankOK || word.length > 0) words.push(word)
        word = ''
        blankOK = false
        pos += w
        continue
      }
      if (ch === "'" || ch === '"') {
        quote = ch
        blankOK = true
        phase = 'quote'
      }
      if (ch === escape) {
        if (pos + w === rest.length) {
          pos += w
          continue
        }
        word += ch
        pos += w
        ;[r, w] = decodeRune(rest, pos)
        ch = rest.slice(pos, pos + w)
      }
      word += ch
      pos += w
      continue
    }
    // phase === 'quote'
    if (ch === quote) phase = 'word'
    if (ch === escape && quote !== "'") {
      if (pos + w === rest.length) {
        phase = 'word'
        pos += w
        continue
      }
      pos += w
      word += ch
      ;[r, w] = decodeRune(rest, pos)
      ch = rest.slice(pos, pos + w)
    }
    word += ch
    pos += w
  }
  return words
}

/** Arguments of ADD/COPY (parseMaybeJSONToList): the JSON form, else whitespace words. */
export interface ListArgs {
  readonly json: boolean
  readonly words: readonly string[]
}

/**
 * A JSON array that holds something other than strings makes the parser fail, unless Go's decoder
 * rejects one of its numbers (out of float64 range), in which case the line is read as plain words:
 * both are covered by reading it as plain words.
 */
export function listArgs(rest: string): ListArgs {
  const trimmed = trimLeftSpace(rest)
  if (trimmed.startsWith('[')) {
    const decoded = decodeStringArray(trimmed)
    if (decoded.kind === 'strings') return { json: true, words: decoded.values }
  }
  return { json: false, words: whitespaceWords(rest) }
}

/** ENV's key/value pairs (parseNameVal): `KEY value` (old form) or `KEY=value ...`. */
export function envPairs(rest: string, escape: string): Array<[string, string]> | undefined {
  const words = parseWords(rest, escape)
  if (words.length === 0) return []
  if (!words[0]!.includes('=')) {
    const m = WS.exec(rest)
    if (m === null) return undefined
    return [[rest.slice(0, m.index), rest.slice(m.index + m[0].length)]]
  }
  const pairs: Array<[string, string]> = []
  for (const word of words) {
    const eq = word.indexOf('=')
    if (eq < 0) return undefined
    pairs.push([word.slice(0, eq), word.slice(eq + 1)])
  }
  return pairs
}

/** ARG's names and optional defaults (parseNameOrNameVal, then instructions.parseArg). */
export function argPairs(rest: string, escape: string): Array<[string, string | undefined]> {
  return parseWords(rest, escape).map((word) => {
    const eq = word.indexOf('=')
    return eq < 0 ? [word, undefined] : [word.slice(0, eq), word.slice(eq + 1)]
  })
}
