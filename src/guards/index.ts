/**
 * The body guards, by operationId. Which operation has which guard is one of the facts in
 * operations.ts; this module is the guards' own view of that table. An operation with a guard is
 * inspected whenever a policy allows it; loosening happens only through the policy's `guards:`
 * section (rules.ts).
 */
import { OPERATION_FACTS } from '../operations.js'
import type { OperationGuard } from './types.js'

export { versionBelow, compareVersions } from './version.js'
export type { GuardContext, OperationGuard, SelfIdentity, Violation } from './types.js'

/** The guard for an operation, or undefined when the operation carries nothing to inspect. */
export function guardFor(operationId: string): OperationGuard | undefined {
  return OPERATION_FACTS[operationId]?.guard
}

/** Every guarded operationId (for tests that check the table against the spec). */
export const GUARDED_OPERATIONS: readonly string[] = Object.entries(OPERATION_FACTS).flatMap(([id, f]) => (f.guard === undefined ? [] : [id]))
