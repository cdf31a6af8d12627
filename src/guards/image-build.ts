/**
 * ImageBuild (`POST /build`): `remote=` makes the engine fetch a URL or git repository (SSRF),
 * `networkmode=host` runs every RUN step in the host's network namespace, and
 * `networkmode=container:<id>` in another container's (competitors.md D12, B5). The body is the
 * build context, streamed through unread.
 */
import { ANY } from '../body/shape.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Findings } from './values.js'

export function checkImageBuild(ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const b = ctx.rules.build
  for (const remote of ctx.query.getAll('remote')) {
    if (remote !== '' && !b.remote) findings.add('build.remote', 'query.remote', remote, 'makes the engine fetch a remote context (needs guards.build.remote)')
  }
  for (const mode of ctx.query.getAll('networkmode')) {
    const lower = mode.toLowerCase()
    if (lower === 'host' && !b.networkHost) {
      findings.add('build.network_mode', 'query.networkmode', mode, 'needs guards.build.network_host')
    } else if (lower.startsWith('container:')) {
      findings.add('build.network_mode', 'query.networkmode', mode, "joins another container's network namespace")
    }
  }
  return findings.list
}

export const imageBuildGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkImageBuild(ctx),
}
