import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { compilePolicyText } from '../../src/policy/compile.js'
import { loadConfig } from '../../src/config.js'
import { FAKE_GETENT } from '../support/nss.js'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeCerts } from '../support/tls.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const yamlBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!)

describe('README examples are valid', () => {
  const policies = yamlBlocks.filter((b) => /^(extends|rules|name):/m.test(b) && !/^listeners:/m.test(b))
  test('there are policy examples', () => expect(policies.length).toBeGreaterThanOrEqual(4))
  test.each(policies.map((p, i) => [i, p] as const))('policy example %i compiles without problems or warnings', (_i, text) => {
    const policy = compilePolicyText(text, { file: 'README.md', cwd: new URL('../..', import.meta.url).pathname })
    expect(policy.warnings).toEqual([])
  })
  test('the config file example loads (with its users replaced by root)', () => {
    const block = yamlBlocks.find((b) => /^listeners:/m.test(b))!
    const dir = mkdtempSync(join(tmpdir(), 'dockgate-readme-'))
    try {
      const file = join(dir, 'dockgate.yaml')
      writeFileSync(file, block.replace(/owner: alice/, 'owner: 0').replace(/group: monitoring/, 'group: 0'))
      const config = loadConfig(['--config', file], {})
      expect('listeners' in config && config.listeners.map((l) => l.policy.name)).toEqual(['container-operator', 'events-only'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  test('the clients example loads (its TLS files replaced by test certificates)', () => {
    const block = yamlBlocks.find((b) => /clients:/.test(b))!
    const certs = makeCerts({})
    try {
      const file = join(certs.dir, 'dockgate.yaml')
      writeFileSync(file, block.replaceAll('/etc/dockgate/server.pem', certs.server.cert).replaceAll('/etc/dockgate/server.key', certs.server.key).replaceAll('/etc/dockgate/ca.pem', certs.ca))
      const config = loadConfig(['--config', file], {}, { nss: { getent: FAKE_GETENT } })
      expect('listeners' in config && config.listeners.map((l) => [l.policy.name, l.clients.map((c) => `${c.label}:${c.match.kind}->${c.policy.name}`)])).toEqual([
        ['read-only', ['clients[0]:uid->container-operator', 'ci-group:gid->events-only']],
        ['read-only', ['clients[0]:subject->container-operator']],
      ])
    } finally {
      certs.remove()
    }
  })
  test('the tenants example loads: a tenant per uid entry, and one per listener', () => {
    const block = yamlBlocks.find((b) => /tenant: carol/.test(b))!
    const dir = mkdtempSync(join(tmpdir(), 'dockgate-readme-'))
    try {
      const file = join(dir, 'dockgate.yaml')
      writeFileSync(file, block.replaceAll('/run/dockgate/', `${dir}/`))
      const config = loadConfig(['--config', file], {})
      expect('listeners' in config && config.listeners.map((l) => [l.policy.name, l.tenant, l.clients.map((c) => `${c.label}->${c.policy.name}:${c.tenant ?? ''}`)])).toEqual([
        ['read-only', undefined, ['clients[0]->ci:alice', 'clients[1]->ci:bob']],
        ['ci', 'carol', []],
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
