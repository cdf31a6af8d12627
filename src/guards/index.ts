/**
 * The body guards, by operationId: the one table the pipeline consults (STYLE.md "Knowledge is
 * kept as data"). An operation listed here is inspected whenever a policy allows it; loosening
 * happens only through the policy's `guards:` section (rules.ts).
 */
import { putArchiveGuard } from './archive.js'
import { containerCreateGuard } from './container-create.js'
import { containerStartGuard } from './container-start.js'
import { containerUpdateGuard } from './container-update.js'
import { execCreateGuard } from './exec-create.js'
import { buildKitGrpcGuard } from './buildkit.js'
import { imageBuildGuard } from './image-build.js'
import { imageCreateGuard } from './image-create.js'
import { networkConnectGuard, networkCreateGuard } from './network-create.js'
import { PLUGIN_OPERATIONS, pluginGuard } from './plugin.js'
import { imageCommitGuard, SELF_ONLY_OPERATIONS, selfOnlyGuard } from './self.js'
import { serviceGuard } from './service.js'
import { swarmGuard } from './swarm.js'
import type { OperationGuard } from './types.js'
import { volumeCreateGuard } from './volume-create.js'

export { versionBelow, compareVersions } from './version.js'
export type { GuardContext, OperationGuard, SelfIdentity, Violation } from './types.js'

const GUARDS: ReadonlyMap<string, OperationGuard> = new Map<string, OperationGuard>([
  ['ContainerCreate', containerCreateGuard],
  ['ContainerStart', containerStartGuard],
  ['ContainerUpdate', containerUpdateGuard],
  ['ContainerExec', execCreateGuard],
  ['PutContainerArchive', putArchiveGuard],
  ['VolumeCreate', volumeCreateGuard],
  ['ServiceCreate', serviceGuard],
  ['ServiceUpdate', serviceGuard],
  ['ImageCreate', imageCreateGuard],
  ['ImageBuild', imageBuildGuard],
  ['BuildKitGrpc', buildKitGrpcGuard],
  ['ImageCommit', imageCommitGuard],
  ['SwarmInit', swarmGuard],
  ['SwarmJoin', swarmGuard],
  ['NetworkCreate', networkCreateGuard],
  ['NetworkConnect', networkConnectGuard],
  ['NetworkDisconnect', networkConnectGuard],
  ...PLUGIN_OPERATIONS.map((id) => [id, pluginGuard] as const),
  ...SELF_ONLY_OPERATIONS.map((id) => [id, selfOnlyGuard] as const),
])

/** The guard for an operation, or undefined when the operation carries nothing to inspect. */
export function guardFor(operationId: string): OperationGuard | undefined {
  return GUARDS.get(operationId)
}

/** Every guarded operationId (for tests that check the table against the spec). */
export const GUARDED_OPERATIONS: readonly string[] = [...GUARDS.keys()]
