/**
 * A tar stream read incrementally, chunk by chunk, the way Go's archive/tar Reader.Next reads it
 * (src/archive/tar/reader.go next, readHeader, handleRegularFile; dockerd's build context goes
 * through it twice, in pkg/tarsum and pkg/archive Unpack): PAX 'x' records and GNU 'L'/'K' long
 * names apply to the next entry (a later one of the same kind replaces an earlier one), a 'g'
 * header is skipped and forgets them, links, directories and devices have no data whatever their
 * size field says, and the archive ends at two zero blocks, at one zero block and the end of the
 * input, or at the end of the input between entries or inside an entry's padding.
 *
 * The reader tells its caller which bytes may be passed on: everything it has read, except the
 * zero blocks that end the archive. dockerd starts building once its tar reader has seen the end
 * (seen on dockerd 20.10 and 26.1: the end marker plus 256 KiB more, or the end of the request
 * body, is enough), so the caller holds those blocks back until the Dockerfile has been checked.
 */
import { unreadable } from './context-error.js'
import { BLOCK, MAX_SPECIAL, mergePax, parseHeader, parsePax, type RawHeader } from './tar-header.js'

/** An entry that Unpack will create, after PAX and GNU records are applied. */
export interface TarEntry {
  /** '0' regular, '1' hard link, '2' symlink, '3' char, '4' block, '5' directory, '6' fifo. */
  readonly type: string
  readonly name: string
  readonly linkname: string
  /** Bytes of data that follow (0 for types without data). */
  readonly size: number
}

export interface TarSink {
  entry(e: TarEntry): void
  /** Data of the last entry, in order. */
  data(chunk: Buffer): void
}

/** Types Unpack creates (pkg/archive createTarFile); others make it fail. */
const KNOWN_TYPES = new Set(['0', '1', '2', '3', '4', '5', '6'])
/** archive/tar isHeaderOnlyType. */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6'])

type State = 'header' | 'zero' | 'data' | 'special' | 'pad' | 'done'

const ZERO_BLOCK = Buffer.alloc(BLOCK)

export class TarReader {
  private state: State = 'header'
  private readonly blk = Buffer.alloc(BLOCK)
  private fill = 0
  private remaining = 0
  private pad = 0
  private special: Buffer[] = []
  private specialType = ''
  private pax: Map<string, string> | undefined
  private longName = ''
  private longLink = ''

  constructor(private readonly sink: TarSink) {}

  /** True once the two zero blocks that end the archive were read. */
  get ended(): boolean {
    return this.state === 'done'
  }

  /**
   * Reads `chunk`; returns the part of it that may be passed on now. Bytes after the end of the
   * archive are read and dropped. Throws ContextError where the engine would fail.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = []
    // Bytes of `chunk` from runStart on may be passed on (in one piece), unless the run is off.
    let runStart = 0
    let run = this.state !== 'zero' && this.state !== 'done'
    let at = 0
    while (at < chunk.length && this.state !== 'done') {
      if (this.state === 'header' || this.state === 'zero') {
        const carried = this.fill
        const blockStart = at
        const n = Math.min(BLOCK - this.fill, chunk.length - at)
        chunk.copy(this.blk, this.fill, at, at + n)
        this.fill += n
        at += n
        if (this.fill < BLOCK) {
          // The block ends in a later chunk: hold its first bytes until it is known.
          if (run && blockStart > runStart) out.push(chunk.subarray(runStart, blockStart))
          return out
        }
        this.fill = 0
        if (this.state === 'zero') {
          if (!this.blk.equals(ZERO_BLOCK)) throw unreadable('a zero block followed by another header: the engine refuses this archive')
          this.state = 'done'
        } else if (this.blk.equals(ZERO_BLOCK)) {
          if (run && blockStart > runStart) out.push(chunk.subarray(runStart, blockStart))
          run = false
          this.state = 'zero'
        } else {
          if (carried > 0) out.push(Buffer.from(this.blk.subarray(0, carried)))
          this.header(parseHeader(this.blk))
        }
        continue
      }
      const n = Math.min(this.state === 'pad' ? this.pad : this.remaining, chunk.length - at)
      const piece = chunk.subarray(at, at + n)
      at += n
      if (this.state === 'pad') {
        this.pad -= n
      } else {
        this.remaining -= n
        if (this.state === 'data') this.sink.data(piece)
        else this.special.push(piece)
      }
      this.advance()
    }
    if (run && at > runStart) out.push(chunk.subarray(runStart, at))
    return out
  }

  /** The input ended: the zero blocks to pass on last, or a ContextError when the engine would fail. */
  end(): Buffer {
    if (this.state === 'done') return Buffer.alloc(2 * BLOCK)
    if ((this.state === 'header' || this.state === 'zero') && this.fill === 0) return Buffer.alloc(this.state === 'zero' ? BLOCK : 0)
    if (this.state === 'pad') return Buffer.alloc(0)
    throw unreadable('the build context ends in the middle of a tar entry: the engine refuses it')
  }

  private header(h: RawHeader): void {
    const type = h.typeflag
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (h.size < 0) throw unreadable('invalid tar header: negative size')
      if (h.size > MAX_SPECIAL) throw unreadable(`a PAX or GNU long-name header over ${MAX_SPECIAL} bytes: the engine refuses this archive`)
      this.specialType = type
      this.special = []
      this.start(h.size, 'special')
      return
    }
    let e = mergePax(h, this.pax)
    if (this.longName !== '') e = { ...e, name: this.longName }
    if (this.longLink !== '') e = { ...e, linkname: this.longLink }
    this.pax = undefined
    this.longName = ''
    this.longLink = ''
    let t = e.typeflag
    if (t === '\0') t = e.name.endsWith('/') ? '5' : '0'
    if (t === 'S') throw unreadable('GNU sparse files in build contexts are not supported by dockgate')
    if (!KNOWN_TYPES.has(t)) throw unreadable(`tar entry type ${JSON.stringify(t)} (${JSON.stringify(e.name)}): the engine cannot unpack it`)
    const size = HEADER_ONLY.has(t) ? 0 : e.size
    if (size < 0) throw unreadable('invalid tar header: negative size')
    if (!Number.isFinite(size)) throw unreadable('a tar entry larger than 2^53 bytes')
    this.sink.entry({ type: t, name: e.name, linkname: e.linkname, size })
    this.start(size, 'data')
  }

  private start(size: number, state: 'data' | 'special'): void {
    this.remaining = size
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK
    this.state = state
    this.advance()
  }

  /** Moves on when the data or padding of an entry is complete. */
  private advance(): void {
    if ((this.state === 'data' || this.state === 'special') && this.remaining === 0) {
      if (this.state === 'special') this.finishSpecial()
      this.state = 'pad'
    }
    if (this.state === 'pad' && this.pad === 0) this.state = 'header'
  }

  private finishSpecial(): void {
    const data = Buffer.concat(this.special)
    this.special = []
    if (this.specialType === 'x') {
      this.pax = parsePax(data)
    } else if (this.specialType === 'g') {
      parsePax(data)
      this.pax = undefined
      this.longName = ''
      this.longLink = ''
    } else {
      const nul = data.indexOf(0)
      const value = data.toString('latin1', 0, nul === -1 ? data.length : nul)
      if (this.specialType === 'L') this.longName = value
      else this.longLink = value
    }
  }
}
