/**
 * Properties of the Go-compatible decoder (src/body/gojson.ts):
 *  1. decode → encode → decode is stable, encode is idempotent, and accepted plain JSON reads as
 *     JSON.parse reads it;
 *  2. bodies full of case / Unicode / escape variants of field names are refused exactly when
 *     Go could match two keys to one field (or a non-ASCII key to a field), otherwise every
 *     struct's folded keys are unique;
 *  3. decodeBody throws nothing but BodyError, whatever the input;
 *  4. what decodeBody accepts — and what encodeBody forwards — reads, under a reference decoder
 *     with Go encoding/json semantics (fold-matching, last wins, repeated objects merge), as the
 *     same values the guards checked.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BodyError, decodeBody, encodeBody } from '../../src/body/gojson.js'
import { foldKey, JsonNumber, JsonObject, type JsonValue } from '../../src/body/json-value.js'
import { ANY, arrayOf, mapOf, struct, type Shape } from '../../src/body/shape.js'

const RUNS = { numRuns: 400 }

const CREATE: Shape = struct({
  Labels: mapOf(),
  HostConfig: struct({
    Binds: arrayOf(),
    Sysctls: mapOf(),
    Mounts: arrayOf(struct({ VolumeOptions: struct({ Labels: mapOf() }) })),
  }),
  NetworkingConfig: struct({ EndpointsConfig: mapOf(struct({ IPAMConfig: struct() })) }),
})
/** Every object is a map, at any depth below objects (arrays fall back to ANY). */
const MAPS: Shape = {
  kind: 'map',
  get values(): Shape {
    return MAPS
  },
}
const SHAPES: ReadonlyArray<readonly [string, Shape]> = [['ANY', ANY], ['CREATE', CREATE], ['MAPS', MAPS]]

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** decodeBody, or the BodyError it threw (anything else is rethrown and fails the property). */
function tryDecode(text: string | Uint8Array, shape: Shape): JsonValue | BodyError {
  try {
    return decodeBody(typeof text === 'string' ? utf8(text) : text, shape)
  } catch (err) {
    if (err instanceof BodyError) return err
    throw err
  }
}

/** The tree as plain JS data, numbers as JS numbers: what JSON.parse gives for the same text. */
function toPlain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return v.value
  if (Array.isArray(v)) return v.map(toPlain)
  if (v instanceof JsonObject) return Object.fromEntries(v.entries.map(([k, x]) => [k, toPlain(x)]))
  return v
}

// ─── Reference decoder with Go encoding/json semantics ──────────────────────────────────────
// Written from the package documentation, independently of gojson.ts: struct keys match fields
// case-insensitively with Unicode simple folding; a repeated struct key is decoded again into the
// existing value (scalars: last wins; objects: merged into the earlier struct or map); map keys
// are exact and a repeated map key replaces the element; "Unmarshal resets the slice length to
// zero and then appends each element", so a repeated array replaces; invalid UTF-16 in escapes
// becomes U+FFFD. It assumes syntactically valid input (it only reads what decodeBody accepted).

type GoView =
  | null
  | boolean
  | string
  | { readonly num: string }
  | GoView[]
  | { readonly kind: 'struct' | 'map'; readonly keys: Map<string, GoView> }

/** Go's field matching fold, close enough for a reference: lower case, plus ſ → s and K → k. */
const goFold = (key: string): string => key.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase()

function goChildShape(shape: Shape, key: string): Shape {
  if (shape.kind === 'map') return shape.values ?? ANY
  if (shape.kind !== 'struct' || shape.fields === undefined) return ANY
  const field = Object.keys(shape.fields).find((name) => goFold(name) === goFold(key))
  return field === undefined ? ANY : (shape.fields[field] ?? ANY)
}

function isObjectView(v: GoView | undefined): v is { kind: 'struct' | 'map'; keys: Map<string, GoView> } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'keys' in v
}

