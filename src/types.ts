/** Types that name what each stage of the request path produces. */
import type { OperationFacts } from './operations.js'

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'

/** How the engine's answer is carried, which decides timeouts and buffering. */
export type StreamKind = 'none' | 'stream' | 'hijack'

/** One Engine API route, as generated from the specs (endpoints-table.ts). */
export interface Route {
  readonly id: string
  readonly method: HttpMethod
  /** Path template without version prefix, e.g. `/containers/{id}/json`. */
  readonly template: string
  readonly stream: StreamKind
}

/** One Engine API operation, as named by the spec's operationId: its route and what dockgate knows of it (operations.ts). */
export interface Operation extends Route, OperationFacts {}

/** A request after normalisation: exactly what is decided on and forwarded. */
export interface ApiRequest {
  readonly method: HttpMethod
  /** `"1.41"` when the path had a version prefix, else undefined. */
  readonly version: string | undefined
  /** Canonical decoded path without the version prefix, e.g. `/containers/abc/json`. */
  readonly path: string
  /** Raw query string without `?` ('' if none), forwarded unchanged. */
  readonly rawQuery: string
  readonly query: URLSearchParams
  /** The request target forwarded to the engine: canonical, re-encoded, with query. */
  readonly target: string
  readonly operation: Operation
  /** Values captured from the template, e.g. { id: 'abc' }. */
  readonly params: Readonly<Record<string, string>>
}
