// The build-context scanner (src/build/context-scan.ts): which Dockerfile dockerd will read, what
// is passed on and when. Rows marked [engine] were built on dockerd 20.10.24 and 26.1.5 with the
// same archive (legacy builder, `FROM scratch` + `LABEL which=…`), and the image's label named the
// Dockerfile the row expects (or the engine failed where the row expects a refusal).
import { execFileSync } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import { ContextError } from '../../../src/build/context-error.js'
import { ContextScan, detectCompression } from '../../../src/build/context-scan.js'
import type { FoundDockerfile } from '../../../src/build/context-tree.js'
import { END, entry, gnuLong, gzip, header, pax, tar, type TarEntry } from '../../support/tar-build.js'

interface Result {
  readonly out: Buffer
  readonly found?: FoundDockerfile
  readonly error?: Error
  /** Output already passed on when the verdict was asked for. */
  readonly outAtVerdict?: number
}

/** Runs `input`, cut into `chunks` pieces (sizes; the last repeats), through a ContextScan. */
function scan(input: Buffer, opts: { dockerfile?: string; chunks?: number[]; max?: number; refuse?: boolean } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const out: Buffer[] = []
    let found: FoundDockerfile | undefined
    let outAtVerdict: number | undefined
    const s = new ContextScan({
      dockerfile: opts.dockerfile ?? '',
      maxDockerfileBytes: opts.max ?? 1024 * 1024,
      check: (f) => {
        found = f
        outAtVerdict = out.reduce((n, b) => n + b.length, 0)
        return opts.refuse ? new Error('refused by the check') : undefined
      },
      refuse: (err) => err,
    })
    const done = (error?: Error): void => resolve({ out: Buffer.concat(out), ...(found ? { found } : {}), ...(error ? { error } : {}), ...(outAtVerdict === undefined ? {} : { outAtVerdict }) })
    s.on('data', (d: Buffer) => out.push(d))
    s.on('end', () => done())
    s.on('error', (err) => done(err))
    const sizes = opts.chunks ?? [input.length || 1]
    let at = 0
    let i = 0
    while (at < input.length) {
      const n = sizes[Math.min(i++, sizes.length - 1)]!
      s.write(input.subarray(at, at + n))
      at += n
    }
    s.end()
  })
}

const L = (which: string): string => `FROM scratch\nLABEL which=${which}\n`
const label = (r: Result): string | undefined => /which=(\S+)/.exec(r.found?.content.toString() ?? '')?.[1]

describe('the tar is read at every chunk boundary', () => {
  const longName = `${'d'.repeat(120)}/Dockerfile`
  const context = tar([
    { name: 'big.bin', data: Buffer.alloc(700, 7) },
    pax([['path', longName], ['mtime', '1700000000.5']]),
    { name: 'ignored-by-pax', data: L('pax') },
    gnuLong('x'.repeat(300)),
    { name: 'y', data: 'gnu', format: 'gnu' },
  ])
  test('every split of the archive into two chunks', { timeout: 120_000 }, async () => {
    for (let cut = 0; cut <= context.length; cut++) {
      const r = await scan(context, { dockerfile: longName, chunks: [cut === 0 ? context.length : cut, context.length] })
      expect(r.error, `cut at ${cut}`).toBeUndefined()
      expect(label(r), `cut at ${cut}`).toBe('pax')
      expect(r.out.equals(context), `cut at ${cut}`).toBe(true)
    }
  })
  test('one byte at a time', async () => {
    const r = await scan(context, { dockerfile: longName, chunks: [1] })
    expect(label(r)).toBe('pax')
    expect(r.out.equals(context)).toBe(true)
  })
})

