/** Problems, positions in YAML, schema messages and suggestions (src/problems.ts). */
import { describe, expect, test } from 'vitest'
import {
  ConfigError, createAjv, editDistance, formatPath, formatProblem, parseYaml, schemaProblems, suggest, tidyProblems, type Problem,
} from '../../../src/problems.js'

describe('formatProblem', () => {
  test.each<[string, Problem, string]>([
    ['file, line and column', { file: 'policies/ci.yaml', line: 14, col: 7, message: 'rules[2].allow: unknown operation "ContainerCreat" (did you mean ContainerCreate?)' },
      'policies/ci.yaml:14:7: rules[2].allow: unknown operation "ContainerCreat" (did you mean ContainerCreate?)'],
    ['file and line', { file: 'a.yaml', line: 3, message: 'x' }, 'a.yaml:3: x'],
    ['file only', { file: 'a.yaml', message: 'cannot read' }, 'a.yaml: cannot read'],
    ['no file (flags, variables)', { message: '--listen: needs a value (ADDR)' }, '--listen: needs a value (ADDR)'],
  ])('%s', (_name, p, text) => {
    expect(formatProblem(p)).toBe(text)
  })

  test('ConfigError carries the problems; its message is the printed list', () => {
    const e = new ConfigError([{ message: 'a' }, { file: 'f', line: 1, col: 2, message: 'b' }])
    expect(e.problems).toHaveLength(2)
    expect(e.message).toBe('a\nf:1:2: b')
    expect(e.name).toBe('ConfigError')
  })

  test('tidyProblems drops exact repeats and sorts each file by position, files in first-seen order', () => {
    expect(tidyProblems([
      { file: 'b', line: 9, col: 1, message: 'b9' },
      { message: 'flag' },
      { file: 'a', line: 2, col: 5, message: 'a2' },
      { file: 'b', line: 1, col: 1, message: 'b1' },
      { file: 'a', line: 2, col: 1, message: 'a2a' },
      { file: 'b', line: 9, col: 1, message: 'b9' },
    ]).map(formatProblem)).toEqual(['b:1:1: b1', 'b:9:1: b9', 'flag', 'a:2:1: a2a', 'a:2:5: a2'])
  })
})

describe('formatPath', () => {
  test.each<[string, Array<string | number>, string]>([
    ['root', [], ''],
    ['a key', ['rules'], 'rules'],
    ['an index', ['rules', 2, 'allow'], 'rules[2].allow'],
    ['a list item', ['rules', 2, 'allow', 0], 'rules[2].allow[0]'],
    ['a key that is not an identifier', ['labels', 'a.b'], 'labels["a.b"]'],
    ['snake and kebab keys', ['limits', 'body_bytes', 'x-y'], 'limits.body_bytes.x-y'],
  ])('%s', (_name, path, text) => {
    expect(formatPath(path)).toBe(text)
  })
})

describe('suggestions', () => {
  test.each<[string, string, string, number]>([
    ['identical', 'json', 'json', 0],
    ['one substitution', 'jsan', 'json', 1],
    ['one deletion', 'ContainerCreat', 'ContainerCreate', 1],
    ['a transposition costs 1', 'jsno', 'json', 1],
    ['two edits', 'ContainrCreat', 'ContainerCreate', 2],
    ['empty', '', 'abc', 3],
  ])('editDistance: %s', (_name, a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })

  const ops = ['ContainerCreate', 'ContainerStart', 'ContainerStop', 'ContainerList', 'ContainerLogs', 'ImagePush', 'ImageList']
  test.each<[string, string, string[]]>([
    ['a typo', 'ContainerCreat', ['ContainerCreate']],
    ['the case-insensitive match wins outright', 'containerlist', ['ContainerList']],
    ['several, best first', 'ContainerLst', ['ContainerList', 'ContainerLogs', 'ContainerStop']],
    ['too far: nothing', 'Nonsense', []],
    ['short words allow one edit only', 'alow', []],
    ['the word itself is not suggested', 'ContainerLogs', ['ContainerList']],
  ])('suggest: %s', (_name, word, expected) => {
    expect(suggest(word, ops)).toEqual(expected)
  })

  test('short words: one edit', () => {
    expect(suggest('alow', ['allow', 'deny', 'name'])).toEqual(['allow'])
    expect(suggest('nmae', ['allow', 'deny', 'name'])).toEqual(['name'])
  })
})

