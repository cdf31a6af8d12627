/**
 * Reading tar streams (POSIX ustar, as the engine writes them) in tests.
 */

const BLOCK = 512
/** ustar header fields (offset, length): mtime and chksum, which hold the entry's time. */
const MTIME = [136, 12] as const
const CHKSUM = [148, 8] as const

/**
 * A copy of `tar` with every header's mtime and checksum fields zeroed: two archives of the same
 * entries written at different times compare equal, and any other difference (a name, a mode, a
 * byte of content, the order) still shows. Stops at the end-of-archive zero block.
 */
export function withoutTarTimes(tar: Buffer): Buffer {
  const out = Buffer.from(tar)
  let at = 0
  while (at + BLOCK <= out.length) {
    const header = out.subarray(at, at + BLOCK)
    if (header.every((b) => b === 0)) break
    const size = entrySize(header, at)
    header.fill(0, MTIME[0], MTIME[0] + MTIME[1])
    header.fill(0, CHKSUM[0], CHKSUM[0] + CHKSUM[1])
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK
  }
  return out
}

/** The size field: octal text, or base-256 when its first byte has the high bit set (GNU, for ≥ 8 GiB). */
function entrySize(header: Buffer, at: number): number {
  const field = header.subarray(124, 136)
  if ((field[0]! & 0x80) !== 0) {
    let n = 0
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!
    return n
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').trim()
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar: bad size field ${JSON.stringify(text)} in the header at byte ${at}`)
  return Number.parseInt(text, 8)
}
