/**
 * What the decoder (gojson.ts) needs to know about the Go type a body is decoded into: which
 * objects are Go structs (field names match case-insensitively, so keys must be unambiguous) and
 * which are Go maps (`map[string]X`: keys are data and case-sensitive, e.g. `Labels`, `Sysctls`).
 *
 * A Shape is only as detailed as the guards need: a position it does not describe is `any`, and
 * objects there are treated as structs, the strict choice (refuses case-variant keys).
 */
import assert from 'node:assert/strict'
import { foldKey } from './json-value.js'

export type Shape =
  /** A Go struct. `fields` are named in the API's spelling (`HostConfig`); lookup folds case. */
  | { readonly kind: 'struct'; readonly fields?: Readonly<Record<string, Shape>> }
  /** A Go `map[string]X`; `values` describes X. */
  | { readonly kind: 'map'; readonly values?: Shape }
  /** A Go slice; `items` describes its element. */
  | { readonly kind: 'array'; readonly items?: Shape }
  /** Unknown position: objects in it (at any depth) are treated as structs. */
  | { readonly kind: 'any' }

export const ANY: Shape = Object.freeze({ kind: 'any' })

/** A struct shape; `fields` may be omitted when no field needs a shape of its own. */
export function struct(fields?: Readonly<Record<string, Shape>>): Shape {
  return fields === undefined ? { kind: 'struct' } : { kind: 'struct', fields }
}

/** A `map[string]X` shape. */
export function mapOf(values?: Shape): Shape {
  return values === undefined ? { kind: 'map' } : { kind: 'map', values }
}

/** A slice shape. */
export function arrayOf(items?: Shape): Shape {
  return items === undefined ? { kind: 'array' } : { kind: 'array', items }
}

/** Folded field name → shape, built once per struct shape (a shape is usually a module constant). */
const foldedFields = new WeakMap<object, ReadonlyMap<string, Shape>>()

function fieldIndex(fields: Readonly<Record<string, Shape>>): ReadonlyMap<string, Shape> {
  let index = foldedFields.get(fields)
  if (index === undefined) {
    const built = new Map<string, Shape>()
    for (const [name, shape] of Object.entries(fields)) {
      const folded = foldKey(name)
      // Two fields that fold alike would make the lookup depend on declaration order.
      assert(!built.has(folded), `shape has two fields that fold to "${folded}"`)
      built.set(folded, shape)
    }
    foldedFields.set(fields, built)
    index = built
  }
  return index
}

/** The shape of the value under `key` in an object at a `shape` position (ANY when unknown). */
export function childShape(shape: Shape, key: string): Shape {
  switch (shape.kind) {
    case 'struct':
      return shape.fields === undefined ? ANY : (fieldIndex(shape.fields).get(foldKey(key)) ?? ANY)
    case 'map':
      return shape.values ?? ANY
    default:
      // An object where an array (or anything) was expected: Go fails to decode it and the engine
      // refuses the request; we decode it strictly and let the guard see the wrong type.
      return ANY
  }
}

/** The shape of an element of an array at a `shape` position (ANY when unknown or mismatched). */
export function itemShape(shape: Shape): Shape {
  return shape.kind === 'array' ? (shape.items ?? ANY) : ANY
}

/** How an object at a `shape` position is decoded: only a declared map keeps case-sensitive keys. */
export function objectKind(shape: Shape): 'struct' | 'map' {
  return shape.kind === 'map' ? 'map' : 'struct'
}
