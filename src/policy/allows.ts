/**
 * "Does this policy let operation X through at all?", for start-up warnings and the compatibility
 * layer: the policy's rules decide on the operation's path template (parameters filled in), as
 * they would on a request. Body guards are not run; callers look at the guard rules themselves.
 */
import { allOperations } from '../endpoints.js'
import type { CompiledPolicy } from './compile.js'
import { decide } from './decide.js'

export function allowsOperation(policy: CompiledPolicy, id: string): boolean {
  const op = allOperations().find((o) => o.id === id)
  if (op === undefined) throw new Error(`unknown operation ${id}`)
  return decide(policy, { method: op.method, path: op.template.replace(/\{[^}]+\}/g, 'x'), operation: op }).allow
}
