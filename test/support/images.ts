/**
 * Local test images, made without a registry (nothing can be pulled here; shared/testing.md,
 * "Images without a registry"): a root filesystem holding the static busybox binary is written as a
 * tar stream in this process and sent to the engine's import endpoint
 * (`POST /images/create?fromSrc=-`, the API behind `docker import`).
 */
import { randomFillSync } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { engineRequest } from './engine.js'

/** The small image: busybox with its applets linked into /bin, default command `sh`. */
export const BUSYBOX_IMAGE = 'busybox:test'
/** busybox plus /big.bin of random bytes, for save/load and streaming tests. */
export const BIG_IMAGE = 'bigimage:test'
/** Default size of /big.bin in BIG_IMAGE, in bytes. */
export const DEFAULT_BIG_BYTES = 40 * 1024 * 1024

/** Applets linked to /bin/busybox in both images. */
export const APPLETS = [
  'sh', 'cat', 'echo', 'sleep', 'ls', 'id', 'wc', 'head', 'tail', 'true', 'false', 'env', 'md5sum',
  'sha256sum', 'dd', 'seq', 'yes', 'tee', 'printf', 'mkdir', 'touch', 'test', 'hostname',
] as const

/** Label holding the size of /big.bin, so that a different requested size rebuilds the image. */
const SIZE_LABEL = 'dockgate.test.big-bytes'

export interface EnsureImagesOptions {
  /** Size of /big.bin in BIG_IMAGE, in bytes. Default DEFAULT_BIG_BYTES. */
  bigBytes?: number
  /** Path of a statically linked busybox (Debian package busybox-static). Default /bin/busybox. */
  busybox?: string
}

/**
 * Makes BUSYBOX_IMAGE and BIG_IMAGE in the engine behind `socket` unless they already exist
 * (BIG_IMAGE is rebuilt when its /big.bin size differs from `bigBytes`).
 */
export async function ensureImages(socket: string, opts: EnsureImagesOptions = {}): Promise<void> {
  const bigBytes = opts.bigBytes ?? DEFAULT_BIG_BYTES
  const busyboxPath = opts.busybox ?? '/bin/busybox'
  let busybox: Buffer | undefined
  const loadBusybox = async (): Promise<Buffer> => (busybox ??= await readStaticBusybox(busyboxPath))

  if ((await inspectImage(socket, BUSYBOX_IMAGE)) === undefined) {
    await importImage(socket, BUSYBOX_IMAGE, rootfs(await loadBusybox()), [])
  }
  const big = await inspectImage(socket, BIG_IMAGE)
  if (big?.Config?.Labels?.[SIZE_LABEL] !== String(bigBytes)) {
    const extra = { name: 'big.bin', mode: 0o644, size: bigBytes, content: randomChunks(bigBytes) }
    await importImage(socket, BIG_IMAGE, rootfs(await loadBusybox(), extra), [`LABEL ${SIZE_LABEL}=${bigBytes}`])
  }
}

interface ImageInspect {
  Id?: string
  Config?: { Labels?: Record<string, string> | null }
}

/** `GET /images/{name}/json`, or undefined on 404. */
export async function inspectImage(socket: string, name: string): Promise<ImageInspect | undefined> {
  const res = await engineRequest(socket, 'GET', `/images/${encodeURIComponent(name)}/json`)
  if (res.status === 404) return undefined
  if (res.status !== 200) throw new Error(`inspect ${name}: HTTP ${res.status} ${res.body.toString()}`)
  return JSON.parse(res.body.toString()) as ImageInspect
}

/** `docker import - repo:tag` with `changes`, over the API. Throws on any error in the progress stream. */
export async function importImage(socket: string, name: string, tar: Readable, changes: readonly string[]): Promise<void> {
  const [repo, tag] = name.split(':') as [string, string]
  const query = new URLSearchParams({ fromSrc: '-', repo, tag })
  for (const change of [
    'CMD ["sh"]',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...changes,
  ]) query.append('changes', change)
  const res = await engineRequest(socket, 'POST', `/images/create?${query}`, tar, {
    headers: { 'content-type': 'application/x-tar' },
    timeoutMs: 300_000,
  })
  // The import answers 200 and reports failures inside its JSON progress stream.
  const messages = res.body.toString().split('\n').filter((l) => l.trim() !== '')
  const failure = messages.map((l) => JSON.parse(l) as { error?: string }).find((m) => m.error !== undefined)
  if (res.status !== 200 || failure !== undefined) {
    throw new Error(`import ${name}: HTTP ${res.status} ${failure?.error ?? res.body.toString()}`)
  }
}

