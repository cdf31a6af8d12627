/**
 * A request admitted the way `dockgate check` does it: the same steps as live traffic, with no
 * socket and no engine (the target step makes its static checks only). For table tests.
 */
import { admit, type Admitted } from '../../src/admission.js'
import type { CompiledPolicy } from '../../src/policy/compile.js'
import type { SelfIdentity } from '../../src/guards/types.js'

/** Admits `method target` with `body` (a string is sent as is, anything else as JSON); throws the refusal. */
export function admitOffline(policy: CompiledPolicy, method: string, target: string, body?: unknown, self: SelfIdentity = { ids: [], names: [] }): Admitted {
  const bytes = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8')
  const headers: Record<string, string> = { host: 'localhost' }
  const rawHeaders = ['Host', 'localhost']
  if (bytes !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(bytes.length)
    rawHeaders.push('Content-Type', 'application/json', 'Content-Length', String(bytes.length))
  }
  const result = admit(
    { policy, self, engine: undefined, mode: 'enforce', bodyLimit: Number.MAX_SAFE_INTEGER },
    { method, url: target, httpVersion: '1.1', headers, rawHeaders, upgrade: false },
    () => bytes ?? Buffer.alloc(0),
  )
  if (result instanceof Promise) throw new Error('offline admission waited for something')
  return result
}
