/**
 * Audit records: one pino line per request decision, its fields under `audit`. A stream (logs,
 * events, stats, pull, build…) and a hijacked session (attach, exec -it) get two: one when it is
 * admitted (`phase: "start"`, written at once — a live shell is on record while it runs, even if
 * dockgate is killed) and one when it ends (`phase: "end"`: status, bytes, duration).
 *
 * Never logs headers or bodies: `X-Registry-Auth` carries registry credentials and create bodies
 * carry environment secrets (docs/engine-notes.md). The `object` comes from the path, a few named
 * query parameters and a create body's `Image` only (audit-object.ts).
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Violation } from './guards/types.js'
import type { AuditClient } from './connection.js'
import { flushNow } from './log.js'

export type Decision = 'allow' | 'deny' | 'error' | 'would-deny' | 'aborted'

export interface AuditRecord {
  /** Request id: unique in this dockgate process (`<start prefix>-<counter>`); a stream's two records share it. */
  readonly id: string
  /** Listener address the request came in on (`unix:///…` or `tcp://…`). */
  readonly listener: string
  readonly policy: string
  /** Who called: uid/gid/pid (unix), address/port (TCP), plus subject and SANs (TLS), and the `clients:` entry that matched. */
  readonly client: AuditClient
  readonly method: string
  /** Canonical path (without query), or the raw target cut to 200 chars when it did not parse. */
  readonly path: string
  readonly version?: string | undefined
  readonly operation: string
  /** What the request acts on, as the client named it: a container, exec, volume, network or image (audit-object.ts); `path` has the full id it was forwarded with. */
  readonly object?: string | undefined
  /**
   * allow; deny (refused); error (dockgate or the engine failed); would-deny (audit-only mode: a
   * policy refusal, forwarded anyway); aborted (the client left before its request was complete).
   */
  readonly decision: Decision
  /** Streams and hijacked sessions: `start` when admitted, `end` when over. Absent: the request's only record. */
  readonly phase?: 'start' | 'end' | undefined
  readonly rule?: string | undefined
  readonly code?: string | undefined
  readonly reason?: string | undefined
  readonly violations?: readonly Violation[] | undefined
  readonly status?: number | undefined
  /** The kinds of values the policy's `redact:` replaced in the answer (policy/redact.ts). */
  readonly redacted?: readonly string[] | undefined
  /** Bytes read from the client's connection during the request after its head (its body, or a session's input). */
  readonly bytesIn?: number | undefined
  /** Bytes written to the client's connection for the answer, head included (a session's output). */
  readonly bytesOut?: number | undefined
  readonly durationMs?: number | undefined
}

/** Request ids: a prefix drawn at start, then a counter (base 36), e.g. `k3f9a2-1z`. */
const PREFIX = randomBytes(3).toString('hex')
let counter = 0
export function nextRequestId(): string {
  counter++
  return `${PREFIX}-${counter.toString(36)}`
}

/** The level of a record: info for allowed (and aborted), warn for refused and would-deny, error for failures. */
export function auditLevel(decision: Decision): 'info' | 'warn' | 'error' {
  return decision === 'allow' || decision === 'aborted' ? 'info' : decision === 'error' ? 'error' : 'warn'
}

export function audit(logger: Logger, record: AuditRecord): void {
  const level = auditLevel(record.decision)
  const phase = record.phase === undefined ? '' : ` (${record.phase})`
  logger[level]({ audit: record }, `${record.decision} ${record.operation}${record.object === undefined ? '' : ` ${record.object}`}${phase}`)
  // A refusal, a would-deny and the start of a stream or session are written now, not when a buffer fills.
  if (record.decision !== 'allow' || record.phase === 'start') flushNow(logger)
}