describe('parseYaml', () => {
  test('positions of values, keys, and absent paths (nearest ancestor)', () => {
    const { yaml, problems } = parseYaml('name: x\nrules:\n  - allow: [A, B]\n    name: r\n  - deny:\n', 'f.yaml')
    expect(problems).toEqual([])
    expect(yaml.locate(['name'])).toEqual({ line: 1, col: 7 })
    expect(yaml.locate(['name'], true)).toEqual({ line: 1, col: 1 })
    expect(yaml.locate(['rules', 0, 'allow', 1])).toEqual({ line: 3, col: 16 })
    expect(yaml.locate(['rules', 0, 'name'])).toEqual({ line: 4, col: 11 })
    expect(yaml.locate(['rules', 1, 'deny'])).toEqual({ line: 5, col: 5 }) // empty value: the key
    expect(yaml.locate(['rules', 0, 'missing'])).toEqual({ line: 3, col: 5 })
    expect(yaml.locate(['rules', 7])).toEqual({ line: 3, col: 3 })
    expect(yaml.problem(['rules', 0, 'allow'], 'bad')).toEqual({ file: 'f.yaml', line: 3, col: 12, message: 'rules[0].allow: bad' })
  })

  test('positions through an alias', () => {
    const { yaml } = parseYaml('base: &b [A, B]\nrules:\n  - allow: *b\n', 'f.yaml')
    expect(yaml.value).toEqual({ base: ['A', 'B'], rules: [{ allow: ['A', 'B'] }] })
    expect(yaml.locate(['rules', 0, 'allow', 1])).toEqual({ line: 1, col: 14 })
  })

  test('a file without a final newline', () => {
    expect(parseYaml('a: 1', 'f').yaml.locate(['a'])).toEqual({ line: 1, col: 4 })
  })

  test('YAML 1.2 core schema: yes is a string, 0660 is decimal 660, 0o660 is octal', () => {
    expect(parseYaml('a: yes\nb: 0660\nc: 0o660\n', 'f').yaml.value).toEqual({ a: 'yes', b: 660, c: 0o660 })
  })

  test.each<[string, string, string[]]>([
    ['duplicate keys', 'a: 1\nlongkey: 2\nlongkey: 3\n', ['f:3:1: duplicate key "longkey"']],
    ['duplicate keys in a flow mapping', 'x:\n  - {a: 1, a: 2}\n', ['f:2:12: duplicate key "a"']],
    ['several documents', 'a: 1\n---\nb: 2\n', ['f:2:1: invalid YAML: Source contains multiple documents; please use YAML.parseAllDocuments()']],
    ['an unknown tag', 'a: !foo x\n', ['f:1:4: invalid YAML: Unresolved tag: !foo']],
    ['a list as a key', '? [a]\n: 1\n', ['f:1:3: invalid YAML: a key must be a plain string, not a list or mapping']],
    ['an undefined alias', 'a: *x\n', ['f:1:1: invalid YAML: Unresolved alias (the anchor must be set before the alias): x']],
    ['a billion laughs', `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n`,
      ['f:1:1: invalid YAML: Excessive alias count indicates a resource exhaustion attack']],
  ])('refuses %s', (_name, text, expected) => {
    const { yaml, problems } = parseYaml(text, 'f')
    expect(problems.map(formatProblem)).toEqual(expected)
    expect(yaml.value).toBeUndefined()
  })

  test('__proto__ is an ordinary key, not a prototype', () => {
    const v = parseYaml('__proto__: {polluted: 1}\n', 'f').yaml.value as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.keys(v)).toEqual(['__proto__'])
  })
})

