/**
 * Which instructions of a Dockerfile make the legacy builder fetch a URL.
 *
 * The legacy builder fetches `ADD <src>` when the expanded source starts with "http://" or
 * "https://" (case-sensitive: moby builder/dockerfile/copy.go getCopyInfoForSourcePath,
 * pkg/urlutil or builder/remotecontext/urlutil IsURL). It does not clone git URLs (`git@…`,
 * `git://…` are local paths to it; `https://…/repo.git` is fetched over HTTP like any URL), and
 * `COPY <url>` fails ("source can't be a URL for COPY"). `ONBUILD ADD <url>` fetches nothing now
 * but plants the fetch in every later build FROM the image, where dockgate no longer sees it.
 *
 * The file is read as dockerd 20.10 and as dockerd 26.1 read it (dockerfile-lines.ts) and every
 * finding of either counts. Sources that depend on variables are expanded where the values are
 * known (dockerfile-env.ts); a source that could still expand to a URL is reported with the reason.
 */
import { BuildEnv, type BuildArgs } from './dockerfile-env.js'
import { logicalLines, lineStartingAt, DockerfileSyntaxError, type DockerfileLines, type LogicalLine, type ParserVariant } from './dockerfile-lines.js'
import { argPairs, envPairs, listArgs, splitCommand, whitespaceWords } from './dockerfile-words.js'
import { toUnicode } from './go-text.js'
import { expandWord, type Lookup, type Unknown, type VarValue } from './shell-word.js'

export { DockerfileSyntaxError } from './dockerfile-lines.js'

/** One ADD source that fetches, or may fetch, a URL. */
export interface FetchFinding {
  /** 1-based line of the instruction. */
  readonly line: number
  /** `ADD` or `ONBUILD ADD`. */
  readonly instruction: string
  /** The source as written (Unicode). */
  readonly source: string
  /** Why: the URL fetched, or what its value depends on. */
  readonly reason: string
}

const URL_PREFIXES = ['http://', 'https://'] as const
const ONBUILD = /^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i

const ALL_UNKNOWN = (why: string): Lookup => () => ({ unknown: why })
const HEREDOC_WHY = 'the Dockerfile contains "<<" (a heredoc to dockerd 23 and later), so dockgate does not track its variables'
const TRIGGER_WHY = 'an ONBUILD trigger is expanded in a later build, with that build\'s variables'

/** The findings for one ADD source, given how its value expands. */
function judge(source: string, escape: '\\' | '`', lookup: Lookup): string | undefined {
  const e = expandWord(source, escape, lookup)
  if ('value' in e) return URL_PREFIXES.some((p) => e.value.startsWith(p)) ? `the engine fetches ${e.value}` : undefined
  if (URL_PREFIXES.some((p) => e.prefix.startsWith(p))) return `the engine fetches a URL starting with ${e.prefix}`
  if (URL_PREFIXES.some((p) => p.startsWith(e.prefix))) return `it could expand to a URL: ${e.unknown}`
  return undefined
}

class Findings {
  private readonly seen = new Map<string, FetchFinding>()
  add(f: FetchFinding): void {
    const key = `${f.line}\0${f.instruction}\0${f.source}`
    if (!this.seen.has(key)) this.seen.set(key, f)
  }
  get list(): FetchFinding[] {
    return [...this.seen.values()].sort((a, b) => a.line - b.line)
  }
}

/** ADD's sources (all words but the last); none when ADD has fewer than two (the parser refuses it). */
function addSources(args: string): string[] {
  const { words } = listArgs(args)
  return words.length < 2 ? [] : words.slice(0, -1).map(toUnicode)
}

function checkAdd(out: Findings, at: LogicalLine, instruction: string, args: string, escapes: ReadonlyArray<'\\' | '`'>, lookup: Lookup): void {
  for (const source of addSources(args)) {
    for (const escape of escapes) {
      const reason = judge(source, escape, lookup)
      if (reason !== undefined) {
        out.add({ line: at.line, instruction, source, reason })
        break
      }
    }
  }
}

