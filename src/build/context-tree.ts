/**
 * Which file the engine will read as the Dockerfile, followed entry by entry as the context
 * streams past, keeping only what that answer needs: every symlink (names and targets), and the
 * state of the few locations the Dockerfile path resolves to.
 *
 * Rules (moby pkg/archive Unpack and createTarFile, builder/remotecontext/detect.go; each checked
 * on dockerd 20.10 and 26.1): an entry replaces whatever was at its location (RemoveAll), except a
 * directory over a directory; a hard link gets the content its target has at that moment (a later
 * entry of the target's name is a new file), and a hard link to a symlink is that symlink; the
 * Dockerfile is `dockerfile=` (default "Dockerfile") resolved through symlinks; only when that
 * name is exactly "Dockerfile" and nothing exists there, "dockerfile" is tried.
 *
 * A location that becomes the Dockerfile's only through a symlink read after it, or a hard link
 * to a file that was not kept, is "unknown": the answer is then a refusal (see dockerfile()).
 */
import { ContextError, unreadable } from './context-error.js'
import { locationOf, resolve, within, writeLocation } from './context-paths.js'
import type { TarEntry } from './tar-reader.js'

type State =
  | { readonly kind: 'absent' | 'dir' | 'special' | 'unknown' }
  | { readonly kind: 'file'; content: Buffer[] | null; size: number }

const ABSENT: State = { kind: 'absent' }
const DEFAULT_NAME = 'Dockerfile'
/** How many locations may be followed (each symlink change on the Dockerfile's path adds some). */
const MAX_TRACKED = 64
/** Bound on the bytes of symlink names and targets kept. */
const MAX_SYMLINK_BYTES = 16 * 1024 * 1024

export interface FoundDockerfile {
  /** The name the engine opens (the query's, or "dockerfile" when it fell back). */
  readonly name: string
  readonly content: Buffer
}

export class ContextTree {
  private readonly symlinks = new Map<string, string>()
  /** Directory → number of symlinks below it, so that replacing a directory is cheap when it holds none. */
  private readonly symlinkDirs = new Map<string, number>()
  private symlinkBytes = 0
  private readonly tracked = new Map<string, State>()
  private candidates: string[] = []
  private current: { state: State & { kind: 'file' } } | undefined
  private entries = 0
  private readonly path: string

  /** `dockerfile`: the query parameter ('' for none); `maxBytes`: largest Dockerfile kept. */
  constructor(
    dockerfile: string,
    private readonly maxBytes: number,
  ) {
    this.path = dockerfile === '' ? DEFAULT_NAME : dockerfile
    let depth = 0
    for (const p of this.path.split('/')) {
      if (p === '..') depth--
      else if (p !== '' && p !== '.') depth++
      if (depth < 0) throw unreadable(`dockerfile=${JSON.stringify(this.path)} is outside the build context (the engine refuses it)`)
    }
    this.recompute()
  }

  private get fallback(): boolean {
    return this.path === DEFAULT_NAME
  }

  /** Locations that are (now) where the engine would look for the Dockerfile. */
  private recompute(): void {
    const names = this.fallback ? [this.path, 'dockerfile'] : [this.path]
    this.candidates = names.map((n) => resolve(this.symlinks, locationOf(n), true))
    for (const c of this.candidates) {
      if (!this.tracked.has(c)) this.tracked.set(c, this.entries === 0 ? ABSENT : { kind: 'unknown' })
    }

    if (this.tracked.size > MAX_TRACKED) throw unreadable('too many symlink changes on the Dockerfile\'s path')
  }

  /** Handles one entry; its data, if kept, arrives through data(). */
  entry(e: TarEntry): void {
    this.entries++
    this.current = undefined
    const at = writeLocation(this.symlinks, e.name)
    if (at === '') {
      if (e.type === '5') return
      throw unreadable(`tar entry ${JSON.stringify(e.name)} would replace the context's root directory`)
    }
    for (const [loc, s] of this.tracked) {
      // Implied parent directories (Unpack creates missing ones).
      if (s.kind === 'absent' && loc !== at && within(at, loc)) this.tracked.set(loc, { kind: 'dir' })
    }
    if (e.type === '5') {
      if (this.dropSymlink(at)) this.recompute()
      const s = this.tracked.get(at)
      if (s !== undefined && s.kind !== 'dir') this.tracked.set(at, { kind: 'dir' })
      this.prune()
      return
    }
    // What was there goes first: the entry may make `at` the Dockerfile's location again.
    if (this.removeAt(at)) this.recompute()
    const state = this.stateFor(e, at)
    if (this.tracked.has(at)) this.tracked.set(at, state === 'symlink' ? ABSENT : state)
    if (state === 'symlink') this.recompute()
    this.prune()
  }

