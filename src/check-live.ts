/**
 * What `dockgate check` cannot decide without an engine, said in words: the checks live traffic
 * makes at request time on the objects a request names (target.ts, from the operation's target
 * facts in operations.ts, and the references a guard finds in the body), so that an "allow" from
 * `check` is not read as the whole answer.
 */
import { decodeBody } from './body/gojson.js'
import type { OperationGuard } from './guards/types.js'
import type { ApiRequest } from './types.js'

const TENANT_KINDS: ReadonlySet<string> = new Set(['container', 'exec', 'network', 'volume'])

/** One line per check live traffic would add (none for a policy with guards off). */
export function liveChecks(api: ApiRequest, guard: OperationGuard | undefined, body: Buffer | undefined, unguarded: boolean, tenant: string | undefined): string[] {
  if (unguarded) return []
  const lines: string[] = []
  const target = api.operation.target
  const own = tenant === undefined ? '' : `, and that it is one of tenant "${tenant}"'s own`
  if (target !== undefined && (target.kind === 'container' || target.kind === 'exec') && target.reach !== 'read') {
    const what = target.kind === 'exec' ? 'target exec and the container it runs in' : 'target container'
    const created = target.reach === 'enter' ? 'that this policy could have created it (its privileges, mounts, namespaces, capabilities), ' : ''
    lines.push(`live traffic would also check, in the engine, the ${what}: ${created}that it is not dockgate's own${own}`)
  } else if (target !== undefined && tenant !== undefined && TENANT_KINDS.has(target.kind)) {
    lines.push(`live traffic would also check in the engine that the ${target.kind} is one of tenant "${tenant}"'s own`)
  }
  if (guard?.references !== undefined && body !== undefined && body.length > 0) {
    let refs: ReturnType<NonNullable<OperationGuard['references']>> = []
    try {
      refs = guard.references(decodeBody(body, guard.shape))
    } catch {
      refs = [] // a body admission accepted decodes; anything else was refused before this line
    }
    const checked = refs.filter((r) => r.kind !== 'network' || tenant !== undefined)
    if (checked.length > 0) {
      const named = checked.map((r) => `${r.field}=${JSON.stringify(r.ref)}`).join(', ')
      lines.push(`live traffic would also look up what the body names in the engine (${named}): a container it uses must be one this policy could have created, and not dockgate's own${own}`)
    }
  }
  return lines
}
