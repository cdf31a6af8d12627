#!/usr/bin/env node
/**
 * `node bench/check.mjs [FILE]`: CI's proof that the bench ran (issue 4: "CI asserts that it ran,
 * never a speed"). Passes when the results file holds every scenario, none failed, and each
 * metric has its figures. Budgets are not checked: they are read from the table.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const EXPECTED = ['ping', 'version', 'containers-json', 'create-delete', 'logs', 'image-export', 'image-load', 'exec', 'events', 'process']
const file = process.argv[2] ?? fileURLToPath(new URL('results/latest.json', import.meta.url))

const problems = []
let results
try {
  results = JSON.parse(readFileSync(file, 'utf8'))
} catch (err) {
  console.error(`bench check: cannot read ${file}: ${err.message}`)
  process.exit(1)
}
const byId = new Map((results.scenarios ?? []).map((s) => [s.id, s]))
for (const id of EXPECTED) {
  const s = byId.get(id)
  if (!s) problems.push(`${id}: missing`)
  else if (s.error) problems.push(`${id}: failed: ${s.error}`)
  else if (!Array.isArray(s.metrics) || s.metrics.length === 0) problems.push(`${id}: no metrics`)
  else {
    for (const m of s.metrics) {
      const present = (v) => v === true || v === false || (typeof v === 'number' && Number.isFinite(v))
      if (!present(m.dockgate)) problems.push(`${id}: "${m.name}" has no dockgate figure`)
      if (m.direct !== undefined && m.direct !== null && !present(m.direct)) problems.push(`${id}: "${m.name}" has no direct figure`)
      if (m.unit === 'bool' && m.dockgate !== true) problems.push(`${id}: "${m.name}" is false through dockgate`)
    }
  }
}
if (problems.length > 0) {
  console.error(`bench check: ${file}:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`bench check: ${file}: all ${EXPECTED.length} scenarios ran (${results.options?.quick ? 'quick' : 'full'} run, ${results.runtimeS} s)`)
