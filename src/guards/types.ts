/**
 * The contract between the pipeline and the body guards.
 * A guard is a pure function of the canonical body (and query, params, rules): it never touches a
 * socket, so each can be tested in milliseconds.
 */
import type { Transform } from 'node:stream'
import type { JsonValue } from '../body/json-value.js'
import type { Shape } from '../body/shape.js'
import type { GuardRules } from './rules.js'

/** One thing a guard refused, naming the field the way the API writes it. */
export interface Violation {
  /** Guard id, e.g. `container.privileged`; stable, shown to clients and in audit records. */
  readonly guard: string
  /** API field path as the API writes it, e.g. `HostConfig.Privileged`, or `query.networkmode`. */
  readonly field: string
  /** The offending value, short and printable, e.g. `true`, `"/etc:/x"`. */
  readonly value: string
  /** Optional extra words, e.g. `is not in guards.container.capabilities`. */
  readonly detail?: string
}

/** dockgate's own container, so that exec/attach/archive into it can be refused. */
export interface SelfIdentity {
  /** Full 64-hex ids (prefix matches count, as the engine accepts id prefixes). */
  readonly ids: readonly string[]
  /** Names without the leading slash. */
  readonly names: readonly string[]
}

export interface GuardContext {
  readonly operationId: string
  readonly query: URLSearchParams
  readonly params: Readonly<Record<string, string>>
  /** API version from the path prefix, undefined when unversioned. */
  readonly version: string | undefined
  readonly rules: GuardRules
  readonly self: SelfIdentity
}

/** What a guard that reads a streamed body needs from the pipeline (the errors are worded there). */
export interface BodyStreamOptions {
  /** Most bytes of the body the guard may keep for inspection (limits.body_bytes). */
  readonly maxBytes: number
  /**
   * The refusal for violations found in the stream: 403 DG_DENY_BODY, worded like a JSON body's;
   * undefined when the policy only records them (audit-only mode) and the body goes on.
   */
  readonly deny: (violations: readonly Violation[]) => Error | undefined
  /** The refusal for a body that cannot be read exactly as the engine reads it (400), or whose inspected part is over maxBytes (413). */
  readonly unreadable: (message: string, tooLarge: boolean) => Error
}

/**
 * An existing object a body names, which the engine will look up by that name: dockgate resolves
 * it itself (target.ts), checks what it really is, and forwards the body naming it by full id.
 */
export interface BodyReference {
  /** `network` references are checked for clients with a tenant only (tenant/references.ts). */
  readonly kind: 'container' | 'volume' | 'network'
  /** What the body does with it. */
  readonly use: 'volumes-from' | 'namespace' | 'link' | 'connect' | 'mount' | 'network'
  /** Field in API spelling, for messages: `HostConfig.VolumesFrom[0]`. */
  readonly field: string
  /** The reference as written (a name, `/name`, id or id prefix). */
  readonly ref: string
  /** Keys (as sent) and indexes from the body's root to the string holding the reference. */
  readonly path: ReadonlyArray<string | number>
  /** The string to write there instead, naming the object by its full id; absent: not rewritten. */
  readonly rewrite?: (id: string) => string
  /** VolumesFrom with `:ro`: the inherited mounts are read-only in the new container. */
  readonly readOnly?: boolean
  /** The reference is the object key `path` ends in (EndpointsConfig): rewriting renames the key. */
  readonly key?: true
}

export interface OperationGuard {
  /** Which body positions are Go structs vs maps, for the decoder. */
  readonly shape: Shape
  /**
   * 'json' = the body is read (bounded), decoded Go-style, checked, and re-encoded;
   * 'none' = only query/params are checked; the body (if any) streams through unread.
   */
  readonly body: 'json' | 'none'
  /** Returns every violation, not just the first. `body` is undefined when the request had none. */
  check(body: JsonValue | undefined, ctx: GuardContext): Violation[]
  /** The existing objects the (decoded) body names, for target.ts to resolve. */
  references?(body: JsonValue | undefined): BodyReference[]
  /**
   * For a body that streams (`body: 'none'`) but must still be read as it passes (ImageBuild's
   * context): a Transform whose output is forwarded in place of the body, and which errors to
   * refuse the request. Undefined when this request's body needs no inspection.
   */
  readonly stream?: (ctx: GuardContext, opts: BodyStreamOptions) => Transform | undefined
}
