/**
 * The engine's answer to an operation whose values the policy redacts: read whole (bounded),
 * parsed, redacted (apply.ts), re-encoded. Only these answers are buffered; every other answer is
 * piped untouched by forward.ts.
 *
 * Bounded: the answer is held in memory and parsed, so it must fit `limits.response_bytes` and the
 * budget shared with inspected request bodies (body.ts). Beyond either it is refused, never
 * truncated (a cut JSON document is useless to the client) and never forwarded unredacted.
 * Fail closed: an answer dockgate cannot read exactly — not JSON, compressed, a value of an
 * unexpected type at a site — is refused with 502 rather than passed on.
 */
import type { IncomingMessage } from 'node:http'
import type { BodyBudget } from '../body.js'
import { DockgateError, isDockgateError } from '../errors.js'
import type { RedactKind } from '../policy/redact.js'
import { applyRedaction, RedactShapeError, type RedactPlan } from './apply.js'

export interface ResponseRedaction {
  readonly plan: RedactPlan
  /** Largest answer read for redaction (limits.response_bytes). */
  readonly limitBytes: number
  readonly budget: BodyBudget
}

export interface RedactedAnswer {
  /** What the client gets: the engine's bytes when nothing was replaced, else the re-encoded document. */
  readonly body: Buffer
  /** The kinds that replaced at least one value. */
  readonly kinds: readonly RedactKind[]
  /** Gives the held bytes back to the budget (idempotent). */
  release(): void
}

/** True when the answer has a body to redact: a 2xx with content (errors carry only a message). */
export function hasRedactableBody(method: string, res: IncomingMessage): boolean {
  const status = res.statusCode ?? 0
  return method !== 'HEAD' && status >= 200 && status < 300 && status !== 204
}

/**
 * Reads and redacts `res`, the answer of the engine at `engine` (named in the refusals). Rejects with a DockgateError (answered by the pipeline, since nothing
 * has been sent yet): DG_LIMIT_RESPONSE_SIZE, DG_UPSTREAM_UNREADABLE, DG_LIMIT_BODY_BUDGET; with a
 * plain Error when the engine's connection fails midway.
 */
export function readAndRedact(res: IncomingMessage, r: ResponseRedaction, operation: string, engine: string): Promise<RedactedAnswer> {
  const unreadable = (why: string): DockgateError =>
    new DockgateError('DG_UPSTREAM_UNREADABLE', `the answer of the Docker engine at ${engine} to ${operation} could not be read to redact it (${why}); it was not forwarded`)
  const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  if (type !== 'application/json') return Promise.reject(unreadable(`Content-Type ${JSON.stringify(type)}, not application/json`))
  if (encoding !== 'identity') return Promise.reject(unreadable(`Content-Encoding ${JSON.stringify(encoding)}`))
  const tooLarge = (): DockgateError => new DockgateError('DG_LIMIT_RESPONSE_SIZE',
    `the answer of the Docker engine at ${engine} to ${operation} is larger than ${r.limitBytes} bytes (limits.response_bytes); the policy redacts values in it, so it must be read whole; it was not forwarded`)
  const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length'])
  if (declared !== undefined && declared > r.limitBytes) return Promise.reject(tooLarge())

  let taken = 0
  const release = (): void => {
    r.budget.give(taken)
    taken = 0
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const fail = (err: Error): void => {
      release()
      res.destroy()
      reject(err)
    }
    res.on('data', (chunk: Buffer) => {
      if (size + chunk.length > r.limitBytes) return fail(tooLarge())
      try {
        r.budget.take(chunk.length)
      } catch (err) {
        return fail(err as Error)
      }
      taken += chunk.length
      size += chunk.length
      chunks.push(chunk)
    })
    res.once('error', (err) => fail(err))
    res.once('end', () => {
      const raw = Buffer.concat(chunks, size)
      try {
        const doc = parseEngineJson(raw.toString('utf8'))
        const kinds = applyRedaction(doc, r.plan)
        const body = kinds.size === 0 ? raw : Buffer.from(JSON.stringify(doc) + '\n')
        resolve({ body, kinds: [...kinds], release })
      } catch (err) {
        release()
        if (isDockgateError(err)) return reject(err)
        reject(unreadable(err instanceof RedactShapeError ? err.message : `not JSON: ${(err as Error).message}`))
      }
    })
  })
}

/** JSON.rawJSON (V8, Node ≥ 21; not in TypeScript's lib yet): a number written as its source text. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON

/** Keeps an integer beyond 2^53 as its source text, so that re-encoding changes no digit. */
const keepBigIntegers = (_key: string, value: unknown, context?: { source?: string }): unknown =>
  typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)
    ? rawJSON(context.source)
    : value

/**
 * JSON.parse, keeping integers beyond 2^53 exact (int64 and uint64 fields: sizes, limits, swarm
 * indexes). The reviver triples the cost of a parse, and such an integer has at least 16 digits
 * (2^53 has 16): an answer with no run of 16 digits is parsed without it.
 */
export function parseEngineJson(text: string): unknown {
  return /\d{16}/.test(text) ? JSON.parse(text, keepBigIntegers) : JSON.parse(text)
}
