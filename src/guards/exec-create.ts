/**
 * ContainerExec (`POST /containers/{id}/exec`): a privileged exec gets every capability and no
 * seccomp/AppArmor, in any container (moby daemon/exec_linux.go). With `guards.exec.users` set, the exec
 * user must match it in canonical form (`0`, `00`, `root` are all root: C7); an empty User runs
 * as the container's default user, which dockgate cannot see, so it is refused then too.
 * dockgate's own container is kept out by target.ts (the `{id}` is resolved first).
 */
import type { JsonValue } from '../body/json-value.js'
import { EXEC_CONFIG } from './shapes.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { canonicalUser } from './users.js'
import { bodyFields, Findings } from './values.js'

export function checkExecCreate(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const top = bodyFields(body, findings, 'exec.body')
  if (top === undefined) return findings.list
  if (top.bool('Privileged', 'exec.privileged') === true && !ctx.rules.exec.privileged) {
    findings.add('exec.privileged', 'Privileged', true, 'needs guards.exec.privileged')
  }
  const users = ctx.rules.exec.users
  const user = top.string('User', 'exec.user') ?? ''
  if (users !== null) {
    const canonical = canonicalUser(user)
    if (canonical === undefined || !users.matches(canonical)) {
      const detail = user === '' ? "runs as the container's default user, which guards.exec.users cannot check" : 'is not in guards.exec.users'
      findings.add('exec.user', 'User', user, detail)
    }
  }
  return findings.list
}

export const execCreateGuard: OperationGuard = {
  shape: EXEC_CONFIG,
  body: 'json',
  check: checkExecCreate,
}