describe('schema errors become readable, positioned problems', () => {
  const validate = createAjv().compile({
    type: 'object',
    additionalProperties: false,
    required: ['need'],
    properties: {
      need: { type: 'string' },
      list: { type: 'array', minItems: 1, maxItems: 2, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 3 } },
      n: { type: 'integer', minimum: 1, maximum: 10 },
      level: { enum: ['info', 'warn'] },
      either: { type: ['string', 'array'] },
      sub: { type: 'object', additionalProperties: false, properties: { alpha: { type: 'boolean' }, beta: { type: 'boolean' } } },
      flag: { anyOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string' } }] },
    },
  })
  const check = (text: string): string[] => {
    const { yaml } = parseYaml(text, 'f')
    return tidyProblems(schemaProblems(validate, yaml)).map(formatProblem)
  }

  test.each<[string, string, string[]]>([
    ['valid', 'need: x\n', []],
    ['missing key (at the mapping)', 'n: 1\n', ['f:1:1: missing key "need"']],
    ['unknown key with a suggestion (at the key)', 'need: x\nsub: {alpah: true}\n', ['f:2:7: sub.alpah: unknown key "alpah" (did you mean alpha? allowed keys: alpha, beta)']],
    ['unknown key, nothing close', 'need: x\nzzz: 1\n', ['f:2:1: zzz: unknown key "zzz" (allowed keys: need, list, n, level, either, sub, flag)']],
    ['wrong type', 'need: 5\n', ['f:1:7: need: must be a string, not 5']],
    ['wrong type: a mapping', 'need: {a: 1}\n', ['f:1:7: need: must be a string, not a mapping']],
    ['wrong type: nothing', 'need:\n', ['f:1:1: need: must be a string, not nothing']],
    ['union type', 'need: x\neither: 1\n', ['f:2:9: either: must be a string or a list, not 1']],
    ['integer', 'need: x\nn: 1.5\n', ['f:2:4: n: must be a whole number, not 1.5']],
    ['minimum', 'need: x\nn: 0\n', ['f:2:4: n: must be at least 1, not 0']],
    ['maximum', 'need: x\nn: 11\n', ['f:2:4: n: must be at most 10, not 11']],
    ['empty list', 'need: x\nlist: []\n', ['f:2:7: list: must not be empty']],
    ['long list', 'need: x\nlist: [a, b, c]\n', ['f:2:7: list: must have at most 2 items']],
    ['repeated items', 'need: x\nlist: [a, a]\n', ['f:2:7: list: items 0 and 1 are the same']],
    ['empty string', 'need: x\nlist: [""]\n', ['f:2:8: list[0]: must not be empty']],
    ['long string', 'need: x\nlist: [abcd]\n', ['f:2:8: list[0]: must be at most 3 characters long']],
    ['anyOf: one message for all branches', 'need: x\nflag: 5\n', ['f:2:7: flag: must be true or false or a list, not 5']],
    ['anyOf: a valid branch is fine', 'need: x\nflag: [a]\n', []],
    ['enum with a suggestion', 'need: x\nlevel: inf\n', ['f:2:8: level: must be one of info, warn, not "inf" (did you mean info?)']],
    ['every error at once', 'n: 0\nlevel: 3\nzz: 1\n', [
      'f:1:1: missing key "need"',
      'f:1:4: n: must be at least 1, not 0',
      'f:2:8: level: must be one of info, warn, not 3',
      'f:3:1: zz: unknown key "zz" (allowed keys: need, list, n, level, either, sub, flag)',
    ]],
  ])('%s', (_name, text, expected) => {
    expect(check(text)).toEqual(expected)
  })
})
