/**
 * Makes the preset cache (preset-cache.ts) from the shipped presets: each is loaded the ordinary
 * way (YAML parser, schema, operations, extends) with no cache in the way; one that loads with no
 * problem and no warning is cached with its exact text, its value, its rules' positions and the
 * schema it passed. For scripts/build-presets.mjs (`npm run build`) and the tests.
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { formatProblem, parseYaml } from '../problems.js'
import { PolicyLoader } from './compile.js'
import { SCHEMA_FINGERPRINT } from './load.js'
import { cachedPaths, withoutCache, type PresetCache } from './preset-cache.js'
import { listPresets, packageRoot, presetPath } from './presets.js'

/** The cache, and the problems of presets that do not load (which fail the build). */
export function buildPresetCache(): { cache: PresetCache; problems: string[] } {
  return withoutCache(() => {
    const presets: Record<string, PresetCache['presets'][string]> = {}
    const problems: string[] = []
    for (const name of listPresets()) {
      const file = presetPath(name)
      const result = new PolicyLoader({ cwd: packageRoot() }).load(name)
      if (result.problems.length > 0) {
        problems.push(...result.problems.map(formatProblem))
        continue
      }
      // Positions for its warnings need the YAML: such a preset is left to load time.
      if (result.warnings.length > 0) continue
      const source = readFileSync(file, 'utf8')
      const { yaml } = parseYaml(source, file)
      const positions = Object.fromEntries(cachedPaths(yaml.value).map((path) => {
        const p = yaml.locate(path)
        return [path.join('.'), [p.line, p.col] as const]
      }))
      presets[basename(file)] = { source, value: yaml.value, positions }
    }
    return { cache: { schema: SCHEMA_FINGERPRINT(), presets }, problems }
  })
}