/** Decode `next` into the existing value `prev`, as Go does for a repeated key. */
function goAssign(prev: GoView | undefined, next: GoView): GoView {
  if (!isObjectView(prev) || !isObjectView(next)) return next
  const keys = new Map(prev.keys)
  for (const [k, v] of next.keys) keys.set(k, prev.kind === 'struct' ? goAssign(keys.get(k), v) : v)
  return { kind: prev.kind, keys }
}

function goDecode(text: string, shape: Shape): GoView {
  let i = 0
  const space = (): void => {
    while (/[ \t\r\n]/.test(text[i] ?? '')) i++
  }
  const str = (): string => {
    i++ // opening quote
    const units: number[] = []
    for (;;) {
      const c = text.charCodeAt(i++)
      if (c === 0x22) break
      if (c !== 0x5c) {
        units.push(c)
        continue
      }
      const e = text[i++]
      if (e === 'u') {
        units.push(parseInt(text.slice(i, i + 4), 16))
        i += 4
      } else {
        units.push(({ b: 8, f: 12, n: 10, r: 13, t: 9 } as Record<string, number>)[e ?? ''] ?? (e ?? '').charCodeAt(0))
      }
    }
    // Go's utf16 handling: well-formed pairs combine, anything else becomes U+FFFD.
    let out = ''
    for (let k = 0; k < units.length; k++) {
      const u = units[k] ?? 0
      const next = units[k + 1] ?? 0
      if (u >= 0xd800 && u <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += String.fromCharCode(u, next)
        k++
      } else out += u >= 0xd800 && u <= 0xdfff ? '\ufffd' : String.fromCharCode(u)
    }
    return out
  }
  const value = (sh: Shape): GoView => {
    space()
    const c = text[i]
    if (c === '"') return str()
    if (c === '{') {
      i++
      const kind = sh.kind === 'map' ? 'map' : 'struct'
      const keys = new Map<string, GoView>()
      space()
      if (text[i] === '}') {
        i++
        return { kind, keys }
      }
      for (;;) {
        space()
        const key = str()
        space()
        i++ // ':'
        const v = value(goChildShape(sh, key))
        if (kind === 'struct') keys.set(goFold(key), goAssign(keys.get(goFold(key)), v))
        else keys.set(key, v)
        space()
        if (text[i++] === '}') return { kind, keys }
      }
    }
    if (c === '[') {
      i++
      const items: GoView[] = []
      space()
      if (text[i] === ']') {
        i++
        return items
      }
      for (;;) {
        items.push(value(sh.kind === 'array' ? (sh.items ?? ANY) : ANY))
        space()
        if (text[i++] === ']') return items
      }
    }
    for (const [word, lit] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length
        return lit
      }
    }
    const num = /^-?[0-9.eE+-]+/.exec(text.slice(i, i + 1000))?.[0] ?? ''
    i += num.length
    return { num }
  }
  return value(shape)
}

/** What the guards see in the tree, in the reference decoder's terms (struct keys folded). */
function treeView(v: JsonValue): GoView {
  if (v instanceof JsonNumber) return { num: v.text }
  if (Array.isArray(v)) return v.map(treeView)
  if (v instanceof JsonObject) {
    const keys = new Map<string, GoView>()
    for (const [k, x] of v.entries) keys.set(v.kind === 'struct' ? foldKey(k) : k, treeView(x))
    return { kind: v.kind, keys }
  }
  return v
}

// ─── Bodies built from field-name variants ──────────────────────────────────────────────────

/** A key: its decoded value and its JSON spelling (possibly with \u escapes). */
interface Key {
  readonly key: string
  readonly text: string
}
type Node =
  | { readonly t: 'lit'; readonly text: string }
  | { readonly t: 'arr'; readonly items: readonly Node[] }
  | { readonly t: 'obj'; readonly entries: ReadonlyArray<readonly [Key, Node]> }

const WORDS = ['HostConfig', 'Binds', 'Privileged', 'Labels', 'Sysctls', 'Mounts', 'VolumeOptions',
  'NetworkingConfig', 'EndpointsConfig', 'IPAMConfig', 'NetworkMode', 'a', 's', 'k', 'x.y']