describe('which Dockerfile the engine reads', () => {
  test.each<[string, string, ReadonlyArray<TarEntry | Buffer>, string]>([
    ['[engine] Dockerfile before dockerfile', '', [{ name: 'Dockerfile', data: L('upper') }, { name: 'dockerfile', data: L('lower') }], 'upper'],
    ['[engine] only dockerfile: the lower-case fallback', '', [{ name: 'dockerfile', data: L('lower') }], 'lower'],
    ['[engine] fallback also when dockerfile=Dockerfile is given', 'Dockerfile', [{ name: 'dockerfile', data: L('lower') }], 'lower'],
    ['[engine] dockerfile=./Dockerfile', './Dockerfile', [{ name: 'Dockerfile', data: L('A') }], 'A'],
    ['[engine] dockerfile=/Dockerfile', '/Dockerfile', [{ name: 'Dockerfile', data: L('A') }], 'A'],
    ['[engine] dockerfile=sub/../Dockerfile', 'sub/../Dockerfile', [{ name: 'Dockerfile', data: L('A') }], 'A'],
    ['[engine] the same name twice: the last wins', '', [{ name: 'Dockerfile', data: L('first') }, { name: 'Dockerfile', data: L('second') }], 'second'],
    ['[engine] ./Dockerfile then Dockerfile', '', [{ name: './Dockerfile', data: L('dot') }, { name: 'Dockerfile', data: L('plain') }], 'plain'],
    ['[engine] an absolute entry name is inside the context', '', [{ name: 'Dockerfile', data: L('plain') }, { name: '/Dockerfile', data: L('abs') }], 'abs'],
    ['[engine] ../Dockerfile cannot leave the context', '', [{ name: 'Dockerfile', data: L('plain') }, { name: '../Dockerfile', data: L('dotdot') }], 'dotdot'],
    ['[engine] x/../Dockerfile', '', [{ name: 'Dockerfile', data: L('plain') }, { name: 'x/../Dockerfile', data: L('xdotdot') }], 'xdotdot'],
    ['[engine] symlink before its target', '', [{ name: 'Dockerfile', type: '2', linkname: 'real' }, { name: 'real', data: L('real') }], 'real'],
    ['[engine] absolute symlink target', '', [{ name: 'Dockerfile', type: '2', linkname: '/real' }, { name: 'real', data: L('real') }], 'real'],
    ['[engine] ../../ in a symlink stops at the root', '', [{ name: 'Dockerfile', type: '2', linkname: '../../real' }, { name: 'real', data: L('real') }], 'real'],
    ['[engine] dockerfile=d/Dockerfile through a symlinked directory', 'd/Dockerfile', [{ name: 'd', type: '2', linkname: 'sub' }, { name: 'sub/Dockerfile', data: L('sub') }], 'sub'],
    ['[engine] an entry written through a symlinked directory', 'sub/Dockerfile', [{ name: 'sub/', type: '5' }, { name: 'd', type: '2', linkname: 'sub' }, { name: 'd/Dockerfile', data: L('through') }], 'through'],
    ['[engine] a symlink replaced by a file', '', [{ name: 'Dockerfile', type: '2', linkname: 'real' }, { name: 'real', data: L('real') }, { name: 'Dockerfile', data: L('file') }], 'file'],
    ['[engine] PAX path names the Dockerfile', '', [pax([['path', 'Dockerfile']]), { name: 'other', data: L('pax') }], 'pax'],
    ['[engine] GNU long name names the Dockerfile', '', [gnuLong('Dockerfile'), { name: 'other', data: L('gnu'), format: 'gnu' }], 'gnu'],
    ['[engine] USTAR prefix field', 'a/Dockerfile', [{ name: 'Dockerfile', prefix: 'a', data: L('prefix') }], 'prefix'],
    ['[engine] a hard link to a symlink is that symlink', '', [{ name: 'sub/real', data: L('subreal') }, { name: 'sub/ln', type: '2', linkname: 'real' }, { name: 'Dockerfile', type: '1', linkname: 'sub/ln' }, { name: 'real', data: L('rootreal') }], 'rootreal'],
    ['a hard link to the kept Dockerfile keeps its content', 'copy', [{ name: 'copy', type: '2', linkname: 'x' }, { name: 'x', data: L('x') }, { name: 'copy', type: '1', linkname: 'x' }, { name: 'x', data: L('newer') }], 'x'],
    ['a PAX record applies to the next entry only', '', [pax([['path', 'elsewhere']]), { name: 'Dockerfile', data: L('renamed') }, { name: 'Dockerfile', data: L('kept') }], 'kept'],
    ['a later PAX header replaces an earlier one', '', [pax([['path', 'nope']]), pax([['mtime', '1']]), { name: 'Dockerfile', data: L('second-pax') }], 'second-pax'],
    ['a PAX global header is skipped and drops pending records', '', [pax([['path', 'nope']]), pax([['comment', 'git']], 'g'), { name: 'Dockerfile', data: L('after-g') }], 'after-g'],
    ['GNU long name wins over PAX path', '', [pax([['path', 'nope']]), gnuLong('Dockerfile'), { name: 'x', data: L('gnu-wins') }], 'gnu-wins'],
    ['PAX size replaces the header size', '', [pax([['size', String(L('pax-size').length)]]), { name: 'Dockerfile', data: L('pax-size'), size: 0 }], 'pax-size'],
    ['V7 header, no magic', '', [{ name: 'Dockerfile', data: L('v7'), format: 'v7' }], 'v7'],
    ['a directory entry written as a file with a trailing slash (legacy type \\0)', 'd/Dockerfile', [{ name: 'd/', type: '\0' }, { name: 'd/Dockerfile', data: L('in-dir') }], 'in-dir'],
    ['a checksum summed over signed bytes (Go accepts both sums)', '', [Buffer.concat([signedChecksum({ name: 'Dockerfile\xe9', data: L('signed') }), Buffer.from(L('signed')).subarray(0), Buffer.alloc(512 - L('signed').length)]), { name: 'Dockerfile', data: L('after-signed') }], 'after-signed'],
  ])('%s', async (_name, dockerfile, entries, want) => {
    const r = await scan(tar(entries), { dockerfile })
    expect(r.error).toBeUndefined()
    expect(label(r)).toBe(want)
  })

  test.each<[string, string, ReadonlyArray<TarEntry | Buffer>, RegExp]>([
    ['[engine] only DOCKERFILE', '', [{ name: 'DOCKERFILE', data: L('caps') }], /has no Dockerfile/],
    ['[engine] no fallback for ./Dockerfile', './Dockerfile', [{ name: 'dockerfile', data: L('lower') }], /has no "\.\/Dockerfile"/],
    ['[engine] dockerfile=../Dockerfile', '../Dockerfile', [{ name: 'Dockerfile', data: L('A') }], /outside the build context/],
    ['[engine] dockerfile=. is the context directory', '.', [{ name: 'Dockerfile', data: L('A') }], /not a regular file/],
    ['[engine] Dockerfile is a directory', '', [{ name: 'Dockerfile/', type: '5' }, { name: 'dockerfile', data: L('lower') }], /not a regular file/],
    ['symlink after its target (the engine reads it; dockgate did not keep it)', '', [{ name: 'real', data: L('real') }, { name: 'Dockerfile', type: '2', linkname: 'real' }], /symlink that comes after the file/],
    ['hard link to an earlier file (the engine reads it; dockgate did not keep it)', '', [{ name: 'real', data: L('real') }, { name: 'Dockerfile', type: '1', linkname: 'real' }], /not kept .*hard link/],
    ['a symlinked directory switched away and back (only the current Dockerfile is kept)', 'link/Dockerfile', [{ name: 'link', type: '2', linkname: 'a' }, { name: 'a/Dockerfile', data: L('a') }, { name: 'link', type: '2', linkname: 'b' }, { name: 'b/Dockerfile', data: L('b') }, { name: 'link', type: '2', linkname: 'a' }], /not kept/],
    ['dangling Dockerfile symlink (the engine falls back to dockerfile)', '', [{ name: 'Dockerfile', type: '2', linkname: 'nowhere' }, { name: 'dockerfile', data: L('lower') }], /symlink/],
    ['a fifo as the Dockerfile', '', [{ name: 'Dockerfile', type: '6' }], /not a regular file/],
    ['symlink loop', '', [{ name: 'a', type: '2', linkname: 'b' }, { name: 'b', type: '2', linkname: 'a' }, { name: 'Dockerfile', type: '2', linkname: 'a' }], /too many levels of symbolic links/],
    ['an entry that replaces the root', '', [{ name: 'Dockerfile', data: L('x') }, { name: '..', data: 'x' }], /root directory/],
    ['an empty context', '', [], /has no Dockerfile/],
  ])('refused: %s', async (_name, dockerfile, entries, message) => {
    const r = await scan(tar(entries), { dockerfile })
    expect(r.error).toBeInstanceOf(ContextError)
    expect(r.error?.message).toMatch(message)
  })

  test('a Dockerfile over the limit is refused as too large; large other files are not kept', async () => {
    const r = await scan(tar([{ name: 'other', data: Buffer.alloc(200_000) }, { name: 'Dockerfile', data: L('x') + '#'.repeat(5000) }]), { max: 4096 })
    expect((r.error as ContextError).kind).toBe('too-large')
    const ok = await scan(tar([{ name: 'other', data: Buffer.alloc(200_000) }, { name: 'Dockerfile', data: L('small') }]), { max: 4096 })
    expect(label(ok)).toBe('small')
  })
})

