/**
 * Every shipped preset loads cleanly against the route table, and says what it is for.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { allOperations, operationIds } from '../../../src/endpoints.js'
import { loadPolicy } from '../../../src/policy/compile.js'
import { decide } from '../../../src/policy/decide.js'
import { isPresetRef, listPresets, packageRoot, presetDir, resolvePolicyRef } from '../../../src/policy/presets.js'

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
const files = readdirSync(join(repoRoot, 'policies')).filter((f) => f.endsWith('.yaml'))

describe('shipped presets', () => {
  test('the package root and preset directory are found from the module (src/ under vitest)', () => {
    expect(packageRoot()).toBe(repoRoot.replace(/\/$/, ''))
    expect(presetDir()).toBe(join(repoRoot, 'policies'))
  })

  test('at least the presets issue 2 asks for are there', () => {
    expect(listPresets()).toEqual(expect.arrayContaining(['read-only', 'events-only', 'full', 'container-operator']))
    expect(listPresets()).toEqual(files.map((f) => f.replace(/\.yaml$/, '')).sort())
  })

  test.each(files)('%s loads with no problems and no warnings', (file) => {
    const p = loadPolicy(file.replace(/\.yaml$/, ''))
    expect(p.warnings).toEqual([])
    expect(p.name).toBe(file.replace(/\.yaml$/, ''))
  })

  test.each(files)('%s names only operations in the route table', (file) => {
    const doc = parse(readFileSync(join(repoRoot, 'policies', file), 'utf8')) as { rules: Array<Record<string, unknown>> }
    const ids = operationIds()
    for (const rule of doc.rules) {
      for (const t of [rule['allow'] ?? rule['deny']].flat()) {
        if (typeof t === 'string' && !t.includes('/')) expect(ids.has(t), `${file}: ${t}`).toBe(true)
      }
    }
  })

  test.each(files)('%s starts with a header comment saying what it is for and what it leaves out', (file) => {
    const text = readFileSync(join(repoRoot, 'policies', file), 'utf8')
    expect(text.startsWith(`# ${file.replace(/\.yaml$/, '')}:`)).toBe(true)
    expect(text).toMatch(/^# Deliberately left out/m)
    expect(parse(text)).toHaveProperty('description')
  })

  test('read-only leaves out what reads files, join tokens, secrets and configs', () => {
    const allowed = new Set(loadPolicy('read-only').rules.flatMap((r) => r.operations))
    for (const id of ['ContainerArchive', 'ContainerArchiveInfo', 'ContainerExport', 'ContainerChanges', 'ImageGet', 'ImageGetAll',
      'SwarmInspect', 'SwarmUnlockkey', 'SecretInspect', 'SecretList', 'ConfigInspect', 'ConfigList', 'ExecInspect', 'PluginList']) {
      expect(allowed.has(id), id).toBe(false)
    }
    expect(loadPolicy('read-only').rules.every((r) => r.effect === 'allow' && r.globs.length === 0)).toBe(true)
  })

  test('read-only allows only GET and HEAD operations', () => {
    const byId = new Map(allOperations().map((o) => [o.id, o]))
    for (const id of loadPolicy('read-only').rules.flatMap((r) => r.operations)) {
      expect(['GET', 'HEAD'], id).toContain(byId.get(id)?.method)
    }
  })

  test('container-operator extends read-only and keeps every guard on (no guards: section)', () => {
    const p = loadPolicy('container-operator')
    expect(p.extends).toEqual([join(repoRoot, 'policies/read-only.yaml')])
    expect(p.unguarded).toBe(false)
    expect(parse(readFileSync(join(repoRoot, 'policies/container-operator.yaml'), 'utf8'))).not.toHaveProperty('guards')
  })

  test('full allows every operation in the route table', () => {
    const full = loadPolicy('full')
    for (const op of allOperations()) {
      const path = op.template.replace(/\{[^}]+\}/g, 'x')
      expect(decide(full, { method: op.method, path, operation: op }).allow, `${op.method} ${path}`).toBe(true)
    }
  })

  test('full is the only unguarded preset', () => {
    for (const f of files) expect(loadPolicy(f.replace(/\.yaml$/, '')).unguarded, f).toBe(f === 'full.yaml')
  })
})

describe('policy references', () => {
  test.each<[string, boolean]>([
    ['read-only', true],
    ['my-preset', true],
    ['./read-only', false],
    ['policies/read-only', false],
    ['ci.yaml', false],
    ['ci.yml', false],
    ['/etc/dockgate/ci.yaml', false],
  ])('%s is a preset name: %s', (ref, preset) => {
    expect(isPresetRef(ref)).toBe(preset)
  })

  test('paths resolve against the base directory; presets against policies/', () => {
    expect(resolvePolicyRef('./x.yaml', '/etc/dockgate')).toEqual({ kind: 'file', path: '/etc/dockgate/x.yaml' })
    expect(resolvePolicyRef('../x.yaml', '/etc/dockgate')).toEqual({ kind: 'file', path: '/etc/x.yaml' })
    expect(resolvePolicyRef('full', '/etc/dockgate')).toEqual({ kind: 'preset', name: 'full', path: join(repoRoot, 'policies/full.yaml') })
  })
})
