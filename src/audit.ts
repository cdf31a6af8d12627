/**
 * One pino record per request decision. Never logs headers or bodies: `X-Registry-Auth` carries
 * registry credentials and create bodies carry environment secrets (docs/engine-notes.md).
 */
import type { Logger } from 'pino'
import type { Violation } from './guards/types.js'
import type { AuditClient } from './connection.js'

export interface AuditRecord {
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
  /**
   * allow; deny (refused); error (dockgate or the engine failed); would-deny (audit-only mode: a
   * policy refusal, forwarded anyway); aborted (the client left before its request was complete).
   */
  readonly decision: 'allow' | 'deny' | 'error' | 'would-deny' | 'aborted'
  readonly rule?: string | undefined
  readonly code?: string | undefined
  readonly reason?: string | undefined
  readonly violations?: readonly Violation[] | undefined
  readonly status?: number | undefined
  /** The kinds of values the policy's `redact:` replaced in the answer (policy/redact.ts). */
  readonly redacted?: readonly string[] | undefined
  readonly durationMs: number
}

export function audit(logger: Logger, record: AuditRecord): void {
  const level = record.decision === 'allow' || record.decision === 'aborted' ? 'info' : record.decision === 'error' ? 'error' : 'warn'
  logger[level]({ audit: record }, `${record.decision} ${record.method} ${record.path} ${record.operation}`)
}
