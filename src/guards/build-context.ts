/**
 * ImageBuild's body: the build context, whose Dockerfile can make the engine fetch URLs
 * (`ADD http://…`) although `remote=` is refused (guard `build.fetch_urls`). Unless the policy
 * allows URL fetches, the context streams through a ContextScan (src/build/context-scan.ts) that
 * finds the Dockerfile the engine will read and refuses the build before the engine can act on it.
 *
 * Only the legacy builder's context is read here. While fetch_urls is off, checkBuildFetches
 * refuses the builds whose Dockerfile dockgate cannot read: BuildKit with the context in the body
 * (`version=2` without a session: seen on dockerd 20.10, BuildKit then reads the body as its
 * context and fetches `ADD <url>`; it would also clone git URLs and pull `# syntax=` frontends) and
 * remote contexts (`remote=<url>`). A BuildKit build over a session (`remote=client-session`, the
 * form buildkit.ts accepts) is a policy's opt-in by allowing `Session`: its Dockerfile travels in
 * the session and is not seen (README, "BuildKit").
 */
import type { Transform } from 'node:stream'
import { BodyError, decodeBody } from '../body/gojson.js'
import { isObject } from '../body/json-value.js'
import { mapOf } from '../body/shape.js'
import { ContextScan } from '../build/context-scan.js'
import type { FoundDockerfile } from '../build/context-tree.js'
import type { BuildArgs } from '../build/dockerfile-env.js'
import { DockerfileSyntaxError, findUrlFetches, type FetchFinding } from '../build/dockerfile-check.js'
import { CLIENT_SESSION, isSessionContext } from './buildkit.js'
import { redactUrl } from './image-create.js'
import type { BodyStreamOptions, GuardContext, Violation } from './types.js'
import type { Findings } from './values.js'

export const FETCH_GUARD = 'build.fetch_urls'
const LOOSEN = 'needs guards.build.fetch_urls: true'
/** Most findings named in one refusal. */
const MAX_FINDINGS = 10

/**
 * Query checks of guard build.fetch_urls: builds whose Dockerfile is not in a body dockgate reads.
 * A remote context is refused by build.remote first; once that is loosened, its Dockerfile still
 * needs this loosening. A BuildKit build that takes the body as its context (`version=2` without a
 * session, or an `upload-request` upload) needs it too.
 */
export function checkBuildFetches(findings: Findings, ctx: GuardContext): void {
  const b = ctx.rules.build
  if (b.fetchUrls || isSessionContext(ctx.query)) return
  const remotes = ctx.query.getAll('remote').filter((r) => r !== '' && r !== CLIENT_SESSION)
  if (b.remote) {
    for (const remote of remotes) findings.add(FETCH_GUARD, 'query.remote', redactUrl(remote), 'the Dockerfile of a remote context cannot be checked for URL fetches (needs guards.build.fetch_urls too)')
  }
  // With any remote=, the context is not the body (client-session: it comes over a session).
  if (ctx.query.getAll('remote').some((r) => r !== '')) return
  for (const version of ctx.query.getAll('version')) {
    if (version !== '' && version !== '1') {
      findings.add(FETCH_GUARD, 'query.version', version, 'BuildKit reads a context sent in the body without dockgate checking its Dockerfile for URL fetches (needs guards.build.fetch_urls; a BuildKit build over an allowed Session is not refused)')
    }
  }
}

/** The `buildargs` query parameter as the engine decodes it (json.Unmarshal into map[string]*string). */
export function readBuildArgs(query: URLSearchParams): BuildArgs {
  const values = [...new Set(query.getAll('buildargs'))]
  if (values.length === 0 || (values.length === 1 && values[0] === '')) return new Map()
  if (values.length > 1) return 'unreadable'
  try {
    const decoded = decodeBody(Buffer.from(values[0]!, 'utf8'), mapOf())
    if (!isObject(decoded)) return decoded === null ? new Map() : 'unreadable'
    const args = new Map<string, string | null>()
    for (const [k, v] of decoded.entries) {
      if (typeof v === 'string' || v === null) args.set(k, v)
      else return 'unreadable'
    }
    return args
  } catch (err) {
    if (err instanceof BodyError) return 'unreadable'
    throw err
  }
}

function violation(f: FetchFinding): Violation {
  const field = `Dockerfile line ${f.line}: ${f.instruction} source`
  const source = f.source.length > 200 ? `${f.source.slice(0, 199)}…` : f.source
  return { guard: FETCH_GUARD, field, value: JSON.stringify(source), detail: `is refused because ${f.reason}; it ${LOOSEN}` }
}

/** The verdict on the Dockerfile the engine will read. */
export function checkDockerfile(found: FoundDockerfile, buildArgs: BuildArgs, opts: BodyStreamOptions): Error | undefined {
  let findings: FetchFinding[]
  try {
    findings = findUrlFetches(found.content, buildArgs)
  } catch (err) {
    if (err instanceof DockerfileSyntaxError) return opts.unreadable(`the Dockerfile (${JSON.stringify(found.name)}) cannot be parsed (the engine refuses it too): ${err.message}`, false)
    throw err
  }
  if (findings.length === 0) return undefined
  const shown = findings.slice(0, MAX_FINDINGS).map(violation)
  if (findings.length > MAX_FINDINGS) shown.push({ guard: FETCH_GUARD, field: 'Dockerfile', value: `${findings.length - MAX_FINDINGS} more`, detail: `are URL fetches too; each ${LOOSEN}` })
  return opts.deny(shown)
}

/** The filter ImageBuild's body passes through, or undefined when the context needs no check. */
export function buildContextStream(ctx: GuardContext, opts: BodyStreamOptions): Transform | undefined {
  if (ctx.rules.build.fetchUrls) return undefined
  // A remote or BuildKit build does not take its context from this body for the legacy builder:
  // checkBuildFetches refuses those, or the policy opted into BuildKit sessions.
  if (ctx.query.getAll('remote').some((r) => r !== '')) return undefined
  if (ctx.query.getAll('version').some((v) => v !== '' && v !== '1')) return undefined
  const buildArgs = readBuildArgs(ctx.query)
  return new ContextScan({
    dockerfile: ctx.query.get('dockerfile') ?? '',
    maxDockerfileBytes: opts.maxBytes,
    check: (found) => checkDockerfile(found, buildArgs, opts),
    refuse: (err) => opts.unreadable(err.message, err.kind === 'too-large'),
  })
}
