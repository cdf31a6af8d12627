/**
 * The logger, made in one place: pino with ISO 8601 times (`"time":"2026-12-02T11:43:26.123Z"`)
 * and level names (`"level":"warn"`), as log shippers and people read them. JSON lines, unless
 * the destination is a terminal: then pino-pretty formats the same records for reading (it is
 * loaded only then, so the JSON path does not pay for it).
 *
 * `destination` is where lines go (default stdout); tests pass a stream of their own.
 */
import { createRequire } from 'node:module'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from './config.js'

export interface LoggerOptions {
  /** Format for a terminal (pino-pretty); default: when no destination is given and stdout is a TTY. */
  readonly pretty?: boolean
}

/** pino's options for every dockgate logger. */
export function loggerOptions(level: LogLevel | string): pino.LoggerOptions {
  return {
    level,
    base: { service: 'dockgate' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }
}

export function createLogger(level: LogLevel | string, destination?: DestinationStream, opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? (destination === undefined && process.stdout.isTTY === true)
  if (!pretty) return destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination)
  // pino-pretty is a dependency used only for a terminal; loaded synchronously so that the first
  // start-up line is already formatted. Synchronous writes: a refusal is on screen at once.
  const require = createRequire(import.meta.url)
  let prettyFactory: (o: Record<string, unknown>) => DestinationStream
  try {
    prettyFactory = require('pino-pretty') as typeof prettyFactory
  } catch {
    // Installed without it (a trimmed image): JSON lines, as for a pipe.
    return destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination)
  }
  const stream = prettyFactory({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    // An audit record reads as one line (prettyMessage); other fields of other lines are shown as pino-pretty shows them.
    ignore: 'pid,hostname,service,audit',
    messageFormat: prettyMessage,
    ...(destination === undefined ? {} : { destination }),
  })
  return pino(loggerOptions(level), stream)
}

/** `deny ContainerCreate busybox — POST /v1.41/containers/create, uid 1000 on unix:///…, policy p, rule r, 403, 2.1 ms: reason`. */
export function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const msg = String(log[messageKey] ?? '')
  const a = log['audit']
  if (a === null || typeof a !== 'object') return msg
  const r = a as Record<string, unknown>
  const c = (r['client'] ?? {}) as Record<string, unknown>
  const who = c['subject'] ?? (c['uid'] !== undefined ? `uid ${String(c['uid'])}` : c['address']) ?? 'unknown client'
  const parts = [
    `${String(r['method'])} ${r['version'] === undefined ? '' : `/v${String(r['version'])}`}${String(r['path'])}`,
    `${String(who)} on ${String(r['listener'])}`,
    `policy ${String(r['policy'])}`,
    ...(r['rule'] === undefined ? [] : [`rule ${String(r['rule'])}`]),
    ...(r['status'] === undefined ? [] : [String(r['status'])]),
    ...(r['durationMs'] === undefined ? [] : [`${String(r['durationMs'])} ms`]),
    ...(r['bytesOut'] === undefined ? [] : [`${String(r['bytesIn'])}/${String(r['bytesOut'])} bytes in/out`]),
    `id ${String(r['id'])}`,
  ]
  const reason = r['reason'] === undefined ? '' : `: ${String(r['reason'])}`
  return `${msg} — ${parts.join(', ')}${reason}`
}

/**
 * Writes what the logger holds now. Refusals and the start of streams and sessions are written at
 * once (audit.ts): with a destination that buffers, a live shell or a refusal must not wait for
 * the buffer to fill, or be lost when dockgate is killed.
 */
export function flushNow(logger: Logger): void {
  logger.flush()
}