  /** Keeps content only where the engine would now look: at most two Dockerfiles are held. */
  private prune(): void {
    for (const [loc, s] of this.tracked) {
      if (s.kind === 'file' && s.content !== null && !this.candidates.includes(loc)) this.tracked.set(loc, { kind: 'file', content: null, size: s.size })
    }
  }

  /** Data of the current entry. */
  data(chunk: Buffer): void {
    const f = this.current?.state
    if (f?.content == null) return
    f.content.push(chunk)
  }

  /** RemoveAll(at): drops what was at and below `at`; true when a symlink went. */
  private removeAt(at: string): boolean {
    let changed = this.dropSymlink(at)
    if ((this.symlinkDirs.get(at) ?? 0) > 0) {
      for (const loc of [...this.symlinks.keys()]) if (loc !== at && within(loc, at)) changed = this.dropSymlink(loc) || changed
    }
    for (const loc of this.tracked.keys()) if (loc !== at && within(loc, at)) this.tracked.set(loc, ABSENT)
    return changed
  }

  private dropSymlink(at: string): boolean {
    const target = this.symlinks.get(at)
    if (target === undefined) return false
    this.symlinks.delete(at)
    this.symlinkBytes -= at.length + target.length
    this.countDirs(at, -1)
    return true
  }

  private countDirs(at: string, delta: number): void {
    for (let slash = at.lastIndexOf('/'); slash > 0; slash = at.lastIndexOf('/', slash - 1)) {
      const dir = at.slice(0, slash)
      const n = (this.symlinkDirs.get(dir) ?? 0) + delta
      if (n === 0) this.symlinkDirs.delete(dir)
      else this.symlinkDirs.set(dir, n)
    }
  }

  private addSymlink(at: string, target: string): void {
    this.symlinks.set(at, target)
    this.symlinkBytes += at.length + target.length
    this.countDirs(at, 1)
    if (this.symlinkBytes > MAX_SYMLINK_BYTES) throw unreadable(`the build context has more than ${MAX_SYMLINK_BYTES} bytes of symlink names and targets`)
  }

  private stateFor(e: TarEntry, at: string): State | 'symlink' {
    if (e.type === '2') {
      this.addSymlink(at, e.linkname)
      return 'symlink'
    }
    if (e.type === '1') {
      const from = writeLocation(this.symlinks, e.linkname)
      const target = this.symlinks.get(from)
      if (target !== undefined) {
        this.addSymlink(at, target)
        return 'symlink'
      }
      const s = this.tracked.get(from)
      if (s?.kind === 'file') return s
      return s === undefined ? { kind: 'file', content: null, size: 0 } : s
    }
    if (e.type === '0') {
      const keep = this.candidates.includes(at) && e.size <= this.maxBytes
      const state = { kind: 'file' as const, content: keep ? [] : null, size: e.size }
      if (keep) this.current = { state }
      return state
    }
    return { kind: 'special' }
  }

  /**
   * The Dockerfile the engine will read, once the archive is complete. Throws ContextError when it
   * cannot be known exactly, is not a regular file, is missing, or is over the size limit.
   */
  dockerfile(): FoundDockerfile {
    const [primary, lower] = this.candidates
    const first = this.tracked.get(primary!)!
    if (first.kind === 'absent' && lower !== undefined) {
      const second = this.tracked.get(lower)!
      if (second.kind !== 'absent') return this.read('dockerfile', second)
    }
    return this.read(this.path, first)
  }

  private read(name: string, s: State): FoundDockerfile {
    const what = `the Dockerfile (${JSON.stringify(name)})`
    switch (s.kind) {
      case 'absent':
        throw unreadable(`the build context has no ${name === DEFAULT_NAME ? 'Dockerfile (or dockerfile)' : JSON.stringify(name)}: nothing to build`)
      case 'dir':
      case 'special':
        throw unreadable(`${what} in the build context is not a regular file`)
      case 'unknown':
        throw unreadable(`${what} is reached through a symlink that comes after the file it points to in the archive; dockgate checks the Dockerfile as the context streams past: put the link before its target, or send the file itself`)
      case 'file':
        if (s.size > this.maxBytes) throw new ContextError('too-large', `${what} is ${s.size} bytes, more than the ${this.maxBytes}-byte limit for inspected bodies`)
        if (s.content === null) throw unreadable(`${what} was not kept as the context streamed past (a hard link to an earlier file, or a symlink switched back to it); send the file itself`)
        return { name, content: Buffer.concat(s.content) }
    }
  }
}
