/** allowsOperation: what the start-up warnings ask of a policy (is /grpc open at all?). */
import { describe, expect, test } from 'vitest'
import { derivePolicy } from '../../../src/compat/tecnativa.js'
import { allowsOperation } from '../../../src/policy/allows.js'
import { compilePolicyText, loadPolicy } from '../../../src/policy/compile.js'

describe('allowsOperation', () => {
  test.each([
    ['ci', 'BuildKitGrpc', false],
    ['ci', 'Session', true],
    ['ci', 'ImageBuild', true],
    ['full', 'BuildKitGrpc', true],
    ['read-only', 'SystemPing', true],
    ['read-only', 'ContainerExport', false],
  ])('%s allows %s: %s', (preset, id, want) => {
    expect(allowsOperation(loadPolicy(preset), id)).toBe(want)
  })

  test('a glob and a deny are decided as on a request', () => {
    const p = compilePolicyText('rules:\n  - allow: "POST /**"\n  - deny: BuildKitGrpc\n')
    expect(allowsOperation(p, 'ImageBuild')).toBe(true)
    expect(allowsOperation(p, 'BuildKitGrpc')).toBe(false)
  })

  test('GRPC=1 POST=1 opens /grpc and loosens its guard: the case main.ts warns about', () => {
    const p = derivePolicy(new Map([['GRPC', true], ['POST', true]]))
    expect(allowsOperation(p, 'BuildKitGrpc') && p.guards.build.grpc).toBe(true)
    const q = derivePolicy(new Map([['GRPC', true]]))
    expect(allowsOperation(q, 'BuildKitGrpc')).toBe(false)
  })

  test('an unknown operation id is a bug, not a refusal', () => {
    expect(() => allowsOperation(loadPolicy('ci'), 'NoSuchOperation')).toThrow(/unknown operation/)
  })
})
