/**
 * ImageBuild (`POST /build`): `remote=` makes the engine fetch a URL or git repository (SSRF),
 * `networkmode=host` runs every RUN step in the host's network namespace, and
 * `networkmode=container:<id>` in another container's (competitors.md D12, B5). The body is the
 * build context, streamed through unread.
 *
 * Two more query parameters, undocumented in the spec but read by the engine (moby
 * `api/server/router/build/build_routes.go` newImageBuildOptions), go into the HostConfig of
 * every RUN container (builder/dockerfile hostConfigFromOptions): `cgroupparent` and `ulimits` (a
 * JSON array of `{Name, Soft, Hard}`). Seen on dockerd 20.10 here: `cgroupparent=/x` ran the RUN
 * step in the host cgroup `/x`. They are held to the same rules as a create's `CgroupParent` and
 * `Ulimits` (guards.container.cgroup_parents / ulimits). `securityopt` is refused by the Linux
 * daemon itself ("does not support setting security options on build").
 *
 * The body is the build context: its Dockerfile is read as it streams (build-context.ts) unless
 * guards.build.fetch_urls allows URL fetches. A build whose Dockerfile dockgate cannot read there
 * is refused under the same guard: `version=2` (BuildKit reads the body as its context too — seen
 * on dockerd 20.10: `ADD <url>` fetched with no session — and also fetches git URLs and `# syntax=`
 * frontend images) and `remote=` (the Dockerfile comes from the remote context).
 */
import { redactUrl } from './image-create.js'
import { BodyError, decodeBody } from '../body/gojson.js'
import { isArray, isObject } from '../body/json-value.js'
import { ANY, arrayOf, struct } from '../body/shape.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Fields, Findings } from './values.js'
import { buildContextStream, FETCH_GUARD } from './build-context.js'

const ULIMITS = arrayOf(struct())

/** `ulimits=[{"Name":"rtprio","Soft":99,"Hard":99}]`: every name must match guards.container.ulimits. */
function checkBuildUlimits(findings: Findings, ctx: GuardContext, raw: string): void {
  let value
  try {
    value = decodeBody(Buffer.from(raw, 'utf8'), ULIMITS)
  } catch (err) {
    if (!(err instanceof BodyError)) throw err
    findings.add('container.ulimits', 'query.ulimits', raw, `is not a JSON list dockgate can read: ${err.reason}`)
    return
  }
  if (!isArray(value)) {
    if (value !== null) findings.wrongType('container.ulimits', 'query.ulimits', value, 'a JSON array')
    return
  }
  value.forEach((item, i) => {
    const at = `query.ulimits[${i}]`
    if (!isObject(item)) {
      findings.wrongType('container.ulimits', at, item, 'an object')
      return
    }
    const u = new Fields(item, at, findings)
    const name = u.string('Name', 'container.ulimits')
    if (name === undefined || !ctx.rules.container.ulimits.matches(name)) {
      findings.add('container.ulimits', u.at('Name'), u.raw('Name'), 'is not in guards.container.ulimits (build steps run with it)')
    }
  })
}

export function checkImageBuild(ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const b = ctx.rules.build
  for (const remote of ctx.query.getAll('remote')) {
    if (remote !== '' && !b.remote) findings.add('build.remote', 'query.remote', redactUrl(remote), 'makes the engine fetch a remote context (needs guards.build.remote)')
    if (remote !== '' && !b.fetchUrls) findings.add(FETCH_GUARD, 'query.remote', redactUrl(remote), 'the Dockerfile of a remote context cannot be checked for URL fetches (needs guards.build.fetch_urls too)')
  }
  for (const version of ctx.query.getAll('version')) {
    if (version !== '' && version !== '1' && !b.fetchUrls) {
      findings.add(FETCH_GUARD, 'query.version', version, 'only the legacy builder\'s Dockerfile (version=1) is checked for URL fetches; BuildKit builds need guards.build.fetch_urls')
    }
  }
  for (const mode of ctx.query.getAll('networkmode')) {
    const lower = mode.toLowerCase()
    if (lower === 'host' && !b.networkHost) {
      findings.add('build.network_mode', 'query.networkmode', mode, 'needs guards.build.network_host')
    } else if (lower.startsWith('container:')) {
      findings.add('build.network_mode', 'query.networkmode', mode, "joins another container's network namespace")
    }
  }
  for (const parent of ctx.query.getAll('cgroupparent')) {
    if (parent !== '' && !ctx.rules.container.cgroupParents.matches(parent)) {
      findings.add('container.cgroup_parent', 'query.cgroupparent', parent, 'is not in guards.container.cgroup_parents (build steps run in it)')
    }
  }
  for (const ulimits of ctx.query.getAll('ulimits')) {
    if (ulimits !== '') checkBuildUlimits(findings, ctx, ulimits)
  }
  return findings.list
}

export const imageBuildGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkImageBuild(ctx),
  stream: buildContextStream,
}
