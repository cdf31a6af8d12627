/**
 * Where the log lines go: standard output, with the audit records of allowed requests written in
 * batches, off the request's hot path.
 *
 * One `write(2)` per record was the largest single cost of an allowed request after forwarding
 * itself (bench/README.md). Here an allowed request's record is appended to a buffer that is
 * written in one `write` when it reaches BATCH_BYTES or FLUSH_MS after its first record, so a
 * record is on its way within a second. Every other line — refusals and errors (warn and above),
 * hijacked sessions (101), anything that is not an audit record (start-up, reloads) — is written at
 * once, after whatever is buffered, so lines keep their order (audit.ts also asks for a flush,
 * `logger.flush()`, after a refusal and at the start of a stream or session). On exit (SIGTERM/SIGINT go through
 * main's graceful close and then `process.exit`, and an uncaught exception also ends in the
 * `exit` event) the buffer is written synchronously: nothing is lost.
 *
 * Writes are synchronous (`fs.writeSync`): a batch costs one system call and no thread-pool
 * round trip, and a full pipe (EAGAIN) is waited out rather than dropped.
 */
import fs from 'node:fs'

/** Flush the batch once it holds this many characters. */
export const BATCH_BYTES = 32 * 1024
/** …or this long after its first record (ms): a record is written within a second. */
export const FLUSH_MS = 200

/** Pino sets `lastLevel` and `lastObj` on a destination that asks for them (pino's multistream does too). */
const NEEDS_METADATA = Symbol.for('pino.metadata')

export interface LogDestination {
  write(line: string): void
  /** Writes what is buffered now (synchronously). */
  flushSync(): void
  /** pino's `logger.flush(cb)` calls this. */
  flush(cb?: (err?: Error) => void): void
  /** Stops the timer and the exit hook after writing what is buffered (tests). */
  end(): void
  /** For pino: the level and object of the line being written. */
  lastLevel: number
  lastObj: unknown
}

interface AuditShape {
  readonly audit?: { readonly decision?: string; readonly status?: number; readonly phase?: string }
}

/**
 * Whether a line can wait in the batch: only an allowed request's audit record at info or below.
 * Refusals and errors (warn and above), session records (status 101) and non-audit lines go at once.
 */
export function canBatch(level: number, obj: unknown): boolean {
  if (level > 30) return false
  const audit = (obj as AuditShape | undefined)?.audit
  if (audit === undefined || audit === null) return false
  return (audit.decision === 'allow' || audit.decision === 'aborted') && audit.status !== 101 && audit.phase !== 'start'
}

const sleepMs = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** Writes all of `data` to `fd`, waiting out EAGAIN (a non-blocking pipe that is full). */
function writeAll(fd: number, data: string): void {
  let buf = Buffer.from(data, 'utf8')
  while (buf.length > 0) {
    try {
      const n = fs.writeSync(fd, buf)
      buf = buf.subarray(n)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EAGAIN' || code === 'EBUSY') {
        sleepMs(1)
        continue
      }
      // EPIPE and the like: the reader is gone; logging stops rather than crashing the proxy.
      if (code === 'EPIPE') return
      throw err
    }
  }
}

export function createLogDestination(fd = 1, opts: { batchBytes?: number; flushMs?: number } = {}): LogDestination {
  const batchBytes = opts.batchBytes ?? BATCH_BYTES
  const flushMs = opts.flushMs ?? FLUSH_MS
  let parts: string[] = []
  let length = 0
  let timer: NodeJS.Timeout | undefined

  const flushSync = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    if (length === 0) return
    const data = parts.length === 1 ? parts[0]! : parts.join('')
    parts = []
    length = 0
    writeAll(fd, data)
  }
  const onExit = (): void => flushSync()
  process.on('exit', onExit)

  const dest: LogDestination = {
    lastLevel: 0,
    lastObj: undefined,
    write(line: string): void {
      if (!canBatch(dest.lastLevel, dest.lastObj)) {
        if (length === 0) writeAll(fd, line)
        else {
          parts.push(line)
          length += line.length
          flushSync()
        }
        return
      }
      parts.push(line)
      length += line.length
      if (length >= batchBytes) flushSync()
      else if (timer === undefined) {
        timer = setTimeout(flushSync, flushMs)
        timer.unref()
      }
    },
    flushSync,
    flush(cb?: (err?: Error) => void): void {
      try {
        flushSync()
        cb?.()
      } catch (err) {
        if (cb) cb(err as Error)
        else throw err
      }
    },
    end(): void {
      flushSync()
      process.off('exit', onExit)
    },
  }
  Object.defineProperty(dest, NEEDS_METADATA, { value: true })
  return dest
}
