/**
 * Decode a request body the way dockerd (Go encoding/json) reads it, or refuse it.
 *
 * The engine decodes bodies into Go structs, where field names match keys case-insensitively with
 * Unicode simple folding (`Bindſ` ≡ `Binds`, `NetworKMode` ≡ `NetworkMode`), a repeated key is
 * applied again (last scalar wins, a repeated object is merged into the earlier one), and `\uXXXX`
 * escapes in keys are decoded (`"\u0050rivileged"` is `Privileged`). docs/engine-notes.md "Bodies"
 * lists the bypasses this opens against a checker that reads a JS object.
 *
 * Rather than emulate Go's merging, we refuse every body that Go could read differently from
 * a plain reading: in struct positions keys must be ASCII and unique after case folding; in map
 * positions (Shape) keys must be unique; grammar is strict RFC 8259; bytes are valid UTF-8 with no
 * BOM; lone surrogates and trailing data are refused. What is accepted is forwarded as
 * `encodeBody(tree)`, so the engine decodes exactly the values the guards checked.
 */
import assert from 'node:assert/strict'
import { foldKey, JsonNumber, JsonObject, type JsonValue } from './json-value.js'
import { childShape, itemShape, objectKind, type Shape } from './shape.js'

/** A body refused by the decoder; `reason` is a short message naming the JSON path. */
export class BodyError extends Error {
  constructor(
    readonly reason: string,
    /** Byte offset into the body where the problem was found. */
    readonly offset?: number,
  ) {
    super(reason)
    this.name = 'BodyError'
  }
}

/** Deepest nesting of objects and arrays we decode (Go allows 10000; Engine API bodies need ~10). */
export const MAX_DEPTH = 256

// Validates the whole body once; string contents are then decoded slice by slice. `ignoreBOM`
// keeps a U+FEFF that starts a string's contents (the default would silently drop it).
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const QUOTE = 0x22
const BACKSLASH = 0x5c
const ESCAPES: Readonly<Record<number, string>> = {
  0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t',
}
/** RFC 8259 number grammar, for numbers built outside the decoder. */
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/
const ASCII = /^[\x00-\x7f]*$/
/** Matches only unpaired surrogates (the u flag reads a pair as one code point). */
const LONE_SURROGATE = /[\ud800-\udfff]/u
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/

/**
 * Decode `bytes` as one JSON value, treating objects as Go structs or maps according to `shape`.
 * Throws BodyError for anything the engine could read differently (see the module comment).
 * The caller handles empty bodies and the size limit before calling.
 */
export function decodeBody(bytes: Uint8Array, shape: Shape): JsonValue {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new BodyError('body starts with a byte order mark', 0)
  }
  try {
    utf8Strict.decode(bytes)
  } catch {
    throw new BodyError('body is not valid UTF-8', firstInvalidUtf8(bytes))
  }
  return new Decoder(bytes).body(shape)
}

class Decoder {
  private pos = 0
  /** Keys and indexes from the top to the value being decoded, for messages. */
  private readonly path: Array<string | number> = []

  constructor(private readonly b: Uint8Array) {}

  body(shape: Shape): JsonValue {
    this.skipSpace()
    if (this.pos >= this.b.length) throw new BodyError('body is empty', 0)
    const value = this.value(shape, 0)
    this.skipSpace()
    if (this.pos < this.b.length) this.fail('trailing data after the JSON value')
    return value
  }

  private value(shape: Shape, depth: number): JsonValue {
    const c = this.b[this.pos]
    switch (c) {
      case 0x7b: // {
        return this.object(shape, depth + 1)
      case 0x5b: // [
        return this.array(shape, depth + 1)
      case QUOTE:
        return this.string()
      case 0x74: // t
        return this.literal('true', true)
      case 0x66: // f
        return this.literal('false', false)
      case 0x6e: // n
        return this.literal('null', null)
      default:
        if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number()
        return this.unexpected('a value')
    }
  }

