/**
 * The Engine API route table: method + canonical path → the operation the engine would run.
 *
 * The operations are data (endpoints-table.ts, generated from the specs by
 * scripts/gen-endpoints.mjs). This file only knows how the engine's router reads a path, so that
 * dockgate names a request exactly as the engine will serve it. The engine registers its routes
 * with gorilla/mux (moby daemon/server/server.go CreateMux); the first registered route whose
 * regex matches wins, and a `{param}` is `[^/]+` unless the route says `{param:.*}`.
 */

import assert from 'node:assert/strict'
import { ENDPOINT_TABLE } from './endpoints-table.js'
import { operationFacts } from './operations.js'
import type { HttpMethod, Operation } from './types.js'

/**
 * Resources whose routers declare the parameter as `{name:.*}` / `{id:.+}`, so its value may
 * contain `/`: image references (`ghcr.io/org/app:1.2`), plugin references, volume names from
 * drivers that allow `/`, and legacy link names (`/web/db`) for containers. Sources, moby
 * daemon/server/router/: container/container.go (containers and exec), image/image.go,
 * plugin/plugin.go, distribution/distribution.go, network/network.go, volume/volume.go,
 * checkpoint/checkpoint.go (list and create).
 */
const SPANNING_RESOURCES: ReadonlySet<string> = new Set(['containers', 'exec', 'images', 'plugins', 'distribution', 'networks', 'volumes'])

/** Routes under those resources that the engine declares with plain `{param}` (one segment each). */
const ONE_SEGMENT_ROUTES: ReadonlySet<string> = new Set([
  'DELETE /containers/{id}/checkpoints/{checkpoint}', // router/checkpoint/checkpoint.go
])

/** Where a match ends: the operation and the names of the values captured on the way. */
interface Terminal {
  readonly operation: Operation
  readonly names: readonly string[]
}

/** A `{name:.*}` parameter: one or more segments, then `tail` exactly, then the end of the path. */
interface Span extends Terminal {
  readonly tail: readonly string[]
}

/** One node of a per-method segment trie. */
interface Node {
  readonly literal: Map<string, Node>
  param: Node | undefined
  readonly spans: Span[]
  end: Terminal | undefined
}

export interface EndpointMatch {
  readonly operation: Operation
  readonly params: Record<string, string>
}

const newNode = (): Node => ({ literal: new Map(), param: undefined, spans: [], end: undefined })

function isParam(segment: string): boolean {
  return segment.startsWith('{') && segment.endsWith('}')
}

function spans(op: Operation): boolean {
  const resource = op.template.split('/')[1] ?? ''
  return SPANNING_RESOURCES.has(resource) && !ONE_SEGMENT_ROUTES.has(`${op.method} ${op.template}`)
}

function insert(root: Node, op: Operation): void {
  const segments = op.template.slice(1).split('/')
  const names: string[] = []
  let node = root
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!
    assert.ok(seg !== '' && (isParam(seg) || !/[{}]/.test(seg)), `bad template ${op.template}`)
    if (!isParam(seg)) {
      let next = node.literal.get(seg)
      if (next === undefined) node.literal.set(seg, (next = newNode()))
      node = next
      continue
    }
    names.push(seg.slice(1, -1))
    if (spans(op)) {
      // Every such route has one parameter, right after the resource, and literals after it; that
      // makes the split unique (the tail is fixed) and lets a match run without backtracking.
      const tail = segments.slice(i + 1)
      assert.ok(i === 1 && !tail.some(isParam), `${op.method} ${op.template}: spanning parameter must be the only one`)
      // gorilla tries routes in order; here the order is literal, one-segment, then spans. That
      // is only the engine's order if no two spans at a node can match the same path.
      for (const other of node.spans) {
        const [short, long] = other.tail.length <= tail.length ? [other.tail, tail] : [tail, other.tail]
        const overlap = short.every((s, k) => long[long.length - short.length + k] === s)
        assert.ok(!overlap, `${op.method} ${op.template} and ${other.operation.template} overlap; order them as the engine does`)
      }
      node.spans.push({ operation: op, names, tail })
      return
    }
    node.param ??= newNode()
    node = node.param
  }
  assert.ok(node.end === undefined, `${op.method} ${op.template} duplicates ${node.end?.operation.id}`)
  node.end = { operation: op, names }
}

function compile(table: readonly Operation[]): ReadonlyMap<HttpMethod, Node> {
  const roots = new Map<HttpMethod, Node>()
  for (const op of table) {
    let root = roots.get(op.method)
    if (root === undefined) roots.set(op.method, (root = newNode()))
    insert(root, op)
  }
  return roots
}

/**
 * Walks the trie: at each segment a literal child first, then a one-segment parameter, then the
 * spanning parameters. Values are pushed in template order.
 */
function walk(node: Node, segs: readonly string[], i: number, values: string[]): Terminal | undefined {
  if (i === segs.length) return node.end
  const lit = node.literal.get(segs[i]!)
  if (lit !== undefined) {
    const hit = walk(lit, segs, i + 1, values)
    if (hit !== undefined) return hit
  }
  if (node.param !== undefined) {
    values.push(segs[i]!)
    const hit = walk(node.param, segs, i + 1, values)
    if (hit !== undefined) return hit
    values.pop()
  }
  for (const span of node.spans) {
    const stop = segs.length - span.tail.length
    if (stop <= i || !span.tail.every((s, k) => segs[stop + k] === s)) continue
    const value = segs.slice(i, stop).join('/')
    // Go's regexp `.` does not match "\n": the engine would answer 404 for such a name.
    if (value.includes('\n')) continue
    values.push(value)
    return span
  }
  return undefined
}

const OPERATIONS: readonly Operation[] = Object.freeze(ENDPOINT_TABLE.map((route) => Object.freeze({ ...route, ...operationFacts(route.id) })))
const IDS: ReadonlySet<string> = new Set(OPERATIONS.map((op) => op.id))
const ROUTES = compile(OPERATIONS)

/**
 * The operation the engine would serve for `method` and `path`, with the template's parameters.
 * `path` is canonical and decoded, without the `/v1.xx` prefix, e.g. `/containers/abc/json`.
 * Returns undefined for anything the engine would not route to a known operation, and also for
 * empty segments (`//`, a trailing `/`): the engine redirects or fails those, never serves them.
 * HEAD matches only HEAD routes (`/_ping`, `/containers/{id}/archive`), as in gorilla/mux.
 */
export function matchEndpoint(method: HttpMethod, path: string): EndpointMatch | undefined {
  const root = ROUTES.get(method)
  if (root === undefined || !path.startsWith('/')) return undefined
  const segs = path.slice(1).split('/')
  if (segs.includes('')) return undefined
  const values: string[] = []
  const hit = walk(root, segs, 0, values)
  if (hit === undefined) return undefined
  const params: Record<string, string> = {}
  hit.names.forEach((name, k) => {
    params[name] = values[k]!
  })
  return { operation: hit.operation, params }
}

/** Every known operation, in the generated table's order. */
export function allOperations(): readonly Operation[] {
  return OPERATIONS
}

/** Every known operationId: the vocabulary policies, logs and metrics use. */
export function operationIds(): ReadonlySet<string> {
  return IDS
}
