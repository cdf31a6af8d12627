/**
 * Policy files, good and broken, with the exact messages a user sees (`file:line:col: message`).
 * Fixtures: test/fixtures/policies/{good,broken,warn}/.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { compilePolicyText, loadPolicy, PolicyLoader } from '../../../src/policy/compile.js'
import { ConfigError, formatProblem } from '../../../src/problems.js'
import { listPresets } from '../../../src/policy/presets.js'

/** The shipped presets, as the "unknown preset" message lists them. */
const PRESETS = listPresets().join(', ')

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
const F = 'test/fixtures/policies'

function problemsOf(ref: string): string[] {
  const r = new PolicyLoader({ cwd: repoRoot }).load(ref)
  expect(r.policy).toBeUndefined()
  return r.problems.map(formatProblem)
}

function warningsOf(ref: string): string[] {
  const r = new PolicyLoader({ cwd: repoRoot }).load(ref)
  expect(r.problems.map(formatProblem)).toEqual([])
  return r.warnings.map(formatProblem)
}

describe('broken policy files: every problem, exactly as printed', () => {
  test.each<[string, string, string[]]>([
    ['typo in operation ids, with suggestions (case-insensitive match gives the right casing)', 'broken/typo-op.yaml', [
      `${F}/broken/typo-op.yaml:4:13: rules[1].allow[0]: unknown operation "ContainerCreat" (did you mean ContainerCreate?)`,
      `${F}/broken/typo-op.yaml:4:29: rules[1].allow[1]: unknown operation "containerstart" (did you mean ContainerStart?)`,
      `${F}/broken/typo-op.yaml:5:11: rules[2].deny: unknown operation "ImagePsh" (did you mean ImagePush?)`,
      `${F}/broken/typo-op.yaml:6:12: rules[3].allow: unknown operation "Nonsense"`,
    ]],
    ['unknown keys, at the key, with the allowed ones', 'broken/unknown-key.yaml', [
      `${F}/broken/unknown-key.yaml:3:5: rules[0].alow: unknown key "alow" (did you mean allow? allowed keys: allow, deny, name)`,
      `${F}/broken/unknown-key.yaml:5:5: rules[1].nmae: unknown key "nmae" (did you mean name? allowed keys: allow, deny, name)`,
      `${F}/broken/unknown-key.yaml:6:1: descripton: unknown key "descripton" (did you mean description? allowed keys: name, description, extends, rules, guards, unguarded, redact)`,
    ]],
    ['duplicate YAML keys (the last would silently win)', 'broken/duplicate-key.yaml', [
      `${F}/broken/duplicate-key.yaml:3:5: duplicate key "allow"`,
      `${F}/broken/duplicate-key.yaml:5:1: duplicate key "name"`,
    ]],
    ['bad globs, one message each', 'broken/bad-glob.yaml', [
      `${F}/broken/bad-glob.yaml:2:12: rules[0].allow: glob "containers/*/json" must be absolute (start with /)`,
      `${F}/broken/bad-glob.yaml:3:12: rules[1].allow: "/containers/json" needs a method: write "GET /containers/json", "GET|HEAD /containers/json" or "* /containers/json"`,
      `${F}/broken/bad-glob.yaml:4:12: rules[2].allow: unknown method "get" (did you mean GET?); use GET, HEAD, POST, PUT, DELETE, a list like GET|HEAD, or *`,
      `${F}/broken/bad-glob.yaml:5:12: rules[3].allow: "{id}" is not a placeholder in a glob; write * for one path segment, or ** for image and plugin names, which may contain /`,
      `${F}/broken/bad-glob.yaml:6:12: rules[4].allow: glob "/v1.41/containers/json" includes an API version prefix; globs match the path without it (e.g. "/containers/json")`,
      `${F}/broken/bad-glob.yaml:7:12: rules[5].allow: glob "/containers/json?all=1" looks like it has a query string; globs match the path only`,
      `${F}/broken/bad-glob.yaml:8:12: rules[6].allow: glob "/containers/*/json/" can never match: canonical paths have no empty, "." or ".." segments and no trailing /`,
      `${F}/broken/bad-glob.yaml:9:12: rules[7].allow: invalid glob "/containers/[abc/json": Missing closing: "]" - use "\\\\]" to match literal characters`,
      `${F}/broken/bad-glob.yaml:10:12: rules[8].allow: extglob "+(…)" is not supported; use {a,b} or separate entries`,
      `${F}/broken/bad-glob.yaml:11:12: rules[9].allow: "POST /containers/*/json" matches no Engine API endpoint; with another method it would match GET ContainerInspect`,
      `${F}/broken/bad-glob.yaml:12:12: rules[10].allow: method "*" stands alone; it cannot be part of a list`,
      `${F}/broken/bad-glob.yaml:13:12: rules[11].allow: one method and one glob per entry: "/containers/json /images/json" contains a space (use a list for several)`,
    ]],
    ['missing rules', 'broken/missing-rules.yaml', [
      `${F}/broken/missing-rules.yaml:1:1: missing key "rules" (or "extends")`,
    ]],
    ['cyclic extends (reported where the cycle closes)', 'broken/cycle-a.yaml', [
      `${F}/broken/cycle-b.yaml:1:11: extends[0]: cycle in extends: cycle-a.yaml → cycle-b.yaml → cycle-a.yaml`,
    ]],
    ['a policy extending itself', 'broken/self-extends.yaml', [
      `${F}/broken/self-extends.yaml:1:11: extends[0]: cycle in extends: self-extends.yaml → self-extends.yaml`,
    ]],
    ['unguarded outside the shipped full preset', 'broken/unguarded.yaml', [
      `${F}/broken/unguarded.yaml:2:1: unguarded: only the shipped preset "full" may turn body guards off; write "extends: [full]" instead`,
    ]],
    ['YAML syntax error', 'broken/syntax.yaml', [
      `${F}/broken/syntax.yaml:3:3: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]],
    ['tabs as indentation', 'broken/tabs.yaml', [
      `${F}/broken/tabs.yaml:2:1: invalid YAML: Tabs are not allowed as indentation`,
    ]],
    ['an empty file', 'broken/empty.yaml', [
      `${F}/broken/empty.yaml:1:1: the file is empty; a policy needs at least "rules:"`,
    ]],
    ['a list instead of a mapping', 'broken/not-a-mapping.yaml', [
      `${F}/broken/not-a-mapping.yaml:1:1: must be a mapping, not a list`,
    ]],
    ['extends: unknown preset, missing file, the same preset twice', 'broken/bad-extends.yaml', [
      `${F}/broken/bad-extends.yaml:1:11: extends[0]: unknown preset "reed-only" (did you mean read-only?); presets: ${PRESETS}`,
      `${F}/broken/bad-extends.yaml:1:22: extends[1]: cannot read policy "./missing.yaml": no such file`,
      `${F}/broken/bad-extends.yaml:1:49: extends[3]: "read-only" is already extended`,
    ]],
    ['rule shapes: both, neither, empty, wrong types', 'broken/rule-shape.yaml', [
      `${F}/broken/rule-shape.yaml:2:5: rules[0]: a rule has either "allow" or "deny", not both: split it in two`,
      `${F}/broken/rule-shape.yaml:4:5: rules[1]: a rule needs "allow" or "deny"`,
      `${F}/broken/rule-shape.yaml:5:5: rules[2]: a rule needs "allow" or "deny"`,
      `${F}/broken/rule-shape.yaml:6:12: rules[3].allow: must not be empty`,
      `${F}/broken/rule-shape.yaml:7:12: rules[4].allow: must not be empty`,
      `${F}/broken/rule-shape.yaml:8:11: rules[5].deny: must be a string or a list, not 42`,
      `${F}/broken/rule-shape.yaml:9:5: rules[6]: must be a mapping, not "ContainerList"`,
    ]],
    ['a rule name used twice, here or in a parent', 'broken/duplicate-rule-name.yaml', [
      `${F}/broken/duplicate-rule-name.yaml:6:11: rules[1].name: "create" already names the rule at ${F}/broken/duplicate-rule-name.yaml:3:5`,
      `${F}/broken/duplicate-rule-name.yaml:8:11: rules[2].name: "containers" already names the rule at policies/read-only.yaml:33:5`,
    ]],
    ['names that cannot label logs and metrics', 'broken/bad-name.yaml', [
      `${F}/broken/bad-name.yaml:1:7: name: "my policy" is not a valid policy name (letters, digits, ".", "_", "-"; at most 64)`,
      `${F}/broken/bad-name.yaml:4:11: rules[0].name: "two words" is not a valid rule name (letters, digits, ".", "_", "-"; at most 64)`,
    ]],
    ['many problems in one file, all reported together, in file order', 'broken/many.yaml', [
      `${F}/broken/many.yaml:2:11: extends[0]: unknown preset "read-onyl" (did you mean read-only?); presets: ${PRESETS}`,
      `${F}/broken/many.yaml:4:12: rules[0].allow: unknown operation "ContainerCreat" (did you mean ContainerCreate?)`,
      `${F}/broken/many.yaml:5:5: rules[1].alow: unknown key "alow" (did you mean allow? allowed keys: allow, deny, name)`,
      `${F}/broken/many.yaml:6:12: rules[2].allow: "GET /containers/*/jsno" matches no Engine API endpoint`,
      `${F}/broken/many.yaml:7:1: unguarded: only the shipped preset "full" may turn body guards off; write "extends: [full]" instead`,
      `${F}/broken/many.yaml:8:9: guards: must be a mapping, not a list`,
    ]],
  ])('%s (%s)', (_name, file, expected) => {
    expect(problemsOf(`${F}/${file}`)).toEqual(expected)
  })

  test('guards: schema problems (from the guards schema) and compileGuardRules problems, positioned in the file', () => {
    const text = 'rules: []\nguards:\n  container:\n    privilegd: true\n    binds:\n      - { path: relative }\n  plugins: { allow: 5 }\n'
    const r = new PolicyLoader({ cwd: repoRoot }).loadText(text, 'g.yaml')
    const lines = r.problems.map(formatProblem)
    expect(lines).toContain('g.yaml:4:5: guards.container.privilegd: unknown key "privilegd" (did you mean privileged? allowed keys: ' +
      'privileged, capabilities, namespaces, binds, volumes_from, devices, device_cgroup_rules, device_requests, security_opt, sysctls, ' +
      'cgroup_parents, runtimes, group_add, oom_score_adj_min, oom_kill_disable, ulimits, unlimited_pids, annotations, images, log_drivers, recreate)')
    expect(lines).toContain('g.yaml:7:21: guards.plugins.allow: must be true or false or a list, not 5')
    // The section failed its schema, so compileGuardRules is not asked about it.
    expect(lines).toHaveLength(2)
    const meaning = new PolicyLoader({ cwd: repoRoot }).loadText('rules: []\nguards:\n  container:\n    binds:\n      - { path: relative }\n', 'g.yaml')
    expect(meaning.problems.map(formatProblem)[0]).toMatch(/^g\.yaml:5:17: guards\.container\.binds\[0\]\.path: /)
  })

  test('problems in an extended file are reported with that file', () => {
    const err = catchConfigError(() => compilePolicyText('extends: [./test/fixtures/policies/broken/typo-op.yaml]\nrules: []\n', { cwd: repoRoot, file: 'child.yaml' }))
    expect(err.problems.map(formatProblem)[0]).toBe(`${F}/broken/typo-op.yaml:4:13: rules[1].allow[0]: unknown operation "ContainerCreat" (did you mean ContainerCreate?)`)
  })

  test('loadPolicy throws a ConfigError with all problems; its message is the printed list', () => {
    const err = catchConfigError(() => loadPolicy(`${F}/broken/duplicate-key.yaml`, { cwd: repoRoot }))
    expect(err.problems).toHaveLength(2)
    expect(err.message).toBe(err.problems.map(formatProblem).join('\n'))
  })

  test.each<[string, string, string]>([
    ['unknown preset, with a suggestion', 'reed-only', `unknown preset "reed-only" (did you mean read-only?); presets: ${PRESETS}`],
    ['preset names are lower case', 'Read-Only', `unknown preset "Read-Only" (did you mean read-only?); presets: ${PRESETS}`],
    ['missing file', './nope.yaml', 'cannot read policy "./nope.yaml": no such file'],
    ['a directory', './test/', 'cannot read policy "./test/": is a directory'],
    ['a bare name that is a local file is still a preset name', 'package', `unknown preset "package"; presets: ${PRESETS}`],
  ])('reference: %s', (_name, ref, message) => {
    const err = catchConfigError(() => loadPolicy(ref, { cwd: repoRoot }))
    expect(err.problems.map(formatProblem)).toEqual([message])
  })

  test('a bare name next to a same-named file hints at ./name.yaml', () => {
    const err = catchConfigError(() => compilePolicyText('extends: [base]\nrules: []\n', { cwd: repoRoot, file: `${F}/good/x.yaml` }))
    expect(err.problems.map(formatProblem)).toEqual([
      `${F}/good/x.yaml:1:11: extends[0]: unknown preset "base"; presets: ${PRESETS}; for the file base.yaml here, write ./base.yaml`,
    ])
  })
})

describe('meaning checks that warn', () => {
  test('repeats, shadowing, dead allows, /_ping denies, deny globs that miss names with /', () => {
    const W = `${F}/warn/repeats.yaml`
    expect(warningsOf(W)).toEqual([
      `${W}:3:12: rules[0].allow: ContainerList is already allowed by rule containers`,
      `${W}:5:5: rules[2]: repeats rule repeats.yaml:rules[1] exactly`,
      `${W}:6:28: rules[3].allow[1]: ContainerKill is listed twice in this rule`,
      `${W}:7:11: rules[4].deny: SystemPing is always allowed (clients negotiate the API version with /_ping): this deny has no effect`,
      `${W}:8:12: rules[5].allow: ContainerExport is also denied by rule no-export, and deny wins: this allow has no effect`,
      `${W}:11:11: rules[7].deny: "DELETE /containers/*" does not deny ContainerDelete on /containers/x/y: the engine accepts names with / there; deny the operation by id, or use ** for that segment`,
      `${W}:13:5: rules[9]: repeats rule repeats.yaml:rules[8] exactly`,
    ])
  })

  test('a policy with no rules at all', () => {
    expect(warningsOf(`${F}/warn/empty-rules.yaml`)).toEqual([
      `${F}/warn/empty-rules.yaml:1:1: rules: the policy has no rules: it allows nothing but /_ping`,
    ])
  })

  test('guards under full have no effect', () => {
    expect(warningsOf(`${F}/warn/guards-under-full.yaml`)).toEqual([
      `${F}/warn/guards-under-full.yaml:3:1: guards: has no effect: this policy extends "full", which turns body guards off`,
    ])
  })

  test('narrowing a preset with deny is not a warning', () => {
    expect(warningsOf(`${F}/good/ci.yaml`)).toEqual([])
  })

  test('combining presets does not blame the presets (child.yaml repeats SystemVersion via events-only)', () => {
    expect(warningsOf(`${F}/good/child.yaml`)).toEqual([])
  })

  test('warnings are carried by the compiled policy', () => {
    const p = loadPolicy(`${F}/warn/repeats.yaml`, { cwd: repoRoot })
    expect(p.warnings).toHaveLength(7)
  })
})

describe('good policy files', () => {
  test('ci.yaml: parents first, own rules last, display names and texts', () => {
    const p = loadPolicy(`${F}/good/ci.yaml`, { cwd: repoRoot })
    expect(p.name).toBe('ci')
    expect(p.description).toBe('CI runner')
    expect(p.source).toBe(`${repoRoot}${F}/good/ci.yaml`)
    expect(p.extends).toEqual([`${repoRoot}policies/read-only.yaml`, `${repoRoot}policies/container-operator.yaml`])
    expect(p.unguarded).toBe(false)
    expect(p.rules.map((r) => r.name)).toEqual([
      'ping', 'system', 'containers', 'images', 'networks-volumes', 'swarm',
      'container-lifecycle', 'container-io', 'exec', 'pull',
      'no-export', 'image-json',
    ])
    expect(p.rules.slice(-2).map((r) => [r.text, r.at])).toEqual([
      ['deny ContainerExport', `${F}/good/ci.yaml:5:5`],
      ['allow GET|HEAD /images/**/json', `${F}/good/ci.yaml:7:5`],
    ])
  })

  test('unnamed rules are called <file>:rules[i]; the default policy name is the file name', () => {
    const p = loadPolicy(`${F}/good/child.yaml`, { cwd: repoRoot })
    expect(p.name).toBe('child')
    expect(p.rules.map((r) => `${r.name} = ${r.text}`)).toEqual([
      'base.yaml:rules[0] = allow ContainerList, SystemVersion',
      'ping = allow SystemPing, SystemPingHead',
      'events = allow SystemVersion, SystemEvents',
      'child.yaml:rules[0] = allow ContainerInspect',
    ])
  })

  test('a file reached twice through extends contributes its rules once', () => {
    const p = loadPolicy(`${F}/good/diamond.yaml`, { cwd: repoRoot })
    expect(p.rules.map((r) => r.name)).toEqual(loadPolicy('container-operator').rules.map((r) => r.name))
  })

  test('extends may be a single string; .yml works; name from the file without extension', () => {
    const p = loadPolicy(`${F}/good/single-extends.yml`, { cwd: repoRoot })
    expect(p.name).toBe('single-extends')
    expect(p.rules).toHaveLength(loadPolicy('read-only').rules.length)
  })

  test('extends: [full] inherits unguarded', () => {
    const p = loadPolicy(`${F}/good/open-but-deny.yaml`, { cwd: repoRoot })
    expect(p.unguarded).toBe(true)
  })

  test('the compiled policy is deep-frozen', () => {
    const p = loadPolicy(`${F}/good/ci.yaml`, { cwd: repoRoot })
    expect(Object.isFrozen(p)).toBe(true)
    expect(Object.isFrozen(p.rules)).toBe(true)
    expect(Object.isFrozen(p.rules[0])).toBe(true)
    expect(Object.isFrozen(p.rules[0]?.operations)).toBe(true)
    expect(Object.isFrozen(p.rules.at(-1)?.globs[0])).toBe(true)
    expect(Object.isFrozen(p.guards)).toBe(true)
    expect(() => (p.rules as unknown as unknown[]).push(1)).toThrow(TypeError)
  })

  test('operation ids and globs are split per rule', () => {
    const p = compilePolicyText('rules:\n  - allow: [ContainerList, "GET /containers/*/json"]\n', { cwd: repoRoot })
    expect(p.rules[0]?.operations).toEqual(['ContainerList'])
    expect(p.rules[0]?.globs.map((g) => [g.text, g.methods, g.glob])).toEqual([['GET /containers/*/json', ['GET'], '/containers/*/json']])
  })

  test('whitespace around targets is normalised; methods are deduplicated', () => {
    const p = compilePolicyText('rules:\n  - allow: "  GET|GET|HEAD    /containers/*/json "\n', { cwd: repoRoot })
    expect(p.rules[0]?.globs[0]?.text).toBe('GET|HEAD /containers/*/json')
  })
})

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

/** `line:col` of the first occurrence of `needle` in a repository file. */
function at(file: string, needle: string): string {
  const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n')
  const line = lines.findIndex((l) => l.includes(needle))
  return `${line + 1}:${lines[line]!.indexOf(needle) + 1}`
}

describe('a BuildKit session only with a build the policy allows', () => {
  const S = 'Session (POST /session, a BuildKit session) is allowed by rule'
  const tail = 'but no build is: a session only serves a build the policy allows; allow ImageBuild too (or drop Session)'
  test.each([
    ['Session alone', 'rules:\n  - name: s\n    allow: [ContainerList, Session]\n', `policy.yaml:3:28: rules[0].allow[1]: ${S} s, ${tail}`],
    ['a glob that opens /session', 'rules:\n  - allow: "POST /session"\n', `policy.yaml:2:12: rules[0].allow: ${S} policy.yaml:rules[0], ${tail}`],
    ['a glob for every POST', 'rules:\n  - name: posts\n    allow: "POST /**"\n  - deny: ImageBuild\n    name: no-build\n', `policy.yaml:3:12: rules[0].allow: ${S} posts, ${tail}`],
    ['Session with /grpc that its guard still refuses', 'rules:\n  - name: s\n    allow: [Session, BuildKitGrpc]\n', `policy.yaml:3:13: rules[0].allow[0]: ${S} s, ${tail}`],
    ['ci with its builds denied', 'extends: [ci]\nrules:\n  - deny: ImageBuild\n', `policies/ci.yaml:${at('policies/ci.yaml', 'Session]')}: rules[6].allow[2]: ${S} build, ${tail}`],
  ])('refused at load time: %s', (_name, text, message) => {
    const err = catchConfigError(() => compilePolicyText(text, { cwd: repoRoot }))
    expect(err.problems.map(formatProblem)).toEqual([message])
  })

  test.each([
    ['with ImageBuild', 'rules:\n  - allow: [ImageBuild, Session]\n'],
    ['with /grpc opened by its guard', 'rules:\n  - allow: [BuildKitGrpc, Session]\nguards:\n  build: { grpc: true }\n'],
    ['the ci preset', 'extends: [ci]\n'],
    ['full (guards off, everything allowed)', 'extends: [full]\n'],
    ['a denied Session', 'extends: [ci]\nrules:\n  - deny: [ImageBuild, Session]\n'],
  ])('accepted: %s', (_name, text) => {
    expect(compilePolicyText(text, { cwd: repoRoot }).name).toBe('policy')
  })
})