/** ONBUILD: the trigger text is re-parsed by the later build (default escape, unknown variables). */
function checkTrigger(out: Findings, at: LogicalLine): void {
  const trigger = at.text.replace(ONBUILD, '')
  for (const variant of ['20.10', '26.1'] as const) {
    let lines: readonly LogicalLine[]
    try {
      lines = logicalLines(trigger, variant).lines
    } catch {
      continue
    }
    for (const l of lines) {
      const s = splitCommand(l.text)
      if (s.cmd === 'add') checkAdd(out, at, 'ONBUILD ADD', s.args, ['\\', '`'], ALL_UNKNOWN(TRIGGER_WHY))
    }
  }
}

function expandName(word: string, escape: '\\' | '`', lookup: Lookup): string | undefined {
  const e = expandWord(toUnicode(word), escape, lookup)
  return 'value' in e ? e.value : undefined
}

function expandValue(word: string, escape: '\\' | '`', lookup: Lookup): VarValue {
  const e = expandWord(toUnicode(word), escape, lookup)
  return 'value' in e ? e.value : ({ unknown: e.unknown } satisfies Unknown)
}

/** Walks the instructions in order, keeping the variables (exact reading). */
function walk(out: Findings, file: DockerfileLines, buildArgs: BuildArgs): void {
  const env = new BuildEnv(buildArgs)
  const stageNames = new Set<string>()
  const esc = file.escape
  for (const at of file.lines) {
    const s = splitCommand(at.text)
    if (s.cmd === 'from') {
      const words = whitespaceWords(s.args)
      const base = words[0] === undefined ? undefined : expandName(words[0], esc, env.metaLookup)
      env.beginStage(base === 'scratch' && !stageNames.has('scratch'))
      if (words.length === 3 && words[1]!.toLowerCase() === 'as') stageNames.add(toUnicode(words[2]!).toLowerCase())
    } else if (s.cmd === 'arg') {
      const lookup = env.lookup
      const declared = argPairs(s.args, esc).map(([k, v]) => [expandName(k, esc, lookup), v === undefined ? null : expandValue(v, esc, lookup)] as const)
      for (const [k, v] of declared) env.declareArg(k, v)
    } else if (s.cmd === 'env') {
      const lookup = env.lookup
      const pairs = envPairs(s.args, esc) ?? []
      const values = pairs.map(([k, v]) => [expandName(k, esc, lookup), expandValue(v, esc, lookup)] as const)
      for (const [k, v] of values) env.setEnv(k, v)
    } else if (s.cmd === 'add') {
      checkAdd(out, at, 'ADD', s.args, [esc], env.inStage ? env.lookup : ALL_UNKNOWN('ADD comes before FROM'))
    } else if (s.cmd === 'onbuild') {
      checkTrigger(out, at)
    }
  }
}

/** Every physical line read as the start of an instruction (heredoc-capable files, dockerd ≥ 23). */
function scanEveryLine(out: Findings, file: DockerfileLines, variant: ParserVariant): void {
  for (let i = 0; i < file.physical.length; i++) {
    const at = lineStartingAt(file, i, variant)
    if (at === undefined) continue
    const s = splitCommand(at.text)
    if (s.cmd === 'add') checkAdd(out, at, 'ADD', s.args, [file.escape], ALL_UNKNOWN(HEREDOC_WHY))
    else if (s.cmd === 'onbuild') checkTrigger(out, at)
  }
}

/**
 * The ADD sources of `dockerfile` that fetch or may fetch a URL, as dockerd 20.10 or 26.1 would
 * read the file. Throws DockerfileSyntaxError when neither engine can parse it.
 */
export function findUrlFetches(dockerfile: Buffer, buildArgs: BuildArgs): FetchFinding[] {
  const src = dockerfile.toString('latin1')
  const out = new Findings()
  let parsed = 0
  let lastError: DockerfileSyntaxError | undefined
  for (const variant of ['20.10', '26.1'] as const) {
    let file: DockerfileLines
    try {
      file = logicalLines(src, variant)
    } catch (err) {
      if (!(err instanceof DockerfileSyntaxError)) throw err
      lastError = err
      continue
    }
    parsed++
    if (variant === '26.1' && src.includes('<<')) scanEveryLine(out, file, variant)
    else walk(out, file, buildArgs)
  }
  if (parsed === 0 && lastError !== undefined) throw lastError
  return out.list
}
