/**
 * Bounded, deadline-limited read of the small JSON bodies a guard must inspect, within a budget
 * shared by every connection. Streams (build contexts, image loads) never come here: only
 * operations whose guard reads a JSON body, and only up to `limits.bytes` each.
 *
 * The budget bounds what many slow clients can make dockgate hold at once (1,000 connections
 * each sending a body one byte short of 1 MiB would otherwise hold 1 GiB): beyond it a request is
 * answered 503 DG_LIMIT_BODY_BUDGET with Retry-After, at once.
 */
import type { IncomingMessage } from 'node:http'
import { DockgateError } from './errors.js'

export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  readonly bytes: number
  /** Time allowed for the whole body to arrive, in milliseconds. */
  readonly timeoutMs: number
}

/** Bytes of request bodies held for inspection (and answers held for redaction, redact/response.ts) across all connections of one dockgate. */
export class BodyBudget {
  #held = 0
  #peak = 0
  #limit: number
  /**
   * `onDrained(peak)` is called whenever the budget goes back to zero, with the most it held
   * since the previous time (reclaim.ts gives memory back after a burst).
   */
  constructor(limit: number, private readonly onDrained?: (peak: number) => void) {
    this.#limit = limit
  }

  get limit(): number {
    return this.#limit
  }

  /** A reload's new limit; bytes already held stay held (they are given back as usual). */
  setLimit(limit: number): void {
    this.#limit = limit
  }

  get held(): number {
    return this.#held
  }

  /** Takes `n` bytes of the budget, or throws DG_LIMIT_BODY_BUDGET when they are not there. */
  take(n: number): void {
    if (this.#held + n > this.#limit) {
      throw new DockgateError('DG_LIMIT_BODY_BUDGET', `dockgate is holding ${this.#held} bytes of request bodies for inspection and answers for redaction, its budget (limits.body_budget_bytes) is ${this.#limit}; retry shortly`)
    }
    this.#held += n
    if (this.#held > this.#peak) this.#peak = this.#held
  }

  give(n: number): void {
    if (n === 0) return
    this.#held = Math.max(0, this.#held - n)
    if (this.#held === 0 && this.onDrained !== undefined) {
      const peak = this.#peak
      this.#peak = 0
      this.onDrained(peak)
    }
  }
}

/** A body read for inspection; `release()` gives its bytes back to the budget (idempotent). */
export interface HeldBody {
  readonly bytes: Buffer
  release(): void
}

/**
 * Reads the whole request body whatever its framing (node:http has already removed chunked
 * framing). Rejects with DG_REQ_BODY_TOO_LARGE, DG_REQ_BODY_TIMEOUT or DG_LIMIT_BODY_BUDGET; with a
 * plain Error when the client leaves. A declared Content-Length is taken from the budget up
 * front, into one buffer of that size; a chunked body chunk by chunk.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits, budget: BodyBudget): Promise<HeldBody> {
  const declaredText = req.headers['content-length']
  const declared = declaredText === undefined ? undefined : Number(declaredText)
  if (declared !== undefined && declared > limits.bytes) return Promise.reject(tooLarge(limits))
  let taken = 0
  try {
    if (declared !== undefined) budget.take((taken = declared))
  } catch (err) {
    return Promise.reject(err)
  }
  const release = (): void => {
    budget.give(taken)
    taken = 0
  }
  return new Promise((resolve, reject) => {
    const whole = declared === undefined ? undefined : Buffer.allocUnsafeSlow(declared)
    const chunks: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => finish(new DockgateError('DG_REQ_BODY_TIMEOUT', `request body did not arrive within ${limits.timeoutMs} ms`)), limits.timeoutMs)
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limits.bytes) return finish(tooLarge(limits))
      if (whole !== undefined) {
        // node:http ends the body at Content-Length; more would be a parser bug.
        if (size + chunk.length > whole.length) return finish(new DockgateError('DG_REQ_MALFORMED_HTTP', 'request body is longer than its Content-Length'))
        chunk.copy(whole, size)
      } else {
        try {
          budget.take(chunk.length)
        } catch (err) {
          return finish(err as Error)
        }
        taken += chunk.length
        chunks.push(chunk)
      }
      size += chunk.length
    }
    const onEnd = (): void => finish()
    const onError = (err: Error): void => finish(err)
    const onClose = (): void => {
      if (!req.complete) finish(new Error('client closed the connection during the request body'))
    }
    let settled = false
    function finish(err?: Error): void {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      if (err) {
        release()
        req.resume()
        reject(err)
        return
      }
      const bytes = whole !== undefined ? whole.subarray(0, size) : Buffer.concat(chunks, size)
      resolve({ bytes, release })
    }
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}

function tooLarge(limits: BodyLimits): DockgateError {
  return new DockgateError('DG_REQ_BODY_TOO_LARGE', `request body is larger than the ${limits.bytes}-byte limit for inspected bodies (limits.body_bytes)`)
}
