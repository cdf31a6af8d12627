/**
 * CheckpointCreate (`POST /containers/{id}/checkpoints`, experimental daemons): `CheckpointDir`
 * makes the engine (CRIU, as root) write the container's memory and files into any host
 * directory; `ContainerStart?checkpoint-dir=` restores from one (moby
 * daemon/server/router/checkpoint/checkpoint_routes.go, container/container_routes.go
 * postContainersStart). The default directory, inside the engine's data root, is fine; a client
 * never needs to name another one, so no policy key loosens this.
 */
import { struct } from '../body/shape.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { bodyFields, Findings } from './values.js'
import type { JsonValue } from '../body/json-value.js'

export function checkCheckpointCreate(body: JsonValue | undefined): Violation[] {
  const findings = new Findings()
  const top = bodyFields(body, findings, 'checkpoint.dir')
  const dir = top?.string('CheckpointDir', 'checkpoint.dir')
  if (dir !== undefined && dir !== '') findings.add('checkpoint.dir', 'CheckpointDir', dir, 'writes a checkpoint into a host directory; only the default directory is allowed')
  return findings.list
}

/** `checkpoint-dir=` on ContainerStart: restore from a host directory the client names. */
export function checkCheckpointDirQuery(ctx: GuardContext, findings: Findings): void {
  for (const dir of ctx.query.getAll('checkpoint-dir')) {
    if (dir !== '') findings.add('checkpoint.dir', 'query.checkpoint-dir', dir, 'restores a checkpoint from a host directory; only the default directory is allowed')
  }
}

export const checkpointCreateGuard: OperationGuard = {
  shape: struct(),
  body: 'json',
  check: (body) => checkCheckpointCreate(body),
}
