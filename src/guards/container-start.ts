/**
 * ContainerStart (`POST /containers/{id}/start`): below API 1.24 the engine applies a HostConfig
 * sent in the start body (docs/engine-notes.md, "Old API versions": a container created clean and started
 * through `/v1.23/` with `{"Binds":["/etc:/hostetc"]}` had the host's /etc mounted). The pipeline
 * refuses versions below `api_version_floor`; this guard refuses any body with content as well, at
 * every version, so that lowering the floor never reopens the hole. `{}` and `null` carry nothing
 * and pass (dockerd itself ignores bodies of 7 bytes or less). `checkpoint-dir=` is refused too
 * (checkpoint.ts).
 */
import { isObject, type JsonValue } from '../body/json-value.js'
import { HOST_CONFIG } from './shapes.js'
import { checkCheckpointDirQuery } from './checkpoint.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Findings } from './values.js'

export function checkContainerStart(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  checkCheckpointDirQuery(ctx, findings)
  if (body === undefined || body === null || (isObject(body) && body.size === 0)) return findings.list
  findings.add('container.start_body', 'body', body, 'is refused: a start request carries no body (old API versions apply it as HostConfig)')
  return findings.list
}

export const containerStartGuard: OperationGuard = {
  shape: HOST_CONFIG,
  body: 'json',
  check: checkContainerStart,
}
