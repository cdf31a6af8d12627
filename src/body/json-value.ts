/**
 * The value tree produced by the Go-compatible decoder (gojson.ts) and read by the guards.
 *
 * Why not plain JS objects: the engine decodes with Go's encoding/json, where struct field
 * names match case-insensitively and numbers keep their full precision. A JsonObject keeps
 * its keys as sent (after unescaping) in order, and `field()` looks a struct field up the way
 * Go does. The decoder guarantees that a struct-typed object never holds two keys that fold to
 * the same name (it refuses such bodies), so `field()` is unambiguous.
 */

/** A JSON number, kept as its source text so re-serialisation is exact. */
export class JsonNumber {
  constructor(readonly text: string) {}
  get value(): number {
    return Number(this.text)
  }
  /** True when the text is an integer literal (no fraction, no exponent). */
  get isInteger(): boolean {
    return /^-?(0|[1-9][0-9]*)$/.test(this.text)
  }
  toJSON(): number {
    return this.value
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject

/** ASCII-only case fold; the decoder refuses non-ASCII keys in struct positions, so this is Go's fold there. */
export function foldKey(key: string): string {
  return key.replace(/[A-Z]/g, (c) => c.toLowerCase())
}

export class JsonObject {
  /** Keys in the order sent; values as decoded. */
  readonly entries: ReadonlyArray<readonly [string, JsonValue]>
  /** 'struct' = Go struct (keys fold), 'map' = Go map (keys exact). */
  readonly kind: 'struct' | 'map'
  private readonly folded: Map<string, JsonValue>

  constructor(entries: ReadonlyArray<readonly [string, JsonValue]>, kind: 'struct' | 'map') {
    this.entries = entries
    this.kind = kind
    this.folded = new Map(entries.map(([k, v]) => [kind === 'struct' ? foldKey(k) : k, v]))
  }

  /** A struct field, looked up the way Go's encoding/json matches it (case-insensitively). */
  field(name: string): JsonValue | undefined {
    return this.folded.get(this.kind === 'struct' ? foldKey(name) : name)
  }

  /** The key exactly as sent that matched `field(name)`, for messages. */
  keyOf(name: string): string | undefined {
    const want = this.kind === 'struct' ? foldKey(name) : name
    return this.entries.find(([k]) => (this.kind === 'struct' ? foldKey(k) : k) === want)?.[0]
  }

  get size(): number {
    return this.entries.length
  }
}

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return v instanceof JsonObject
}
export function isArray(v: JsonValue | undefined): v is JsonValue[] {
  return Array.isArray(v)
}
export function isNumber(v: JsonValue | undefined): v is JsonNumber {
  return v instanceof JsonNumber
}

/**
 * `root` with the value at `path` (object keys as sent, array indexes) replaced by `value`; the
 * rest of the tree is shared. Returns `root` unchanged when the path does not lead anywhere.
 */
export function replaceAt(root: JsonValue, path: ReadonlyArray<string | number>, value: JsonValue): JsonValue {
  if (path.length === 0) return value
  const [head, ...rest] = path
  if (Array.isArray(root) && typeof head === 'number' && head >= 0 && head < root.length) {
    const copy = root.slice()
    copy[head] = replaceAt(root[head]!, rest, value)
    return copy
  }
  if (root instanceof JsonObject && typeof head === 'string') {
    const i = root.entries.findIndex(([k]) => k === head)
    if (i < 0) return root
    const entries = root.entries.map((e, j) => (j === i ? ([e[0], replaceAt(e[1], rest, value)] as const) : e))
    return new JsonObject(entries, root.kind)
  }
  return root
}

/** `obj` with `key` (exactly as sent) set to `value`: replaced in place when present, else added last. */
export function withEntry(obj: JsonObject, key: string, value: JsonValue): JsonObject {
  const i = obj.entries.findIndex(([k]) => k === key)
  const entries = i < 0 ? [...obj.entries, [key, value] as const] : obj.entries.map((e, j) => (j === i ? ([key, value] as const) : e))
  return new JsonObject(entries, obj.kind)
}

/**
 * `root` with the object key that `path` ends in renamed to `name`, its value and place kept.
 * Returns `root` unchanged when the path does not lead to such a key.
 */
export function renameKeyAt(root: JsonValue, path: ReadonlyArray<string | number>, name: string): JsonValue {
  const key = path.at(-1)
  const parentPath = path.slice(0, -1)
  const parent = valueAt(root, parentPath)
  if (!(parent instanceof JsonObject) || typeof key !== 'string' || !parent.entries.some(([k]) => k === key)) return root
  const renamed = new JsonObject(parent.entries.map((e) => (e[0] === key ? ([name, e[1]] as const) : e)), parent.kind)
  return replaceAt(root, parentPath, renamed)
}

/** The value at `path` (object keys as sent, array indexes), or undefined when there is none. */
export function valueAt(root: JsonValue, path: ReadonlyArray<string | number>): JsonValue | undefined {
  let at: JsonValue | undefined = root
  for (const step of path) {
    if (Array.isArray(at) && typeof step === 'number') at = at[step]
    else if (at instanceof JsonObject && typeof step === 'string') at = at.entries.find(([k]) => k === step)?.[1]
    else return undefined
  }
  return at
}
