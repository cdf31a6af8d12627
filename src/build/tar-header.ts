/**
 * One 512-byte tar header block and PAX records, read as Go's archive/tar reads them
 * (src/archive/tar/reader.go readHeader, parsePAX, mergePAX; format.go getFormat) — the reader
 * that dockerd's build context extraction uses (moby pkg/tarsum and pkg/archive Unpack).
 * Strings are byte strings (one char per byte), as file names are bytes to the engine.
 */
import { unreadable } from './context-error.js'

export const BLOCK = 512
/** archive/tar maxSpecialFileSize: the largest PAX header or GNU long name Go reads. */
export const MAX_SPECIAL = 1 << 20

export interface RawHeader {
  readonly typeflag: string
  readonly name: string
  readonly linkname: string
  /** -1 for a negative size field, Infinity beyond 2^53 (see sizeOf). */
  readonly size: number
}

const MAGIC_USTAR = Buffer.from('ustar\0', 'latin1')
const MAGIC_GNU = Buffer.from('ustar  \0', 'latin1')
const TRAILER_STAR = Buffer.from('tar\0', 'latin1')

/** parseString: up to the first NUL. */
function cString(b: Buffer, from: number, to: number): string {
  if (b[from] === 0) return ''
  const end = b.indexOf(0, from)
  return b.toString('latin1', from, end === -1 || end > to ? to : end)
}

class NumberError extends Error {}

/** parseNumeric: base-256 when the high bit is set, else octal (parseOctal). */
function numeric(b: Buffer, from: number, to: number): bigint {
  if (b[from]! & 0x80) {
    const inv = b[from]! & 0x40 ? 0xff : 0x00
    let x = 0n
    for (let i = from; i < to; i++) {
      let c = b[i]! ^ inv
      if (i === from) c &= 0x7f
      if (x >> 56n > 0n) throw new NumberError()
      x = (x << 8n) | BigInt(c)
    }
    if (x >> 63n > 0n) throw new NumberError()
    return inv === 0xff ? -x - 1n : x
  }
  // bytes.Trim(" \x00"), then up to the first NUL, then strconv.ParseUint(s, 8, 64).
  let start = from
  let end = to
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--
  if (start === end) return 0n
  const nul = b.indexOf(0, start)
  if (nul >= 0 && nul < end) end = nul
  let small = 0
  for (let i = start; i < end; i++) {
    const d = b[i]! - 0x30
    if (d < 0 || d > 7) throw new NumberError()
    small = small * 8 + d
  }
  if (end - start <= 17) return BigInt(small)
  const x = BigInt('0o' + b.toString('latin1', start, end))
  if (x > 0xffffffffffffffffn) throw new NumberError()
  return x > 0x7fffffffffffffffn ? x - 0x10000000000000000n : x
}

function checksumOK(b: Buffer): boolean {
  let want: bigint
  try {
    want = numeric(b, 148, 156)
    if (b[148]! & 0x80) return false // parseOctal only
  } catch {
    return false
  }
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!
    unsigned += c
    signed += c > 127 ? c - 256 : c
  }
  return want === BigInt(unsigned) || want === BigInt(signed)
}

/** A size as a number: -1 when negative (ErrHeader unless the type has no data), Infinity beyond 2^53. */
function sizeOf(n: bigint): number {
  if (n < 0n) return -1
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(n)
}

