/**
 * ImageBuild (`POST /build`): `remote=` makes the engine fetch a URL or git repository (SSRF),
 * `networkmode=host` runs every RUN step in the host's network namespace, and
 * `networkmode=container:<id>` in another container's (moby daemon/server/router/build/build_routes.go newImageBuildOptions). The body is the
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
 * These checks read the query whatever builder it asks for: a BuildKit build (`version=2`) is held
 * to the same refusals as the legacy one. What BuildKit adds (`remote=client-session`, `outputs=`,
 * entitlements, `/grpc`) is in buildkit.ts. `extrahosts` is let through for both, as
 * `HostConfig.ExtraHosts` is on a create: it only writes /etc/hosts entries of the build steps.
 *
 * The body is the build context: its Dockerfile is read as it streams (build-context.ts) unless
 * guards.build.fetch_urls lets builds fetch URLs; builds whose Dockerfile is not in a body dockgate
 * can read need that loosening too (build-context.ts checkBuildFetches).
 */
import { checkBuildOutputs, checkBuildRemote } from './buildkit.js'
import { buildContextStream, checkBuildFetches } from './build-context.js'
import { BodyError, decodeBody } from '../body/gojson.js'
import { isArray, isObject } from '../body/json-value.js'
import { ANY, arrayOf, struct } from '../body/shape.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Fields, Findings } from './values.js'

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
  checkBuildRemote(findings, ctx)
  checkBuildFetches(findings, ctx)
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
  checkBuildOutputs(findings, ctx)
  return findings.list
}

export const imageBuildGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkImageBuild(ctx),
  stream: buildContextStream,
}
