/**
 * The README's shell commands run as written: every `dockgate …` line in a ```sh block takes
 * options dockgate accepts, and every script it names exists. Files a command names that are the
 * reader's own (certificates) may be missing here; nothing else may be wrong. (Their effect is
 * covered by the integration tests: image, compose, and the listeners.)
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { ConfigError, formatProblem } from '../../src/problems.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
/** Lines of the ```sh blocks, continuation lines joined, comments dropped. */
const lines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.replace(/\\\n\s*/g, ' ').split('\n'))
  .map((l) => l.replace(/\s+#.*$/, '').trim())
  .filter((l) => l !== '' && !l.startsWith('#'))

/** Shell words of a simple command line (no quotes in these commands). */
const words = (line: string): string[] => line.split(/\s+/)

describe('README commands', () => {
  const dockgate = lines.filter((l) => l.startsWith('dockgate '))
  test('there are dockgate commands', () => expect(dockgate.length).toBeGreaterThanOrEqual(2))

  test.each(dockgate)('%s: its options parse', (line) => {
    const argv = words(line).slice(1)
    const readersFile = (p: string): boolean => argv.some((a) => a.includes('.') && !a.includes('://') && new RegExp(`: cannot read (the [a-zA-Z ]+ )?${JSON.stringify(a).replace(/\./g, '\\.')}: no such file$`).test(p))
    try {
      loadConfig(argv, {}, { cwd: root })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      expect(err.problems.map(formatProblem).filter((p) => !readersFile(p))).toEqual([])
    }
  })

  test.each(lines.filter((l) => /^bash scripts\//.test(l)))('%s: the script exists', (line) => {
    expect(existsSync(`${root}${words(line)[1]}`)).toBe(true)
  })
})
