/**
 * Reading decoded bodies in guards: typed field access that fails closed, and violation records.
 *
 * Every reader takes the guard id the field belongs to: a field of the wrong JSON type (for example
 * `"Privileged": "true"` or `"Binds": "x"`) is recorded as a violation of that guard, because the
 * guard cannot vouch for a value it cannot read (the engine would most likely refuse it, but a
 * proxy never bets on that). Absent and `null` fields read as undefined: Go leaves the zero value.
 */
import { isArray, isNumber, isObject, JsonNumber, JsonObject, type JsonValue } from '../body/json-value.js'
import type { Violation } from './types.js'

/** Longest rendered value in a violation; the rest is elided (a seccomp profile can be 100 KiB). */
const MAX_VALUE_CHARS = 120

/** Short printable rendering of a JSON value: strings quoted, objects and arrays compact. */
export function renderValue(value: JsonValue | undefined): string {
  const out = renderInto(value, MAX_VALUE_CHARS + 1)
  return out.length > MAX_VALUE_CHARS ? `${out.slice(0, MAX_VALUE_CHARS - 1)}…` : out
}

function renderInto(value: JsonValue | undefined, budget: number): string {
  if (value === undefined) return 'undefined'
  if (value === null || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return JSON.stringify(value.length > budget ? value.slice(0, budget) : value)
  if (value instanceof JsonNumber) return value.text
  let out = ''
  if (Array.isArray(value)) {
    out = '['
    for (const item of value) {
      if (out.length > budget) break
      out += (out.length > 1 ? ',' : '') + renderInto(item, budget - out.length)
    }
    return out + ']'
  }
  out = '{'
  for (const [key, item] of value.entries) {
    if (out.length > budget) break
    out += (out.length > 1 ? ',' : '') + JSON.stringify(key) + ':' + renderInto(item, budget - out.length)
  }
  return out + '}'
}

/** Collects the violations of one request, in body order. */
export class Findings {
  readonly list: Violation[] = []

  /** Records a violation; `value` is a JSON value (rendered) or an already printable string. */
  add(guard: string, field: string, value: JsonValue | undefined, detail?: string): void {
    const rendered = renderValue(value)
    this.list.push(detail === undefined ? { guard, field, value: rendered } : { guard, field, value: rendered, detail })
  }

  /** Records a wrong-typed field. */
  wrongType(guard: string, field: string, value: JsonValue | undefined, wanted: string): void {
    this.add(guard, field, value, `must be ${wanted}`)
  }
}

/** `a.b` or `b` when there is no prefix. */
export function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`
}

/**
 * Typed access to the fields of one decoded struct object, recording type violations.
 * `path` is the API spelling of the object's position (`HostConfig`, `TaskTemplate.ContainerSpec`).
 */
export class Fields {
  constructor(
    readonly obj: JsonObject,
    readonly path: string,
    private readonly findings: Findings,
  ) {}

  /** Field path in API spelling. */
  at(name: string): string {
    return join(this.path, name)
  }

  raw(name: string): JsonValue | undefined {
    return this.obj.field(name)
  }

  bool(name: string, guard: string): boolean | undefined {
    const v = this.obj.field(name)
    if (v === undefined || v === null) return undefined
    if (typeof v === 'boolean') return v
    this.findings.wrongType(guard, this.at(name), v, 'true or false')
    return undefined
  }

  string(name: string, guard: string): string | undefined {
    const v = this.obj.field(name)
    if (v === undefined || v === null) return undefined
    if (typeof v === 'string') return v
    this.findings.wrongType(guard, this.at(name), v, 'a string')
    return undefined
  }

  /** An integer field, as a bigint so that `1e400`-sized texts cannot round into range. */
  integer(name: string, guard: string): bigint | undefined {
    const v = this.obj.field(name)
    if (v === undefined || v === null) return undefined
    if (isNumber(v) && v.isInteger) return BigInt(v.text)
    this.findings.wrongType(guard, this.at(name), v, 'an integer')
    return undefined
  }

  /** A struct-typed field, wrapped for further reading. */
  struct(name: string, guard: string): Fields | undefined {
    const v = this.obj.field(name)
    if (v === undefined || v === null) return undefined
    if (isObject(v)) return new Fields(v, this.at(name), this.findings)
    this.findings.wrongType(guard, this.at(name), v, 'an object')
    return undefined
  }

  /** A map-typed field (`map[string]X`): its entries, keys exactly as sent. */
  map(name: string, guard: string): ReadonlyArray<readonly [string, JsonValue]> | undefined {
    const v = this.obj.field(name)
    if (v === undefined || v === null) return undefined
    if (isObject(v)) return v.entries
    this.findings.wrongType(guard, this.at(name), v, 'an object')
    return undefined
  }

  /** An array field's items (undefined when absent or null). */
  array(name: string, guard: string): readonly JsonValue[] | undefined {
    const v = this.obj.field(name)
    if (v === undefined || v === null) return undefined
    if (isArray(v)) return v
    this.findings.wrongType(guard, this.at(name), v, 'an array')
    return undefined
  }

  /** An array of strings; wrong-typed items are recorded and skipped. Yields [index, string]. */
  strings(name: string, guard: string): Array<readonly [number, string]> {
    const items = this.array(name, guard)
    const out: Array<readonly [number, string]> = []
    items?.forEach((item, i) => {
      if (typeof item === 'string') out.push([i, item])
      else this.findings.wrongType(guard, `${this.at(name)}[${i}]`, item, 'a string')
    })
    return out
  }

  /** An array of structs; wrong-typed items are recorded and skipped. Yields wrapped items. */
  structs(name: string, guard: string): Fields[] {
    const items = this.array(name, guard)
    const out: Fields[] = []
    items?.forEach((item, i) => {
      const path = `${this.at(name)}[${i}]`
      if (isObject(item)) out.push(new Fields(item, path, this.findings))
      else if (item !== null) this.findings.wrongType(guard, path, item, 'an object')
    })
    return out
  }
}

/** Wraps a whole body that must be a JSON object; records a violation otherwise. */
export function bodyFields(body: JsonValue | undefined, findings: Findings, guard: string): Fields | undefined {
  if (body === undefined || body === null) return undefined
  if (isObject(body)) return new Fields(body, '', findings)
  findings.wrongType(guard, 'body', body, 'a JSON object')
  return undefined
}
