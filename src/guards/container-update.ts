/**
 * ContainerUpdate (`POST /containers/{id}/update`): the body is container.UpdateConfig, the
 * Resources fields plus RestartPolicy (moby container_routes.go postContainerUpdate). The resource fields that reach the host
 * (devices, device cgroup rules and requests, cgroup parent, ulimits, unlimited pids, OOM-kill
 * disable) get the same checks as on create, whether or not this engine version applies them;
 * RestartPolicy and limits are fine. dockgate's own container is kept out by target.ts.
 */
import type { JsonValue } from '../body/json-value.js'
import { checkResources, type Check } from './checks.js'
import { CONTAINER_UPDATE } from './shapes.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { bodyFields, Findings } from './values.js'

export function checkContainerUpdate(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const c: Check = { findings, rules: ctx.rules, self: ctx.self }
  const top = bodyFields(body, findings, 'container.body')
  if (top !== undefined) checkResources(c, top)
  return findings.list
}

export const containerUpdateGuard: OperationGuard = {
  shape: CONTAINER_UPDATE,
  body: 'json',
  check: checkContainerUpdate,
}