/** Per character: keep, flip ASCII case, swap for a Unicode fold variant (s→ſ, k→K), or \u-escape. */
const keyArb: fc.Arbitrary<Key> = fc.constantFrom(...WORDS).chain((word) =>
  fc.array(fc.constantFrom('keep', 'keep', 'keep', 'flip', 'unicode', 'escape'), { minLength: word.length, maxLength: word.length }).map((ops) => {
    let key = ''
    let text = ''
    ops.forEach((op, n) => {
      let ch = word[n] ?? ''
      if (op === 'flip') ch = ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()
      if (op === 'unicode' && /[sS]/.test(ch)) ch = '\u017f'
      if (op === 'unicode' && /[kK]/.test(ch)) ch = '\u212a'
      key += ch
      text += op === 'escape' ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch
    })
    return { key, text: `"${text}"` }
  }),
)

const litArb: fc.Arbitrary<Node> = fc
  .constantFrom('true', 'false', 'null', '0', '-1.5e3', '"x"', '"/etc:/x"', '"\\u0050"', '"\\ud83d\\ude00"', '"\\udc00"', '"\\ud800x"')
  .map((text) => ({ t: 'lit' as const, text }))

const { node: nodeArb } = fc.letrec<{ node: Node; arr: Node; obj: Node }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, litArb, tie('arr'), tie('obj')),
  arr: fc.array(tie('node'), { maxLength: 3 }).map((items) => ({ t: 'arr' as const, items })),
  obj: fc.array(fc.tuple(keyArb, tie('node')), { maxLength: 5 }).map((entries) => ({ t: 'obj' as const, entries })),
}))
const bodyArb: fc.Arbitrary<Node> = fc.array(fc.tuple(keyArb, nodeArb), { maxLength: 6 }).map((entries) => ({ t: 'obj' as const, entries }))

function render(n: Node, ws: string): string {
  if (n.t === 'lit') return n.text
  if (n.t === 'arr') return `[${ws}${n.items.map((x) => render(x, ws)).join(`,${ws}`)}]`
  return `{${ws}${n.entries.map(([k, v]) => `${k.text}${ws}:${render(v, ws)}`).join(`,${ws}`)}${ws}}`
}

/** Literals Go would decode with U+FFFD in place of a lone surrogate (we refuse them). */
const LONE_SURROGATE = new Set(['"\\udc00"', '"\\ud800x"'])

/**
 * Independent oracle: would Go be able to read this body differently from a plain reading
 * (keys that fold alike in a struct, a non-ASCII struct key, an exact repeat in a map, a lone
 * surrogate)?
 */
function ambiguous(n: Node, shape: Shape): boolean {
  if (n.t === 'lit') return LONE_SURROGATE.has(n.text)
  if (n.t === 'arr') return n.items.some((x) => ambiguous(x, shape.kind === 'array' ? (shape.items ?? ANY) : ANY))
  const isMap = shape.kind === 'map'
  const ids = n.entries.map(([k]) => (isMap ? k.key : k.key.toLowerCase()))
  if (new Set(ids).size !== ids.length) return true
  if (!isMap && n.entries.some(([k]) => /[^\x00-\x7f]/.test(k.key))) return true
  return n.entries.some(([k, v]) => ambiguous(v, goChildShape(shape, k.key)))
}

/** Every struct's keys are unique after folding, every map's keys unique (checks the tree). */
function foldedKeysUnique(v: JsonValue): boolean {
  if (Array.isArray(v)) return v.every(foldedKeysUnique)
  if (!(v instanceof JsonObject)) return true
  const ids = v.entries.map(([k]) => (v.kind === 'struct' ? foldKey(k) : k))
  return new Set(ids).size === ids.length && v.entries.every(([, x]) => foldedKeysUnique(x))
}

const wsArb = fc.constantFrom('', ' ', '\n', ' \t\r\n ')
const shapeArb = fc.constantFrom(...SHAPES)

// ─── Properties ─────────────────────────────────────────────────────────────────────────────

