/**
 * ImageBuild's body: the build context, whose Dockerfile can make the engine fetch URLs
 * (`ADD http://…`) although `remote=` is refused (guard `build.fetch_urls`). Unless the policy
 * allows URL fetches, the context streams through a ContextScan (src/build/context-scan.ts) that
 * finds the Dockerfile the engine will read and refuses the build before the engine can act on it.
 *
 * Only the legacy builder takes its context from the body and is read here; the query checks in
 * image-build.ts refuse BuildKit (`version=2`) and remote contexts while fetch_urls is off.
 */
import type { Transform } from 'node:stream'
import { BodyError, decodeBody } from '../body/gojson.js'
import { isObject } from '../body/json-value.js'
import { mapOf } from '../body/shape.js'
import { ContextScan } from '../build/context-scan.js'
import type { FoundDockerfile } from '../build/context-tree.js'
import type { BuildArgs } from '../build/dockerfile-env.js'
import { DockerfileSyntaxError, findUrlFetches, type FetchFinding } from '../build/dockerfile-check.js'
import type { BodyStreamOptions, GuardContext, Violation } from './types.js'

export const FETCH_GUARD = 'build.fetch_urls'
const LOOSEN = 'allow with guards.build.fetch_urls: true'
/** Most findings named in one refusal. */
const MAX_FINDINGS = 10

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
  return { guard: FETCH_GUARD, field, value: JSON.stringify(source), detail: `${f.reason}; ${LOOSEN}` }
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
  if (findings.length > MAX_FINDINGS) shown.push({ guard: FETCH_GUARD, field: 'Dockerfile', value: `${findings.length - MAX_FINDINGS} more`, detail: LOOSEN })
  return opts.deny(shown)
}

/** The filter ImageBuild's body passes through, or undefined when the context needs no check. */
export function buildContextStream(ctx: GuardContext, opts: BodyStreamOptions): Transform | undefined {
  const b = ctx.rules.build
  if (b.fetchUrls) return undefined
  // A remote or BuildKit build does not take its Dockerfile from this body; image-build.ts refuses those.
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
