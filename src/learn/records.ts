/**
 * Audit records as `dockgate learn` reads them: dockgate's own JSON lines (stdout or a file), each
 * with an `audit` object. Only these keys of it are read — `decision`, `operation`, `listener`,
 * `policy`, `client`, `rule`, `violations[] {guard, field, value, detail?}`, `method`, `path`, and
 * when present `code`, `version` and `phase` (the end record of a stream or session is passed over:
 * its start record counts) — so that fields added to the record later change nothing.
 * JSON lines without an `audit` object (start-up lines) are passed over; lines that are not JSON
 * (pretty output) are counted and skipped.
 */
import type { Violation } from '../guards/types.js'

/** The decisions that count as "seen": allowed, refused, or refused in audit-only mode but forwarded. */
export const SEEN_DECISIONS = ['allow', 'would-deny', 'deny'] as const
export type SeenDecision = (typeof SEEN_DECISIONS)[number]

/** The client of a record, as far as learn uses it. */
export interface RecordClient {
  readonly uid?: number
  readonly gid?: number
  readonly pid?: number
  readonly address?: string
  readonly subject?: string
  readonly entry?: string
}

export interface SeenRecord {
  readonly decision: SeenDecision
  readonly operation: string
  readonly listener: string
  readonly policy: string
  readonly client: RecordClient
  readonly rule?: string
  readonly code?: string
  readonly version?: string
  readonly violations: readonly Violation[]
  readonly method: string
  readonly path: string
}

export interface ReadResult {
  readonly records: SeenRecord[]
  /** Lines that are not JSON (pretty output, something else). */
  readonly skippedLines: number
  /** Audit records with another decision (error, aborted), by decision. */
  readonly otherDecisions: Map<string, number>
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

function readClient(v: unknown): RecordClient {
  if (!isRecord(v)) return {}
  const out: { -readonly [K in keyof RecordClient]: RecordClient[K] } = {}
  const uid = num(v['uid'])
  const gid = num(v['gid'])
  const pid = num(v['pid'])
  if (uid !== undefined) out.uid = uid
  if (gid !== undefined) out.gid = gid
  if (pid !== undefined) out.pid = pid
  for (const key of ['address', 'subject', 'entry'] as const) {
    const s = str(v[key])
    if (s !== undefined) out[key] = s
  }
  return out
}

function readViolations(v: unknown): Violation[] {
  if (!Array.isArray(v)) return []
  return v.flatMap((item: unknown): Violation[] => {
    if (!isRecord(item)) return []
    const guard = str(item['guard'])
    const field = str(item['field'])
    const value = str(item['value'])
    const detail = str(item['detail'])
    if (guard === undefined || field === undefined || value === undefined) return []
    return [detail === undefined ? { guard, field, value } : { guard, field, value, detail }]
  })
}

/** The audit record on one line; null for a JSON line without one (start-up lines); undefined when the line is not JSON. */
function parseLine(line: string): Record<string, unknown> | null | undefined {
  const text = line.trim()
  if (!text.startsWith('{')) return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    return isRecord(parsed) && isRecord(parsed['audit']) ? parsed['audit'] : null
  } catch {
    return undefined
  }
}

/** Reads every audit record of `text` (JSON lines). */
export function readRecords(text: string): ReadResult {
  const records: SeenRecord[] = []
  const otherDecisions = new Map<string, number>()
  let skippedLines = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const a = parseLine(line)
    if (a === null) continue
    if (a === undefined) {
      skippedLines++
      continue
    }
    // A stream or session has two records, `phase: "start"` and `phase: "end"`: it is seen once.
    if (a['phase'] === 'end') continue
    const decision = str(a['decision']) ?? '(none)'
    if (!(SEEN_DECISIONS as readonly string[]).includes(decision)) {
      otherDecisions.set(decision, (otherDecisions.get(decision) ?? 0) + 1)
      continue
    }
    const rule = str(a['rule'])
    const code = str(a['code'])
    const version = str(a['version'])
    records.push({
      decision: decision as SeenDecision,
      operation: str(a['operation']) ?? 'unknown',
      listener: str(a['listener']) ?? '',
      policy: str(a['policy']) ?? '',
      client: readClient(a['client']),
      violations: readViolations(a['violations']),
      method: str(a['method']) ?? '',
      path: str(a['path']) ?? '',
      ...(rule === undefined ? {} : { rule }),
      ...(code === undefined ? {} : { code }),
      ...(version === undefined ? {} : { version }),
    })
  }
  return { records, skippedLines, otherDecisions }
}

/** The keys `--client KEY=VALUE` may name. */
export const CLIENT_KEYS = ['uid', 'gid', 'pid', 'address', 'subject', 'entry'] as const
export type ClientKey = (typeof CLIENT_KEYS)[number]

export interface RecordFilter {
  /** Listener addresses as records write them; empty: any. */
  readonly listeners: readonly string[]
  /** `--client` values by key: a record must match one value of every key given. */
  readonly clients: ReadonlyMap<ClientKey, readonly string[]>
}

export function matchesFilter(r: SeenRecord, f: RecordFilter): boolean {
  if (f.listeners.length > 0 && !f.listeners.includes(r.listener)) return false
  for (const [key, values] of f.clients) {
    const have = r.client[key]
    if (have === undefined || !values.includes(String(have))) return false
  }
  return true
}

/** Who a record's client is, in a few words: `uid 1000`, `subject "CN=ci"`, `192.0.2.7`, plus its entry. */
export function describeClient(c: RecordClient): string {
  const who = c.subject !== undefined ? `subject ${JSON.stringify(c.subject)}` : c.uid !== undefined ? `uid ${c.uid}` : c.address ?? 'an unidentified client'
  return c.entry === undefined ? who : `${who} (${c.entry})`
}