/** Parses a non-zero header block; throws ContextError where Go returns ErrHeader. */
export function parseHeader(b: Buffer): RawHeader {
  if (!checksumOK(b)) throw unreadable('invalid tar header (bad checksum): the engine refuses this archive')
  const at = (magic: Buffer, offset: number): boolean => b.compare(magic, 0, magic.length, offset, offset + magic.length) === 0
  const format = at(MAGIC_USTAR, 257) ? (at(TRAILER_STAR, 508) ? 'star' : 'ustar') : at(MAGIC_GNU, 257) ? 'gnu' : 'v7'
  let name = cString(b, 0, 100)
  let size: bigint
  try {
    size = numeric(b, 124, 136)
    for (const [f, t] of [[100, 108], [108, 116], [116, 124], [136, 148]] as const) numeric(b, f, t)
    if (format !== 'v7') {
      numeric(b, 329, 337)
      numeric(b, 337, 345)
    }
    let prefix = ''
    if (format === 'ustar') prefix = cString(b, 345, 500)
    else if (format === 'star') {
      prefix = cString(b, 345, 476)
      numeric(b, 476, 488)
      numeric(b, 488, 500)
    } else if (format === 'gnu') {
      try {
        if (b[345] !== 0) numeric(b, 345, 357)
        if (b[357] !== 0) numeric(b, 357, 369)
      } catch (err) {
        if (!(err instanceof NumberError)) throw err
        // Go reads pre-Go1.8 files whose GNU time fields hold a USTAR prefix.
        const s = cString(b, 345, 500)
        if (!/[\x80-\xff]/.test(s)) prefix = s
      }
    }
    if (prefix !== '') name = `${prefix}/${name}`
  } catch (err) {
    if (err instanceof NumberError) throw unreadable('invalid tar header (bad number field): the engine refuses this archive')
    throw err
  }
  return { typeflag: String.fromCharCode(b[156]!), name, linkname: cString(b, 157, 257), size: sizeOf(size) }
}

/** strconv.ParseInt(s, 10, 64). */
export function goParseInt(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined
  const n = BigInt(s)
  return n < -(2n ** 63n) || n >= 2n ** 63n ? undefined : n
}

/** parsePAX: the records of a PAX extended header; later keys win. */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>()
  let s = data.toString('latin1')
  const bad = (): never => {
    throw unreadable('invalid PAX extended header: the engine refuses this archive')
  }
  while (s.length > 0) {
    const sp = s.indexOf(' ')
    if (sp < 0) bad()
    const n = goParseInt(s.slice(0, sp))
    if (n === undefined || n < 5n || n > BigInt(s.length)) bad()
    const len = Number(n)
    if (len - (sp + 1) <= 0) bad()
    const rec = s.slice(sp + 1, len - 1)
    if (s[len - 1] !== '\n') bad()
    const eq = rec.indexOf('=')
    if (eq < 0) bad()
    const k = rec.slice(0, eq)
    const v = rec.slice(eq + 1)
    // validPAXRecord
    if (k === '' || k.includes('\0') || (['path', 'linkpath', 'uname', 'gname'].includes(k) && v.includes('\0'))) bad()
    if (k.startsWith('GNU.sparse.')) throw unreadable('sparse files (GNU.sparse PAX records) in build contexts are not supported by dockgate')
    records.set(k, v)
    s = s.slice(len)
  }
  return records
}

function paxTime(v: string): boolean {
  const dot = v.indexOf('.')
  const secs = dot < 0 ? v : v.slice(0, dot)
  return goParseInt(secs) !== undefined && (dot < 0 || /^[0-9]*$/.test(v.slice(dot + 1)))
}

/** mergePAX: path, linkpath and size replace the header's; a bad number is ErrHeader. */
export function mergePax(h: RawHeader, pax: ReadonlyMap<string, string> | undefined): RawHeader {
  if (pax === undefined) return h
  let { name, linkname, size } = h
  for (const [k, v] of pax) {
    if (v === '') continue
    let ok = true
    if (k === 'path') name = v
    else if (k === 'linkpath') linkname = v
    else if (k === 'size') {
      const n = goParseInt(v)
      if (n === undefined) ok = false
      else size = sizeOf(n)
    } else if (k === 'uid' || k === 'gid') ok = goParseInt(v) !== undefined
    else if (k === 'atime' || k === 'mtime' || k === 'ctime') ok = paxTime(v)
    if (!ok) throw unreadable(`invalid PAX record ${k}: the engine refuses this archive`)
  }
  return { typeflag: h.typeflag, name, linkname, size }
}