describe('gojson properties', () => {
  test.each([
    ['ASCII strings', 'grapheme-ascii'],
    ['any code point', 'binary'],
  ] as const)('1. decode/encode round trip is stable (%s)', (_name, stringUnit) => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit, maxDepth: 6 }), shapeArb, (value, [, shape]) => {
        const text = JSON.stringify(value)
        const tree = tryDecode(text, shape)
        if (tree instanceof BodyError) {
          // The only thing JSON.stringify output can be refused for: struct keys Go could misread.
          expect(tree.reason).toMatch(/^(duplicate key|non-ASCII key|nesting deeper)/)
          return
        }
        expect(toPlain(tree)).toEqual(JSON.parse(text))
        const once = encodeBody(tree)
        const again = decodeBody(utf8(once), shape)
        expect(again).toEqual(tree)
        expect(encodeBody(again)).toBe(once)
      }),
      RUNS,
    )
  })

  test('2. case / Unicode / escape variants: refused exactly when ambiguous, else folded keys unique', () => {
    fc.assert(
      fc.property(bodyArb, wsArb, shapeArb, (body, ws, [, shape]) => {
        const tree = tryDecode(render(body, ws), shape)
        expect(tree instanceof BodyError).toBe(ambiguous(body, shape))
        if (!(tree instanceof BodyError)) expect(foldedKeysUnique(tree)).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  test('3. arbitrary strings and bytes: only BodyError is ever thrown', () => {
    const mutated = fc
      .tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete'))
      .map(([value, at, byte, op]) => {
        const b = [...utf8(JSON.stringify(value) ?? 'null')]
        const n = at % (b.length + 1)
        if (op === 'flip') b[n % b.length] = byte
        else if (op === 'insert') b.splice(n, 0, byte)
        else b.splice(n, 1)
        return Uint8Array.from(b)
      })
    const inputs = fc.oneof(
      fc.string({ unit: 'binary' }).map(utf8),
      fc.string({ unit: fc.constantFrom(...'{}[]":,\\u0123456789abcdefeE+-.tnrl sS ſK\n'.split('')) }).map(utf8),
      fc.uint8Array({ maxLength: 64 }),
      mutated,
    )
    fc.assert(
      fc.property(inputs, shapeArb, (bytes, [, shape]) => {
        const result = tryDecode(bytes, shape) // rethrows anything that is not a BodyError
        if (result instanceof BodyError) expect(typeof result.reason).toBe('string')
      }),
      { numRuns: 2000 },
    )
  })

  test('4. accepted bodies read, with Go semantics, as the values that were checked', () => {
    const texts = fc.oneof(
      fc.tuple(bodyArb, wsArb).map(([body, ws]) => render(body, ws)),
      fc.jsonValue({ stringUnit: 'binary', maxDepth: 5 }).map((v) => JSON.stringify(v)),
    )
    fc.assert(
      fc.property(texts, shapeArb, (text, [, shape]) => {
        const tree = tryDecode(text, shape)
        if (tree instanceof BodyError) return
        const checked = treeView(tree)
        // What the engine would make of the body as the client sent it …
        expect(goDecode(text, shape)).toEqual(checked)
        // … and of the body dockgate forwards.
        expect(goDecode(encodeBody(tree), shape)).toEqual(checked)
      }),
      { numRuns: 1000 },
    )
  })

  test('4b. the reference decoder does see the attacks (it is not vacuous)', () => {
    const view = (text: string): GoView => goDecode(text, CREATE)
    const host = (v: GoView): GoView | undefined => (isObjectView(v) ? v.keys.get('hostconfig') : undefined)
    const merged = host(view('{"HostConfig":{"Privileged":true},"HostConfig":{"Binds":[]}}'))
    expect(isObjectView(merged) && merged.keys.get('privileged')).toBe(true)
    const folded = host(view('{"HostConfig":{"Bind\u017f":["/:/h"]}}'))
    expect(isObjectView(folded) && folded.keys.get('binds')).toEqual(['/:/h'])
    const labels = view('{"Labels":{"a":"1","A":"2","a":"3"}}')
    expect(isObjectView(labels) && labels.keys.get('labels')).toEqual({ kind: 'map', keys: new Map([['a', '3'], ['A', '2']]) })
  })
})