/** Reads busybox and refuses a dynamically linked one: the images hold no libc. */
export async function readStaticBusybox(path: string): Promise<Buffer> {
  let bin: Buffer
  try {
    bin = await readFile(path)
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as Error).message}); install busybox-static (scripts/install-test-deps.sh)`)
  }
  if (hasInterpreter(bin)) {
    throw new Error(`${path} is dynamically linked; the test images need busybox-static (apt-get install busybox-static)`)
  }
  return bin
}

/** True when an ELF file has a PT_INTERP program header, i.e. it needs a dynamic loader. */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('busybox is not an ELF file')
  const is64 = elf[4] === 2
  const le = elf[5] === 1
  const u16 = (o: number): number => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o))
  const u32 = (o: number): number => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o))
  const phoff = is64 ? Number(le ? elf.readBigUInt64LE(0x20) : elf.readBigUInt64BE(0x20)) : u32(0x1c)
  const phentsize = u16(is64 ? 0x36 : 0x2a)
  const phnum = u16(is64 ? 0x38 : 0x2c)
  const PT_INTERP = 3
  for (let i = 0; i < phnum; i++) {
    if (u32(phoff + i * phentsize) === PT_INTERP) return true
  }
  return false
}

// ---- A minimal ustar writer (POSIX.1-1988 "ustar" header, pax(1) "ustar Interchange Format") ----

interface TarEntry {
  name: string
  type: 'file' | 'dir' | 'symlink'
  mode: number
  /** file: the content (a Buffer, or chunks adding up to `size`). */
  content?: Buffer | Iterable<Buffer>
  size?: number
  linkname?: string
}

const BLOCK = 512
/** A fixed mtime keeps the busybox layer's bytes, and so its digest, the same on every run. */
const MTIME = 1_700_000_000

function header(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK)
  const put = (value: string, offset: number, length: number): void => {
    if (Buffer.byteLength(value) > length) throw new Error(`tar: "${value}" does not fit ${length} bytes`)
    h.write(value, offset, length, 'utf8')
  }
  const octal = (n: number, offset: number, length: number): void => put(`${n.toString(8).padStart(length - 1, '0')}\0`, offset, length)
  put(entry.name, 0, 100)
  octal(entry.mode, 100, 8)
  octal(0, 108, 8) // uid
  octal(0, 116, 8) // gid
  octal(size, 124, 12)
  octal(MTIME, 136, 12)
  put({ file: '0', dir: '5', symlink: '2' }[entry.type], 156, 1)
  put(entry.linkname ?? '', 157, 100)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  put('root', 265, 32)
  put('root', 297, 32)
  // The checksum is computed with its own field read as eight spaces.
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of h) sum += byte
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8)
  return h
}

function* tarStream(entries: Iterable<TarEntry>): Generator<Buffer> {
  for (const entry of entries) {
    const content = entry.content
    const size = entry.type !== 'file' ? 0 : Buffer.isBuffer(content) ? content.length : (entry.size ?? 0)
    yield header(entry, size)
    if (entry.type !== 'file' || content === undefined) continue
    let written = 0
    for (const chunk of Buffer.isBuffer(content) ? [content] : content) {
      written += chunk.length
      yield chunk
    }
    if (written !== size) throw new Error(`tar: ${entry.name}: wrote ${written} bytes, header says ${size}`)
    if (size % BLOCK !== 0) yield Buffer.alloc(BLOCK - (size % BLOCK))
  }
  yield Buffer.alloc(2 * BLOCK) // end of archive
}

function* randomChunks(total: number, chunkSize = 1024 * 1024): Generator<Buffer> {
  for (let left = total; left > 0; left -= chunkSize) yield randomFillSync(Buffer.alloc(Math.min(chunkSize, left)))
}

/** The image's root filesystem as a tar stream; `extra` is one more file at the root. */
export function rootfs(busybox: Buffer, extra?: { name: string; mode: number; size: number; content: Iterable<Buffer> }): Readable {
  const text = (s: string): Buffer => Buffer.from(s)
  const entries: TarEntry[] = [
    { name: 'bin/', type: 'dir', mode: 0o755 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, content: busybox },
    ...APPLETS.map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', mode: 0o777, linkname: 'busybox' })),
    { name: 'etc/', type: 'dir', mode: 0o755 },
    // So that `--user nobody` and `id` resolve names.
    { name: 'etc/passwd', type: 'file', mode: 0o644, content: text('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
    { name: 'etc/group', type: 'file', mode: 0o644, content: text('root:x:0:\nnogroup:x:65534:\n') },
    { name: 'root/', type: 'dir', mode: 0o700 },
    { name: 'tmp/', type: 'dir', mode: 0o1777 },
  ]
  if (extra !== undefined) entries.push({ name: extra.name, type: 'file', mode: extra.mode, size: extra.size, content: extra.content })
  return Readable.from(tarStream(entries), { objectMode: false })
}
