import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { DockgateError, ERROR_CODES, type ErrorCode } from '../../src/errors.js'

/** Rows of README's "Error codes" table: | `DG_…` | status | meaning | fix | */
function readmeCodes(): Map<string, { status: number; row: string }> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Error codes'))
  const rows = new Map<string, { status: number; row: string }>()
  for (const line of section.split('\n')) {
    const m = /^\|\s*`(DG_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|(.+)\|(.+)\|\s*$/.exec(line)
    if (m) rows.set(m[1]!, { status: Number(m[2]), row: line })
  }
  return rows
}

describe('error codes', () => {
  const documented = readmeCodes()
  test.each(Object.entries(ERROR_CODES))('%s is documented in README with its status, meaning and fix', (code, { status }) => {
    const row = documented.get(code)
    expect(row, `README.md lacks a row for ${code}`).toBeDefined()
    expect(row!.status).toBe(status)
  })
  test('README documents no code that errors.ts lacks', () => {
    expect([...documented.keys()].filter((c) => !(c in ERROR_CODES))).toEqual([])
  })
  test('codes follow DG_<AREA>_<PROBLEM>', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^DG_(DENY|REQ|TARGET|LIMIT|UPSTREAM|INTERNAL)(_[A-Z]+)*$/)
  })
  test.each(Object.keys(ERROR_CODES) as ErrorCode[])('%s: client message names the code and carries the status', (code) => {
    const err = new DockgateError(code, 'something happened')
    expect(err.status).toBe(ERROR_CODES[code].status)
    expect(err.clientMessage()).toBe(`dockgate: something happened [${code}]`)
  })
})
