// The shipped presets as JSON (src/policy/preset-cache.ts): made from the presets checked the
// ordinary way, used only for the exact text and schema checked, and a preset loaded from it
// compiles to the same policy as from its YAML.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { PolicyLoader } from '../../../src/policy/compile.js'
import { SCHEMA_FINGERPRINT } from '../../../src/policy/load.js'
import { presetFromCache, withoutCache } from '../../../src/policy/preset-cache.js'
import { buildPresetCache } from '../../../src/policy/preset-cache-build.js'
import { listPresets, presetPath } from '../../../src/policy/presets.js'
import { parseYaml } from '../../../src/problems.js'

const { cache, problems } = buildPresetCache()

describe('the preset cache', () => {
  test('holds every shipped preset, with its value and rule positions as the YAML parser gives them', () => {
    expect(problems).toEqual([])
    expect(cache.schema).toBe(SCHEMA_FINGERPRINT())
    expect(Object.keys(cache.presets).sort()).toEqual(listPresets().map((n) => `${n}.yaml`).sort())
    for (const name of listPresets()) {
      const file = presetPath(name)
      const source = readFileSync(file, 'utf8')
      const entry = cache.presets[`${name}.yaml`]!
      expect(entry.source).toBe(source)
      const { yaml } = parseYaml(source, file)
      // What goes through JSON comes back the same.
      expect(JSON.parse(JSON.stringify(entry))).toEqual(entry)
      expect(entry.value).toEqual(yaml.value)
      const fromCache = presetFromCache(cache, file, source, file, SCHEMA_FINGERPRINT)!
      const rules = (yaml.value as { rules?: unknown[] }).rules ?? []
      rules.forEach((_, i) => expect(fromCache.locate(['rules', i]), `${name} rules[${i}]`).toEqual(yaml.locate(['rules', i])))
      // Any other position is the parser's, found when asked for.
      expect(fromCache.locate(['name'], true)).toEqual(yaml.locate(['name'], true))
    }
  })

  test('is not used for another text or another schema', () => {
    const file = presetPath('full')
    const source = readFileSync(file, 'utf8')
    expect(presetFromCache(cache, file, source, file, SCHEMA_FINGERPRINT)).toBeDefined()
    expect(presetFromCache(cache, file, source + '# changed\n', file, SCHEMA_FINGERPRINT)).toBeUndefined()
    expect(presetFromCache(cache, file, source, file, () => SCHEMA_FINGERPRINT() + ' ')).toBeUndefined()
    expect(presetFromCache(undefined, file, source, file, SCHEMA_FINGERPRINT)).toBeUndefined()
  })

  test('a preset compiles to the same policy with the cache (as written by npm run build) and without it', () => {
    for (const name of ['full', 'container-operator', 'watchtower', 'read-only', 'ci']) {
      const plain = withoutCache(() => new PolicyLoader().load(name))
      const cached = new PolicyLoader().load(name)
      expect(plain.problems).toEqual([])
      expect(cached.problems).toEqual([])
      expect(cached.warnings).toEqual(plain.warnings)
      const text = (p: unknown): string => JSON.stringify(p, (_k, v: unknown) => (v instanceof Set ? [...v] : v instanceof Map ? [...v] : v))
      expect(text(plain.policy).length).toBeGreaterThan(200)
      expect(text(cached.policy)).toBe(text(plain.policy))
    }
  })
})
