/**
 * Go's view of text, for code that must read bytes exactly as dockerd does.
 *
 * Go strings are byte strings: the Dockerfile parser (moby/buildkit frontend/dockerfile/parser)
 * mixes byte-wise steps (regexps on ASCII classes, `rune(line[pos])` in extractBuilderFlags) with
 * rune-wise ones (unicode.IsSpace, utf8.DecodeRuneInString, text/scanner). Here a "byte string" is
 * a JS string holding one byte per char (latin1), so both views are available; decodeRune follows
 * unicode/utf8.DecodeRuneInString (an invalid byte is U+FFFD of width 1).
 */

export const RUNE_ERROR = 0xfffd

/** The Unicode code point at `pos` of a byte string and its width in bytes (Go's utf8.DecodeRuneInString). */
export function decodeRune(s: string, pos: number): [rune: number, width: number] {
  const b0 = s.charCodeAt(pos)
  if (b0 < 0x80) return [b0, 1]
  const cont = (i: number): number => {
    const b = s.charCodeAt(pos + i)
    return b >= 0x80 && b <= 0xbf ? b & 0x3f : -1
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1)
    return c1 < 0 ? [RUNE_ERROR, 1] : [((b0 & 0x1f) << 6) | c1, 2]
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const b1 = s.charCodeAt(pos + 1)
    // Overlong (E0 80..9F) and surrogate (ED A0..BF) forms are invalid.
    if ((b0 === 0xe0 && b1 < 0xa0) || (b0 === 0xed && b1 > 0x9f)) return [RUNE_ERROR, 1]
    const c1 = cont(1)
    const c2 = c1 < 0 ? -1 : cont(2)
    return c2 < 0 ? [RUNE_ERROR, 1] : [((b0 & 0x0f) << 12) | (c1 << 6) | c2, 3]
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const b1 = s.charCodeAt(pos + 1)
    if ((b0 === 0xf0 && b1 < 0x90) || (b0 === 0xf4 && b1 > 0x8f)) return [RUNE_ERROR, 1]
    const c1 = cont(1)
    const c2 = c1 < 0 ? -1 : cont(2)
    const c3 = c2 < 0 ? -1 : cont(3)
    return c3 < 0 ? [RUNE_ERROR, 1] : [((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4]
  }
  return [RUNE_ERROR, 1]
}

/** A byte string as Unicode text, each invalid byte becoming U+FFFD (what Go's range loop and text/scanner see). */
export function toUnicode(s: string): string {
  // Fast path: ASCII only.
  if (!/[\x80-\xff]/.test(s)) return s
  let out = ''
  for (let pos = 0; pos < s.length; ) {
    const [r, w] = decodeRune(s, pos)
    out += String.fromCodePoint(r)
    pos += w
  }
  return out
}

/** Unicode text as a byte string (UTF-8). */
export function toBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1')
}

/** Go's unicode.IsSpace. */
export function isSpace(r: number): boolean {
  if (r < 0x80) return r === 0x20 || (r >= 0x09 && r <= 0x0d)
  return r === 0x85 || r === 0xa0 || r === 0x1680 || (r >= 0x2000 && r <= 0x200a) || r === 0x2028 || r === 0x2029 || r === 0x202f || r === 0x205f || r === 0x3000
}

/** Go's unicode.IsLetter (category L). */
export function isLetter(r: number): boolean {
  return /\p{L}/u.test(String.fromCodePoint(r))
}

/** Go's unicode.IsDigit (category Nd). */
export function isDigit(r: number): boolean {
  if (r < 0x80) return r >= 0x30 && r <= 0x39
  return /\p{Nd}/u.test(String.fromCodePoint(r))
}

/** bytes.TrimLeftFunc(s, unicode.IsSpace) on a byte string. */
export function trimLeftSpace(s: string): string {
  let pos = 0
  while (pos < s.length) {
    const [r, w] = decodeRune(s, pos)
    if (!isSpace(r)) break
    pos += w
  }
  return s.slice(pos)
}

/** strings.TrimSpace on a byte string: Unicode spaces at both ends. */
export function trimSpace(s: string): string {
  const left = trimLeftSpace(s)
  let end = left.length
  // Walk back over whole runes: find rune starts from the left, then trim trailing spaces.
  const starts: number[] = []
  for (let pos = 0; pos < left.length; ) {
    starts.push(pos)
    pos += decodeRune(left, pos)[1]
  }
  for (let i = starts.length - 1; i >= 0; i--) {
    const at = starts[i]!
    if (!isSpace(decodeRune(left, at)[0])) break
    end = at
  }
  return left.slice(0, end)
}

/** strings.ToLower for the instruction keyword: only its ASCII result matters (İ, U+0130, lowers to "i" in Go). */
export function goLower(text: string): string {
  return text.replace(/\u0130/g, 'i').toLowerCase()
}
