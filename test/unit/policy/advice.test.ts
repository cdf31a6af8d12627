import { describe, expect, test } from 'vitest'
import { allOperations } from '../../../src/endpoints.js'
import { presetsAllowing } from '../../../src/policy/advice.js'
import { compilePolicyText, loadPolicy } from '../../../src/policy/compile.js'
import { admit } from '../../../src/admission.js'
import { readCompatEnv } from '../../../src/compat/tecnativa.js'
import { isDockgateError } from '../../../src/errors.js'
import type { CompiledPolicy } from '../../../src/policy/compile.js'

/** The client message of a request the policy refuses (the docker CLI prints it verbatim). */
async function refusal(policy: CompiledPolicy, method: string, url: string): Promise<string> {
  try {
    await admit(
      { policy, self: { ids: [], names: [] }, engine: undefined, mode: 'enforce', bodyLimit: 1 << 20 },
      { method, url, httpVersion: '1.1', headers: { host: 'x' }, rawHeaders: ['Host', 'x'], upgrade: false },
      () => Buffer.alloc(0),
    )
  } catch (err) {
    if (isDockgateError(err)) return err.clientMessage()
    throw err
  }
  throw new Error(`${method} ${url} was allowed`)
}

describe('an operation refusal says what would allow it', () => {
  test('a preset: the operation by route and operationId, the allow: line in a policy extending it, the presets that have it', async () => {
    expect(await refusal(loadPolicy('read-only'), 'POST', '/v1.41/containers/web/kill')).toBe(
      'dockgate: POST /containers/{id}/kill (ContainerKill) is not allowed by policy "read-only" [DG_DENY_OPERATION]; ' +
      'to allow it add "ContainerKill" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, acme-companion, …)',
    )
  })

  test('a policy file: its own allow: list; an operation no preset has says so', async () => {
    const policy = compilePolicyText('rules:\n  - allow: [ContainerList]\n', { file: 'mine.yaml' })
    expect(await refusal(policy, 'GET', '/containers/web/export')).toBe(
      'dockgate: GET /containers/{id}/export (ContainerExport) is not allowed by policy "mine" [DG_DENY_OPERATION]; ' +
      'to allow it add "ContainerExport" to the policy\'s allow: list (no preset has it)',
    )
  })

  test('a deny rule: names the rule, and that no allow can win over it', async () => {
    const policy = compilePolicyText('rules:\n  - allow: [ContainerList]\n  - name: no-list\n    deny: [ContainerList]\n', { file: 'ops.yaml' })
    expect(await refusal(policy, 'GET', '/containers/json')).toBe(
      'dockgate: GET /containers/json (ContainerList) is denied by rule no-list (deny ContainerList) of policy "ops" [DG_DENY_OPERATION]; ' +
      'to allow it narrow or remove rule no-list (a deny wins over every allow)',
    )
  })

  test('the policy made from Tecnativa-style variables: the variables that would open it, checked', async () => {
    const env = readCompatEnv({ EVENTS: '1' }, { policyChosen: false }).policy!
    expect(await refusal(env, 'POST', '/containers/web/kill')).toBe(
      'dockgate: POST /containers/{id}/kill (ContainerKill) is not allowed by policy "env" [DG_DENY_OPERATION]; ' +
      'to allow it set CONTAINERS=1 and POST=1, or choose a policy with --policy (presets with it: container-operator, ci, acme-companion, …)',
    )
    expect(await refusal(env, 'PUT', '/containers/web/archive?path=/tmp')).toBe(
      'dockgate: PUT /containers/{id}/archive (PutContainerArchive) is not allowed by policy "env" [DG_DENY_OPERATION]; ' +
      'to allow it set CONTAINERS=1, ALLOW_ARCHIVE=1 and POST=1, or choose a policy with --policy (presets with it: ci)',
    )
  })

  test('presets: general ones first, never full, and each listed one does allow the operation', () => {
    expect(presetsAllowing('ContainerList').slice(0, 3)).toEqual(['read-only', 'container-operator', 'ci'])
    expect(presetsAllowing('SystemEvents')[0]).toBe('events-only')
    for (const op of allOperations()) {
      expect(presetsAllowing(op.id)).not.toContain('full')
    }
    for (const name of presetsAllowing('ImageDelete')) {
      expect(loadPolicy(name).rules.some((r) => r.effect === 'allow' && r.operations.includes('ImageDelete'))).toBe(true)
    }
    expect(presetsAllowing('ContainerExport')).toEqual([])
  })
})