/** A header whose checksum is the sum of its bytes read as signed (old tar writers). */
function signedChecksum(e: TarEntry): Buffer {
  const h = header(e)
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b > 127 ? b - 256 : b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
  return h
}

describe('the end of the archive is held back until the verdict', () => {
  const context = tar([{ name: 'Dockerfile', data: L('x') }])
  test('the verdict comes before the end marker is passed on', async () => {
    const r = await scan(context)
    expect(r.outAtVerdict).toBe(context.length - END.length)
    expect(r.out.equals(context)).toBe(true)
  })
  test('a refusal passes nothing of the end on', async () => {
    const r = await scan(context, { refuse: true })
    expect(r.error?.message).toBe('refused by the check')
    expect(r.out.length).toBe(context.length - END.length)
  })
  test('bytes after the end marker are dropped', async () => {
    const r = await scan(Buffer.concat([context, Buffer.alloc(10240 - context.length), Buffer.from('trailing junk')]))
    expect(r.out.equals(context)).toBe(true)
  })
  test.each<[string, Buffer]>([
    ['[engine] no end marker: the end of the input ends the archive', tar([{ name: 'Dockerfile', data: L('x') }], { end: false })],
    ['one zero block, then the end of the input', Buffer.concat([tar([{ name: 'Dockerfile', data: L('x') }], { end: false }), Buffer.alloc(512)])],
    ['[engine] the input ends inside the last entry\'s padding', entry({ name: 'Dockerfile', data: L('x') }).subarray(0, 512 + L('x').length + 3)],
  ])('%s', async (_name, input) => {
    const r = await scan(input)
    expect(r.error).toBeUndefined()
    expect(label(r)).toBe('x')
    expect(r.out.equals(input)).toBe(true)
  })
  test.each<[string, Buffer, RegExp]>([
    ['[engine] the input ends inside file data', entry({ name: 'Dockerfile', data: L('x') }).subarray(0, 520), /middle of a tar entry/],
    ['the input ends inside a header', Buffer.concat([tar([{ name: 'Dockerfile', data: L('x') }], { end: false }), Buffer.alloc(100, 1)]), /middle of a tar entry/],
    ['[engine] a zero block followed by a header', Buffer.concat([tar([{ name: 'Dockerfile', data: L('x') }], { end: false }), Buffer.alloc(512), entry({ name: 'x', data: 'y' })]), /zero block followed by another header/],
    ['a bad checksum', tar([{ name: 'Dockerfile', data: L('x'), checksum: 1 }]), /bad checksum/],
    ['a bad octal size', tar([{ name: 'Dockerfile', data: L('x'), patch: [[124, Buffer.from('0000000000x\0')]] }]), /bad number field/],
    ['GNU sparse entry', tar([{ name: 'Dockerfile', type: 'S', data: L('x') }]), /sparse/],
    ['PAX sparse records', tar([pax([['GNU.sparse.major', '1']]), { name: 'Dockerfile', data: L('x') }]), /sparse/],
    ['a PAX record whose length is wrong', tar([entry({ name: 'p', type: 'x', data: '8 path=x\n' }), { name: 'Dockerfile', data: L('x') }]), /invalid PAX/],
    ['a PAX record without "="', tar([entry({ name: 'p', type: 'x', data: '9 pathxx\n' }), { name: 'Dockerfile', data: L('x') }]), /invalid PAX/],
    ['a NUL in a PAX path', tar([entry({ name: 'p', type: 'x', data: '10 path=\0x\n' }), { name: 'Dockerfile', data: L('x') }]), /invalid PAX/],
    ['a PAX size that is not a number', tar([pax([['size', '12abc']]), { name: 'Dockerfile', data: L('x') }]), /invalid PAX record size/],
    ['an entry type the engine cannot unpack', tar([{ name: 'Dockerfile', data: L('x') }, { name: 'c', type: '7', data: 'x' }]), /cannot unpack/],
  ])('refused: %s', async (_name, input, message) => {
    const r = await scan(input)
    expect(r.error).toBeInstanceOf(ContextError)
    expect(r.error?.message).toMatch(message)
  })
})

