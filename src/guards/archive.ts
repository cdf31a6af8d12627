/**
 * PutContainerArchive (`PUT /containers/{id}/archive`): writes a tar stream into a container,
 * including into its bind-mounted host directories, with setuid files, device nodes and links
 * (moby daemon/archive.go). Refused unless guards.archive.write; dockgate's own container is kept out by target.ts.
 * The tar stream is not read.
 */
import { ANY } from '../body/shape.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Findings } from './values.js'

export function checkPutArchive(ctx: GuardContext): Violation[] {
  const findings = new Findings()
  if (!ctx.rules.archive.write) {
    findings.add('archive.write', 'query.path', ctx.query.get('path') ?? '', 'writes into a container, which needs guards.archive.write')
  }
  return findings.list
}

export const putArchiveGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkPutArchive(ctx),
}
