#!/usr/bin/env node
/**
 * `node scripts/build-presets.mjs` (the second half of `npm run build`, after tsc): writes
 * dist/presets.json, the shipped presets as JSON for src/policy/preset-cache.ts. Each preset is
 * loaded the ordinary way first (YAML parser, schema, operations, extends); only a preset that
 * loads with no problem and no warning goes into the file, with its exact text and the schema it
 * passed. A preset with problems fails the build.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'dist/presets.json')
// Never check a preset through an older cache.
rmSync(out, { force: true })
const { PolicyLoader } = await import(join(root, 'dist/policy/compile.js'))
const { SCHEMA_FINGERPRINT } = await import(join(root, 'dist/policy/load.js'))
const { listPresets, presetPath } = await import(join(root, 'dist/policy/presets.js'))
const { parseYaml, formatProblem } = await import(join(root, 'dist/problems.js'))
const { cachedPaths } = await import(join(root, 'dist/policy/preset-cache.js'))

const presets = {}
const failed = []
for (const name of listPresets()) {
  const file = presetPath(name)
  const result = new PolicyLoader({ cwd: root }).load(name)
  if (result.problems.length > 0) {
    failed.push(...result.problems.map(formatProblem))
    continue
  }
  if (result.warnings.length > 0) continue // positions for its warnings need the YAML: left to load time
  const source = readFileSync(file, 'utf8')
  const { yaml } = parseYaml(source, file)
  const positions = Object.fromEntries(cachedPaths(yaml.value).map((path) => {
    const p = yaml.locate(path)
    return [path.join('.'), [p.line, p.col]]
  }))
  presets[basename(file)] = { source, value: yaml.value, positions }
}
if (failed.length > 0) {
  process.stderr.write(`build-presets: shipped presets with problems:\n  ${failed.join('\n  ')}\n`)
  process.exit(1)
}
writeFileSync(out, JSON.stringify({ schema: SCHEMA_FINGERPRINT(), presets }) + '\n')
