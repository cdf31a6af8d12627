/**
 * Guards never throw on any decodable body: a wrong type is a violation, not an exception
 * (the pipeline would answer 500, which is safe, but a client should learn what was wrong).
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BodyError, decodeBody } from '../../../src/body/gojson.js'
import { GUARDED_OPERATIONS, guardFor } from '../../../src/guards/index.js'
import { NO_SELF, rules } from './helpers.js'

const KEYS = [
  'HostConfig', 'Image', 'Privileged', 'CapAdd', 'Capabilities', 'Binds', 'Mounts', 'Type', 'Source', 'ReadOnly',
  'VolumeOptions', 'DriverConfig', 'Name', 'Options', 'Devices', 'PathOnHost', 'SecurityOpt', 'Sysctls', 'NetworkMode',
  'PidMode', 'MaskedPaths', 'Ulimits', 'OomScoreAdj', 'PidsLimit', 'NetworkingConfig', 'EndpointsConfig', 'Links',
  'TaskTemplate', 'ContainerSpec', 'Privileges', 'Seccomp', 'Mode', 'Networks', 'Target', 'PluginSpec', 'Runtime',
  'Driver', 'DriverOpts', 'type', 'o', 'device', 'User', 'ConfigFrom', 'Network', 'Container', 'Tmpfs', 'TmpfsOptions',
  'Annotations', 'GroupAdd', 'CapabilityAdd', 'SELinuxContext', 'Disable', 'VolumesFrom', 'BindOptions',
]

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -2000, max: 2000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom('', 'host', '/', '/etc:/x', 'container:x', 'bind', 'ALL', 'seccomp=unconfined', 'none', 'local', 'plugin'),
    fc.string(),
    fc.array(tie('any'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('any'), { maxKeys: 4 }),
  ),
})).any

describe('guards on arbitrary bodies', () => {
  const ops = GUARDED_OPERATIONS.filter((id) => guardFor(id)?.body === 'json')
  const loose = rules({ container: { images: ['busybox:*'], binds: [{ path: '/srv/**', read_only: true }] }, exec: { users: ['1000'] }, plugins: { allow: ['x/*'] } })

  test.each(ops)('%s never throws', (op) => {
    const guard = guardFor(op)!
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }), (body) => {
        let decoded
        try {
          decoded = decodeBody(Buffer.from(JSON.stringify(body), 'utf8'), guard.shape)
        } catch (err) {
          if (err instanceof BodyError) return
          throw err
        }
        for (const r of [rules(), loose]) {
          const out = guard.check(decoded, { operationId: op, query: new URLSearchParams(), params: { id: 'x', name: 'x' }, version: undefined, rules: r, self: NO_SELF })
          expect(Array.isArray(out)).toBe(true)
          for (const v of out) expect(typeof v.value).toBe('string')
        }
      }),
      { numRuns: 300 },
    )
  })
})
