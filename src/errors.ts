/**
 * Every refusal dockgate makes is a DockgateError with a stable code.
 * Codes follow DG_<AREA>_<PROBLEM>; a released code is never renamed or reused.
 * README.md has a table of these codes; test/unit/errors.test.ts keeps the two in agreement.
 */
import type { Violation } from './guards/types.js'

/** Code → HTTP status and a one-line meaning (documentation lives in README.md). */
export const ERROR_CODES = {
  DG_DENY_OPERATION: { status: 403, meaning: 'the policy has no rule that allows this operation, or a deny rule matched' },
  DG_DENY_BODY: { status: 403, meaning: 'a body guard found a field value the policy does not allow' },
  DG_DENY_API_VERSION: { status: 403, meaning: 'the request names an API version below the configured floor' },
  DG_DENY_TARGET: { status: 403, meaning: 'the target container was created with options this policy does not allow' },
  DG_DENY_SELF: { status: 403, meaning: 'the request targets dockgate\'s own container' },
  DG_DENY_IDENTITY: { status: 403, meaning: 'the listener chooses policies by who is calling, and this connection\'s identity could not be read' },
  DG_DENY_LISTENER_REMOVED: { status: 410, meaning: 'the listener this connection came in on was removed by a configuration reload' },
  DG_DENY_TENANT: { status: 403, meaning: 'the request would reach outside the client\'s tenant (another tenant\'s label, an engine-wide operation)' },
  DG_REQ_AMBIGUOUS_PATH: { status: 400, meaning: 'the request path could be read differently by the engine' },
  DG_REQ_BAD_TARGET: { status: 400, meaning: 'the request target is not an origin-form path' },
  DG_REQ_MALFORMED_HTTP: { status: 400, meaning: 'the HTTP request itself is malformed (framing, headers, missing Host)' },
  DG_REQ_BAD_METHOD: { status: 400, meaning: 'the HTTP method is not one the Engine API uses' },
  DG_REQ_UNKNOWN_ENDPOINT: { status: 403, meaning: 'the path is not an Engine API endpoint dockgate knows' },
  DG_REQ_BAD_BODY: { status: 400, meaning: 'the JSON body is malformed or ambiguous (duplicate keys, bad UTF-8, trailing data)' },
  DG_REQ_BODY_TOO_LARGE: { status: 413, meaning: 'a body that must be inspected exceeds the size limit' },
  DG_REQ_BODY_TIMEOUT: { status: 408, meaning: 'a body that must be inspected did not arrive within the deadline' },
  DG_REQ_BUILD_CONTEXT: { status: 400, meaning: 'a build context whose Dockerfile dockgate cannot read exactly as the engine will (malformed or unsupported archive, compression or Dockerfile location)' },
  DG_REQ_FORM_BODY: { status: 400, meaning: 'a form-encoded body: the engine would read query parameters from it that dockgate did not check' },
  DG_REQ_BAD_UPGRADE: { status: 400, meaning: 'connection upgrade requested on an endpoint that does not hijack, or malformed' },
  DG_REQ_CONTENT_TYPE: { status: 415, meaning: 'the body\'s Content-Type is not one this operation accepts, or could be read differently by the engine' },
  DG_TARGET_NOT_FOUND: { status: 404, meaning: 'the container, exec or other object the request names does not exist' },
  DG_TARGET_AMBIGUOUS: { status: 400, meaning: 'the id prefix or name matches more than one of the client\'s own objects' },
  DG_TARGET_NAME_TAKEN: { status: 409, meaning: 'the name is held by an object the client\'s tenant cannot see' },
  DG_LIMIT_BODY_BUDGET: { status: 503, meaning: 'too many request bodies (and answers being redacted) are held right now; retry shortly' },
  DG_UPSTREAM_UNREACHABLE: { status: 502, meaning: 'the Docker engine socket could not be reached' },
  DG_UPSTREAM_FAILED: { status: 502, meaning: 'the Docker engine connection failed mid-request' },
  DG_UPSTREAM_TIMEOUT: { status: 504, meaning: 'the Docker engine did not answer a lookup dockgate needed in time' },
  DG_LIMIT_RESPONSE_SIZE: { status: 502, meaning: 'the engine\'s answer must be read whole to redact values the policy hides, and it is larger than the limit' },
  DG_UPSTREAM_UNREADABLE: { status: 502, meaning: 'the engine\'s answer must be redacted, and dockgate could not read it exactly (not JSON, compressed, an unexpected shape)' },
  DG_INTERNAL: { status: 500, meaning: 'a bug in dockgate; the request was not forwarded' },
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** Where a decision came from, for messages and audit records. */
export interface ErrorSource {
  readonly policy?: string
  readonly rule?: string
  readonly field?: string
  /** Every violation a body guard found (DG_DENY_BODY, DG_DENY_SELF). */
  readonly violations?: readonly Violation[]
}

export class DockgateError extends Error {
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly source: ErrorSource = {},
    /** What would allow it, said after the code: `to allow it add "ContainerKill" to …`. */
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'DockgateError'
    this.status = ERROR_CODES[code].status
  }

  /**
   * The text a client sees in `{"message": ...}`; the docker CLI prints it verbatim:
   * `dockgate: <what was refused and why> [CODE]` and, when there is one, `; <what would allow it>`.
   */
  clientMessage(): string {
    return `dockgate: ${this.message} [${this.code}]${this.hint === undefined ? '' : `; ${this.hint}`}`
  }
}

export function isDockgateError(err: unknown): err is DockgateError {
  return err instanceof DockgateError
}
