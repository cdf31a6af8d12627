/**
 * Tar archives written byte by byte, for build-context tests: ordinary entries as the docker CLI
 * writes them (Go's archive/tar, USTAR), and the odd ones an attacker can write (PAX and GNU long
 * names, V7 and GNU headers, bad checksums, the same name twice, links, no end-of-archive marker).
 * Layout: POSIX.1-1988 ustar header (pax(1), "ustar Interchange Format"); PAX records
 * "%d %s=%s\n" (pax(1), "pax Extended Header"); GNU 'L'/'K' long names (GNU tar manual, "Basic Tar
 * Format").
 */
import { gzipSync } from 'node:zlib'

export type EntryType = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | 'x' | 'g' | 'L' | 'K' | 'S' | '\0'

export interface TarEntry {
  readonly name: string
  /** Default '0' (regular file). */
  readonly type?: EntryType
  /** File data (a string is UTF-8). */
  readonly data?: string | Buffer
  readonly linkname?: string
  /** Size field; default: the data's length. */
  readonly size?: number
  /** USTAR prefix field (joined to the name with '/' by readers of USTAR headers). */
  readonly prefix?: string
  /** Header magic: 'ustar' (POSIX, default), 'gnu' ("ustar  \0"), 'v7' (none). */
  readonly format?: 'ustar' | 'gnu' | 'v7'
  /** Overrides the checksum field (e.g. to make it wrong). */
  readonly checksum?: number
  /** Raw bytes written into the header at the given offsets, after everything else but the checksum. */
  readonly patch?: ReadonlyArray<readonly [number, Buffer]>
}

const BLOCK = 512

function field(buf: Buffer, at: number, len: number, value: string | Buffer): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  if (bytes.length > len) throw new Error(`tar-build: ${bytes.length} bytes do not fit a ${len}-byte field`)
  bytes.copy(buf, at)
}

function octal(buf: Buffer, at: number, len: number, value: number): void {
  field(buf, at, len, value.toString(8).padStart(len - 1, '0') + '\0')
}

/** One 512-byte header block. */
export function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK)
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data)
  field(h, 0, 100, e.name)
  octal(h, 100, 8, 0o644)
  octal(h, 108, 8, 0)
  octal(h, 116, 8, 0)
  octal(h, 124, 12, e.size ?? data.length)
  octal(h, 136, 12, 0)
  h.write(e.type ?? '0', 156, 'latin1')
  field(h, 157, 100, e.linkname ?? '')
  const format = e.format ?? 'ustar'
  if (format === 'ustar') {
    field(h, 257, 6, 'ustar\0')
    field(h, 263, 2, '00')
  } else if (format === 'gnu') {
    field(h, 257, 8, 'ustar  \0')
  }
  if (e.prefix !== undefined) field(h, 345, 155, e.prefix)
  for (const [at, bytes] of e.patch ?? []) bytes.copy(h, at)
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b
  field(h, 148, 8, (e.checksum ?? sum).toString(8).padStart(6, '0') + '\0 ')
  return h
}

/** Header, data, and padding to the next 512-byte boundary. */
export function entry(e: TarEntry): Buffer {
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data)
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK
  return Buffer.concat([header(e), data, Buffer.alloc(pad)])
}

/** The records of a PAX extended header, each "%d %s=%s\n" with its own length counted. */
export function paxRecords(records: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: Buffer[] = []
  for (const [k, v] of records) {
    const body = ` ${k}=${v}\n`
    let n = Buffer.byteLength(body) + 1
    while (String(n).length + Buffer.byteLength(body) !== n) n = String(n).length + Buffer.byteLength(body)
    out.push(Buffer.from(`${n}${body}`, 'utf8'))
  }
  return Buffer.concat(out)
}

/** A PAX 'x' header entry applying `records` to the entry that follows. */
export function pax(records: ReadonlyArray<readonly [string, string]>, type: 'x' | 'g' = 'x'): Buffer {
  return entry({ name: 'PaxHeaders/x', type, data: paxRecords(records) })
}

/** A GNU long name ('L') or long link ('K') entry for the entry that follows. */
export function gnuLong(value: string, type: 'L' | 'K' = 'L'): Buffer {
  return entry({ name: '././@LongLink', type, data: Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)]), format: 'gnu' })
}

/** The end-of-archive marker: two zero blocks. */
export const END = Buffer.alloc(2 * BLOCK)

/** A whole archive: the entries (Buffers are inserted as they are) and the end marker. */
export function tar(entries: ReadonlyArray<TarEntry | Buffer>, opts: { end?: boolean } = {}): Buffer {
  const parts = entries.map((e) => (Buffer.isBuffer(e) ? e : entry(e)))
  if (opts.end !== false) parts.push(END)
  return Buffer.concat(parts)
}

/** A gzip member of `data` (node:zlib). */
export function gzip(data: Buffer): Buffer {
  return gzipSync(data)
}