  private object(shape: Shape, depth: number): JsonObject {
    this.checkDepth(depth)
    const kind = objectKind(shape)
    const entries: Array<readonly [string, JsonValue]> = []
    // struct: folded key → key as sent; map: key → key. Created at the first key ({} is common).
    let seen: Map<string, string> | undefined
    this.pos++
    this.skipSpace()
    if (this.peek() === 0x7d) {
      this.pos++
      return new JsonObject(entries, kind)
    }
    for (;;) {
      if (this.peek() !== QUOTE) {
        this.unexpected(entries.length > 0 && this.peek() === 0x7d ? 'a key (trailing comma)' : 'a key')
      }
      const keyAt = this.pos
      const key = this.string()
      seen ??= new Map()
      this.checkKey(kind, key, seen, keyAt)
      this.skipSpace()
      if (this.peek() !== 0x3a) this.unexpected('":" after a key')
      this.pos++
      this.skipSpace()
      this.path.push(key)
      entries.push([key, this.value(childShape(shape, key), depth)])
      this.path.pop()
      this.skipSpace()
      const c = this.peek()
      if (c !== 0x2c && c !== 0x7d) this.unexpected('"," or "}"')
      this.pos++
      if (c === 0x7d) return new JsonObject(entries, kind)
      this.skipSpace()
    }
  }

  /**
   * Struct keys: Go matches them to fields with Unicode case folding, so a non-ASCII key may
   * land on a field (`Bindſ`), and keys equal after folding overwrite or merge: refuse both.
   * Map keys are data, compared exactly by Go: refuse only exact repeats.
   */
  private checkKey(kind: 'struct' | 'map', key: string, seen: Map<string, string>, at: number): void {
    if (kind === 'struct' && !ASCII.test(key)) {
      this.fail(`non-ASCII key ${JSON.stringify(key)} (the engine may match it to a field by Unicode case folding)`, at)
    }
    const id = kind === 'struct' ? foldKey(key) : key
    const first = seen.get(id)
    if (first !== undefined) {
      const same = first === key ? '' : ` (same as ${JSON.stringify(first)})`
      this.path.push(first)
      this.fail(`duplicate key ${JSON.stringify(key)}${same}`, at)
    }
    seen.set(id, key)
  }

  private array(shape: Shape, depth: number): JsonValue[] {
    this.checkDepth(depth)
    const items: JsonValue[] = []
    const item = itemShape(shape)
    this.pos++
    this.skipSpace()
    if (this.peek() === 0x5d) {
      this.pos++
      return items
    }
    for (;;) {
      if (items.length > 0 && this.peek() === 0x5d) this.unexpected('a value (trailing comma)')
      this.path.push(items.length)
      items.push(this.value(item, depth))
      this.path.pop()
      this.skipSpace()
      const c = this.peek()
      if (c !== 0x2c && c !== 0x5d) this.unexpected('"," or "]"')
      this.pos++
      if (c === 0x5d) return items
      this.skipSpace()
    }
  }

  /** A string starting at the opening quote; returns its decoded contents. */
  private string(): string {
    const b = this.b
    const open = this.pos
    let out = ''
    let run = ++this.pos
    let ascii = true
    for (;;) {
      const c = b[this.pos]
      if (c === undefined) this.fail('unterminated string', open)
      if (c === QUOTE || c === BACKSLASH) {
        if (this.pos > run) out += this.text(run, this.pos, ascii)
        if (c === QUOTE) {
          this.pos++
          return out
        }
        out += this.escape()
        run = this.pos
        ascii = true
      } else if (c < 0x20) {
        this.fail('control character in a string (must be escaped)')
      } else {
        if (c >= 0x80) ascii = false
        this.pos++
      }
    }
  }

  /** Bytes [from, to) as a string; short ASCII runs skip the TextDecoder call (hot for keys). */
  private text(from: number, to: number, ascii: boolean): string {
    const run = this.b.subarray(from, to)
    return ascii && run.length <= 64 ? String.fromCharCode(...run) : utf8Strict.decode(run)
  }

