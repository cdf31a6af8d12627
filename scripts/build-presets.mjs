#!/usr/bin/env node
/**
 * `node scripts/build-presets.mjs` (the second half of `npm run build`, after tsc): writes
 * dist/presets.json, the shipped presets as JSON for src/policy/preset-cache.ts
 * (src/policy/preset-cache-build.ts makes it). A preset with problems fails the build.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'dist/presets.json')
rmSync(out, { force: true })
const { buildPresetCache } = await import(join(root, 'dist/policy/preset-cache-build.js'))
const { cache, problems } = buildPresetCache()
if (problems.length > 0) {
  process.stderr.write(`build-presets: shipped presets with problems:\n  ${problems.join('\n  ')}\n`)
  process.exit(1)
}
writeFileSync(out, JSON.stringify(cache) + '\n')
