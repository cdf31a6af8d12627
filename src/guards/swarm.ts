/**
 * SwarmInit and SwarmJoin: joining a cluster the client controls lets that cluster's managers
 * schedule tasks (with bind mounts and capabilities) on this host, outside every container-create
 * check; initialising makes the client the manager (moby daemon/cluster). Refused unless
 * guards.swarm.allow. Bodies are not read.
 */
import { ANY } from '../body/shape.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Findings } from './values.js'

export function checkSwarm(ctx: GuardContext): Violation[] {
  const findings = new Findings()
  if (!ctx.rules.swarm.allow) findings.add('swarm.allow', 'operation', ctx.operationId, 'needs guards.swarm.allow')
  return findings.list
}

export const swarmGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkSwarm(ctx),
}
