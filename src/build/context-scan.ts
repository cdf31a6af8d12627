/**
 * The build context of `POST /build` (legacy builder), checked as it streams to the engine.
 *
 * What passes through is what was read: the tar, or for a gzip context the decompressed tar
 * (dockerd unpacks either the same way, moby pkg/archive DecompressStream). Nothing is buffered
 * whole: only the Dockerfile's bytes (up to a limit) and the context's symlinks are kept
 * (context-tree.ts). The zero blocks that end the archive, and the end of the body, are held back
 * until the Dockerfile has been found and checked: dockerd does not build before it has read them
 * (tar-reader.ts). A refusal is an 'error' on this stream; the forwarder then aborts the upstream
 * request, and an archive cut short makes the engine fail without building (seen on dockerd 20.10
 * and 26.1: "Error processing tar file: unexpected EOF").
 *
 * Compression is detected on the first bytes as DecompressStream does (archive.DetectCompression):
 * gzip is decompressed with node:zlib; bzip2, xz and zstd, which dockgate cannot read, are refused.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { createGunzip, type Gunzip } from 'node:zlib'
import { ContextError, unreadable } from './context-error.js'
import { ContextTree, type FoundDockerfile } from './context-tree.js'
import { TarReader } from './tar-reader.js'

export interface ContextScanOptions {
  /** The `dockerfile` query parameter ('' when absent). */
  readonly dockerfile: string
  /** Largest Dockerfile kept for the check, in bytes. */
  readonly maxDockerfileBytes: number
  /** The verdict on the Dockerfile: an error to refuse the build, undefined to let it through. */
  readonly check: (found: FoundDockerfile) => Error | undefined
  /** The error the client gets for a context that cannot be checked. */
  readonly refuse: (err: ContextError) => Error
}

/** Bytes DecompressStream peeks at. */
const PEEK = 10
const END_MARKER = Buffer.alloc(1024)

/** The compression archive.DetectCompression (dockerd 26.1, a superset of 20.10's) finds, if any. */
export function detectCompression(head: Buffer): 'gzip' | 'bzip2' | 'xz' | 'zstd' | undefined {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b)
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2'
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip'
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz'
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd'
  // zstd skippable frames: little-endian magic 0x184D2A50..5F.
  if (head.length >= 8 && (head.readUInt32LE(0) & 0xfffffff0) >>> 0 === 0x184d2a50) return 'zstd'
  return undefined
}

export class ContextScan extends Transform {
  private head: Buffer[] = []
  private headBytes = 0
  private mode: 'detect' | 'plain' | 'gzip' = 'detect'
  /** For gzip: the first decompressed bytes are checked for a second layer of compression. */
  private innerChecked = false
  private gunzip: Gunzip | undefined
  private readonly tree: ContextTree | ContextError
  private readonly tar: TarReader
  private released = false

  constructor(private readonly opts: ContextScanOptions) {
    super()
    // A `dockerfile=` the engine refuses is reported as the body's first refusal, not thrown here.
    let tree: ContextTree | ContextError
    try {
      tree = new ContextTree(opts.dockerfile, opts.maxDockerfileBytes)
    } catch (err) {
      if (!(err instanceof ContextError)) throw err
      tree = err
    }
    this.tree = tree
    this.tar = new TarReader(tree instanceof ContextError ? { entry: () => {}, data: () => {} } : tree)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (this.tree instanceof ContextError) throw this.tree
      if (this.released) return cb()
      if (this.mode === 'detect') {
        this.head.push(chunk)
        this.headBytes += chunk.length
        if (this.headBytes < PEEK) return cb()
        chunk = this.decide()
      }
      if (this.mode === 'plain') {
        this.scan(chunk)
        return cb()
      }
      if (this.gunzip!.write(chunk)) cb()
      else this.gunzip!.once('drain', () => cb())
    } catch (err) {
      cb(this.asError(err))
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.tree instanceof ContextError) throw this.tree
      if (this.mode === 'detect') this.scanOrInflate(this.decide())
      if (this.mode === 'gzip' && !this.released) {
        this.gunzip!.once('end', () => this.settle(cb))
        this.gunzip!.end()
        return
      }
      this.settle(cb)
    } catch (err) {
      cb(this.asError(err))
    }
  }

  override _read(size: number): void {
    this.gunzip?.resume()
    super._read(size)
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.gunzip?.destroy()
    cb(err)
  }

  private scanOrInflate(chunk: Buffer): void {
    if (this.mode === 'plain') this.scan(chunk)
    else this.gunzip!.write(chunk)
  }

  /** The first bytes are in: choose how to read the rest; returns the bytes read so far. */
  private decide(): Buffer {
    const head = Buffer.concat(this.head, this.headBytes)
    this.head = []
    const compression = detectCompression(head)
    if (compression === undefined) {
      this.mode = 'plain'
    } else if (compression === 'gzip') {
      this.mode = 'gzip'
      this.gunzip = createGunzip()
      this.gunzip.on('data', (d: Buffer) => this.inflated(d))
      this.gunzip.on('error', (e) => {
        // node:zlib reads non-zero bytes after a gzip member as a broken next member.
        if (!this.released) this.destroy(this.opts.refuse(unreadable(`the gzip-compressed build context is corrupt or has data after its end (${e.message})`)))
      })
    } else {
      throw unreadable(`${compression}-compressed build contexts are not supported by dockgate; send it uncompressed or gzip-compressed`)
    }
    return head
  }

  private inflated(d: Buffer): void {
    try {
      if (!this.innerChecked) {
        this.innerChecked = true
        const inner = detectCompression(d)
        if (inner !== undefined) throw unreadable(`a ${inner}-compressed archive inside the gzip layer: the engine would not read it as dockgate does`)
      }
      if (!this.scan(d)) this.gunzip!.pause()
    } catch (err) {
      this.destroy(this.asError(err))
    }
  }

  /** Reads `bytes`, passes on what may go; false when the reader should wait. */
  private scan(bytes: Buffer): boolean {
    if (this.released) return true
    let more = true
    for (const piece of this.tar.push(bytes)) more = this.push(piece)
    if (this.tar.ended) {
      this.verdict()
      this.released = true
      more = this.push(END_MARKER)
    }
    return more
  }

  /** The input is over: the archive must have ended cleanly, then the verdict. */
  private settle(cb: TransformCallback): void {
    try {
      if (!this.released) {
        const held = this.tar.end()
        this.verdict()
        this.released = true
        if (held.length > 0) this.push(held)
      }
      cb()
    } catch (err) {
      cb(this.asError(err))
    }
  }

  private verdict(): void {
    if (this.tree instanceof ContextError) throw this.tree
    const refusal = this.opts.check(this.tree.dockerfile())
    if (refusal !== undefined) throw refusal
  }

  private asError(err: unknown): Error {
    if (err instanceof ContextError) return this.opts.refuse(err)
    return err instanceof Error ? err : new Error(String(err))
  }
}