describe('compression', () => {
  const plain = tar([{ name: 'Dockerfile', data: L('gz') }])
  test('[engine] gzip: the decompressed tar is what passes on', async () => {
    const r = await scan(gzip(plain), { chunks: [7] })
    expect(label(r)).toBe('gz')
    expect(r.out.equals(plain)).toBe(true)
  })
  test('[engine] two gzip members', async () => {
    const r = await scan(Buffer.concat([gzip(plain.subarray(0, 700)), gzip(plain.subarray(700))]))
    expect(label(r)).toBe('gz')
    expect(r.out.equals(plain)).toBe(true)
  })
  test('gzip padded with zero bytes', async () => {
    const r = await scan(Buffer.concat([gzip(plain), Buffer.alloc(100)]))
    expect(label(r)).toBe('gz')
  })
  test('gzip with other bytes after it: refused (node:zlib reads them as a broken member; dockerd 20.10 builds it)', async () => {
    const r = await scan(Buffer.concat([gzip(plain), Buffer.from('garbage')]))
    expect(r.error?.message).toMatch(/corrupt or has data after its end/)
  })
  test('a large gzip context streams through (not held whole)', async () => {
    const big = tar([{ name: 'Dockerfile', data: L('big') }, { name: 'blob', data: Buffer.alloc(8 * 1024 * 1024, 1) }])
    const r = await scan(gzip(big), { chunks: [4096] })
    expect(label(r)).toBe('big')
    expect(r.out.length).toBe(big.length)
  })
  test.each<[string, () => Buffer, RegExp]>([
    ['[engine] bzip2', () => execFileSync('bzip2', ['-c'], { input: plain }), /bzip2-compressed build contexts are not supported/],
    ['[engine] xz', () => execFileSync('xz', ['-c'], { input: plain }), /xz-compressed/],
    ['[engine 26.1] zstd', () => Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(20)]), /zstd-compressed/],
    ['zstd skippable frame', () => Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18]), Buffer.alloc(20)]), /zstd-compressed/],
    ['[engine] gzip of gzip (the engine reads only one layer)', () => gzip(gzip(plain)), /inside the gzip layer/],
    ['a corrupt gzip stream', () => Buffer.concat([gzip(plain).subarray(0, 30), Buffer.alloc(30, 0xff)]), /corrupt/],
    ['a truncated gzip stream', () => gzip(plain).subarray(0, 40), /corrupt|middle of a tar entry/],
  ])('refused: %s', async (_name, make, message) => {
    const r = await scan(make())
    expect(r.error).toBeInstanceOf(ContextError)
    expect(r.error?.message).toMatch(message)
  })
  test.each<[string, number[], string | undefined]>([
    ['gzip', [0x1f, 0x8b, 0x08, 0], 'gzip'],
    ['gzip magic without deflate method', [0x1f, 0x8b, 0x07, 0], undefined],
    ['bzip2', [0x42, 0x5a, 0x68], 'bzip2'],
    ['plain tar name starting with "BZ"', [0x42, 0x5a, 0x00], undefined],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
  ])('detectCompression: %s', (_name, bytes, want) => {
    expect(detectCompression(Buffer.from(bytes))).toBe(want)
  })
})