  /** An escape starting at the backslash. Lone surrogates are refused (Go would use U+FFFD). */
  private escape(): string {
    const at = this.pos
    const c = this.b[this.pos + 1]
    if (c === 0x75) {
      this.pos += 2
      const unit = this.hex4()
      if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone surrogate in a \\u escape', at)
      if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit)
      if (this.b[this.pos] !== BACKSLASH || this.b[this.pos + 1] !== 0x75) this.fail('lone surrogate in a \\u escape', at)
      this.pos += 2
      const low = this.hex4()
      if (low < 0xdc00 || low > 0xdfff) this.fail('lone surrogate in a \\u escape', at)
      return String.fromCharCode(unit, low)
    }
    const simple = c === undefined ? undefined : ESCAPES[c]
    if (simple === undefined) this.fail('invalid escape in a string', at)
    this.pos += 2
    return simple
  }

  private hex4(): number {
    let unit = 0
    for (let i = 0; i < 4; i++) {
      const c = this.b[this.pos] ?? -1
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1
      if (d < 0) this.fail('invalid \\u escape in a string')
      unit = unit * 16 + d
      this.pos++
    }
    return unit
  }

  /** RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?; kept as source text. */
  private number(): JsonNumber {
    const start = this.pos
    if (this.peek() === 0x2d) this.pos++
    if (this.peek() === 0x30) {
      this.pos++
      if (isDigit(this.peek())) this.fail('number with a leading zero', start)
    } else if (!this.digits()) {
      this.fail('invalid number', start)
    }
    if (this.peek() === 0x2e) {
      this.pos++
      if (!this.digits()) this.fail('invalid number (no digits after ".")', start)
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      this.pos++
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.pos++
      if (!this.digits()) this.fail('invalid number (no digits in the exponent)', start)
    }
    return new JsonNumber(this.text(start, this.pos, true))
  }

  private digits(): boolean {
    const start = this.pos
    while (isDigit(this.peek())) this.pos++
    return this.pos > start
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.b[this.pos] !== word.charCodeAt(i)) this.unexpected('a value')
      this.pos++
    }
    return value
  }

  private skipSpace(): void {
    // RFC 8259 §2: space, tab, line feed, carriage return (the same set Go's scanner accepts).
    for (;;) {
      const c = this.b[this.pos]
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return
      this.pos++
    }
  }

  private peek(): number | undefined {
    return this.b[this.pos]
  }

  private checkDepth(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`)
  }

  private unexpected(wanted: string): never {
    const c = this.b[this.pos]
    const found =
      c === undefined ? 'end of body' : c >= 0x21 && c <= 0x7e ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16).padStart(2, '0')}`
    return this.fail(`expected ${wanted}, found ${found}`)
  }

  private fail(what: string, at: number = this.pos): never {
    throw new BodyError(`${what} at ${formatPath(this.path)}`, at)
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39
}

/** Docker's dotted form, keys as sent: `HostConfig.Binds[2]`; odd keys quoted: `Labels["a.b"]`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return 'top level'
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else if (PLAIN_KEY.test(part)) out += out === '' ? part : `.${part}`
    else out += `[${JSON.stringify(part)}]`
  }
  return out
}

/**
 * Offset of the first byte of the first ill-formed UTF-8 sequence, for the message only (the
 * TextDecoder decides validity). Well-formed ranges: Unicode 15 §3.9, table 3-7.
 */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0
  while (i < b.length) {
    const c = b[i] ?? 0
    if (c < 0x80) {
      i++
      continue
    }
    const more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0
    if (more === 0) return i
    // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf
    const second = b[i + 1] ?? 0
    if (second < lo || second > hi) return i
    for (let k = 2; k <= more; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i
    i += more + 1
  }
  return i
}

/**
 * Canonical JSON text for a value tree: keys as stored, strings escaped as JSON.stringify does,
 * numbers as their source text, no whitespace. Asserts the tree is unambiguous for Go (a tree
 * built or changed by code, not by decodeBody, could otherwise smuggle a duplicate key or a
 * number that is not a number, or a lone surrogate).
 */
export function encodeBody(value: JsonValue): string {
  const parts: string[] = []
  encodeInto(value, parts)
  return parts.join('')
}

function encodeInto(value: JsonValue, out: string[]): void {
  if (value === null) out.push('null')
  else if (value === true) out.push('true')
  else if (value === false) out.push('false')
  else if (typeof value === 'string') out.push(encodeString(value))
  else if (value instanceof JsonNumber) {
    assert(NUMBER.test(value.text), `not a JSON number: ${JSON.stringify(value.text)}`)
    out.push(value.text)
  } else if (Array.isArray(value)) {
    out.push('[')
    value.forEach((item, i) => {
      if (i > 0) out.push(',')
      encodeInto(item, out)
    })
    out.push(']')
  } else {
    const seen = new Set<string>()
    out.push('{')
    value.entries.forEach(([key, item], i) => {
      const id = value.kind === 'struct' ? foldKey(key) : key
      assert(!seen.has(id), `duplicate key ${JSON.stringify(key)} in a ${value.kind}`)
      assert(value.kind === 'map' || ASCII.test(key), `non-ASCII key ${JSON.stringify(key)} in a struct`)
      seen.add(id)
      if (i > 0) out.push(',')
      out.push(encodeString(key), ':')
      encodeInto(item, out)
    })
    out.push('}')
  }
}

/** JSON.stringify escaping; a lone surrogate would reach Go as U+FFFD, not as what was checked. */
function encodeString(s: string): string {
  assert(!LONE_SURROGATE.test(s), `string with a lone surrogate: ${JSON.stringify(s)}`)
  return JSON.stringify(s)
}
