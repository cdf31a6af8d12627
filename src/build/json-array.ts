/**
 * The JSON form of ADD/COPY (`ADD ["src", "dest"]`), read as the Dockerfile parser reads it
 * (buildkit parser/line_parsers.go parseJSON): Go's json.Decoder takes the FIRST JSON value of the
 * rest of the line (anything after it is ignored), decodes strings leniently (invalid UTF-8 becomes
 * U+FFFD, unpaired surrogate escapes too), and the value must be an array of strings. A syntax
 * error means "not the JSON form": the line is then split on whitespace.
 */
import { decodeRune, RUNE_ERROR, toBytes } from './go-text.js'

export type StringArray =
  | { readonly kind: 'strings'; readonly values: readonly string[] }
  | { readonly kind: 'not-strings' }
  | { readonly kind: 'syntax' }

class Syntax extends Error {}

/** Decodes the JSON array at the start of byte string `s` (which starts with '['). Values are byte strings. */
export function decodeStringArray(s: string): StringArray {
  let pos = 0
  const ws = (): void => {
    while (pos < s.length && ' \t\r\n'.includes(s[pos]!)) pos++
  }
  const expect = (c: string): void => {
    if (s[pos] !== c) throw new Syntax()
    pos++
  }
  const string = (): string => {
    expect('"')
    let out = ''
    for (;;) {
      if (pos >= s.length) throw new Syntax()
      const c = s.charCodeAt(pos)
      if (c === 0x22) {
        pos++
        return out
      }
      if (c < 0x20) throw new Syntax()
      if (c === 0x5c) {
        const e = s[pos + 1]
        pos += 2
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
        if (e !== undefined && e in simple) {
          out += simple[e]
          continue
        }
        if (e !== 'u') throw new Syntax()
        const hex = (): number => {
          const h = s.slice(pos, pos + 4)
          if (!/^[0-9a-fA-F]{4}$/.test(h)) throw new Syntax()
          pos += 4
          return parseInt(h, 16)
        }
        let cp = hex()
        if (cp >= 0xd800 && cp < 0xdc00 && s.startsWith('\\u', pos) && /^[0-9a-fA-F]{4}$/.test(s.slice(pos + 2, pos + 6))) {
          const lo = parseInt(s.slice(pos + 2, pos + 6), 16)
          if (lo >= 0xdc00 && lo < 0xe000) {
            pos += 6
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00)
          }
        }
        out += String.fromCodePoint(cp >= 0xd800 && cp < 0xe000 ? RUNE_ERROR : cp)
        continue
      }
      const [r, w] = decodeRune(s, pos)
      out += String.fromCodePoint(r)
      pos += w
    }
  }
  const skipValue = (depth: number): boolean => {
    // Returns true when the value is a string.
    if (depth > 10000) throw new Syntax()
    ws()
    const c = s[pos]
    if (c === '"') {
      string()
      return true
    }
    if (c === '[' || c === '{') {
      pos++
      ws()
      const close = c === '[' ? ']' : '}'
      if (s[pos] === close) {
        pos++
        return false
      }
      for (;;) {
        if (c === '{') {
          ws()
          string()
          ws()
          expect(':')
        }
        skipValue(depth + 1)
        ws()
        if (s[pos] === ',') {
          pos++
          continue
        }
        expect(close)
        return false
      }
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/.exec(s.slice(pos, pos + 400))
    if (m === null || m[0] === '') throw new Syntax()
    pos += m[0].length
    return false
  }
  try {
    expect('[')
    ws()
    const values: string[] = []
    let allStrings = true
    if (s[pos] === ']') return { kind: 'strings', values }
    for (;;) {
      ws()
      if (s[pos] === '"') values.push(toBytes(string()))
      else {
        skipValue(1)
        allStrings = false
      }
      ws()
      if (s[pos] === ',') {
        pos++
        continue
      }
      expect(']')
      return allStrings ? { kind: 'strings', values } : { kind: 'not-strings' }
    }
  } catch (err) {
    if (err instanceof Syntax) return { kind: 'syntax' }
    throw err
  }
}
