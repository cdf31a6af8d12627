/**
 * ImageCreate (`POST /images/create`): `fromSrc=<URL>` makes the engine fetch a URL (SSRF into
 * whatever the daemon's host can reach; moby daemon/server/router/image/image_routes.go postImagesCreate), refused unless guards.images.from_src;
 * `fromSrc=-` (the tarball is the body: any content under any name) unless guards.images.import. With guards.images.pull set, `fromImage` (with
 * `tag`) and the import target `repo` (with `tag`) must match it: an import could otherwise
 * overwrite a trusted tag. Every value of a repeated parameter is checked. The body is not read.
 */
import { ANY } from '../body/shape.js'
import { imageRefProblem } from './image-ref.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Findings } from './values.js'

/**
 * `fromImage` + `tag` as the engine combines them (moby postImagesCreate: the name's own tag or
 * digest is trimmed, and a `tag` that parses as a digest becomes `@digest`). Without `tag` the
 * name is used as sent (an untagged pull fetches every tag of the repository; the allowlist sees
 * it as `name:latest`).
 */
function withTag(name: string, tag: string): string {
  if (tag === '') return name
  const at = name.indexOf('@')
  let base = at >= 0 ? name.slice(0, at) : name
  const colon = base.lastIndexOf(':')
  if (colon > base.lastIndexOf('/')) base = base.slice(0, colon)
  return tag.includes(':') ? `${base}@${tag}` : `${base}:${tag}`
}

/** A URL for messages and logs, without the credentials it may carry (`https://user:token@…`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@')
}

export function checkImageCreate(ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const q = ctx.query
  for (const src of q.getAll('fromSrc')) {
    if (src === '-') {
      if (!ctx.rules.images.import) findings.add('image.import', 'query.fromSrc', src, 'imports a tarball under any name, overwriting tags (needs guards.images.import)')
    } else if (src !== '' && !ctx.rules.images.fromSrc) {
      findings.add('image.from_src', 'query.fromSrc', redactUrl(src), 'makes the engine fetch a URL (needs guards.images.from_src)')
    }
  }
  const pull = ctx.rules.images.pull
  if (pull === null) return findings.list
  const tags = q.getAll('tag')
  for (const key of ['fromImage', 'repo']) {
    for (const name of q.getAll(key)) {
      if (name === '') continue
      for (const ref of tags.length === 0 ? [name] : tags.map((t) => withTag(name, t))) {
        const problem = imageRefProblem(ref, pull, 'guards.images.pull')
        if (problem !== undefined) findings.add('image.pull', `query.${key}`, ref, problem)
      }
    }
  }
  return findings.list
}

export const imageCreateGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkImageCreate(ctx),
}
