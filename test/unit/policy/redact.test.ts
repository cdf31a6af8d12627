/**
 * A policy's `redact:`: its forms, its problems (at file:line:col, with did-you-mean), how it folds
 * through `extends:`, and which shipped presets have it on (../../../policies, README "Redaction").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { loadPolicy, PolicyLoader } from '../../../src/policy/compile.js'
import { listPresets } from '../../../src/policy/presets.js'
import { REDACT_KINDS } from '../../../src/policy/redact.js'
import { formatProblem } from '../../../src/problems.js'

const dir = mkdtempSync(join(tmpdir(), 'dockgate-redact-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Compiles `text` as dir/name.yaml (so that `./other.yaml` resolves beside it). */
function compile(text: string, name = 'p'): { redact?: unknown; problems: string[] } {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, text)
  const r = new PolicyLoader({ cwd: dir }).load(`./${name}.yaml`)
  return { ...(r.policy ? { redact: r.policy.redact } : {}), problems: r.problems.map(formatProblem) }
}

const RULES = 'rules:\n  - allow: ContainerInspect\n'
const ALL = [...REDACT_KINDS]

describe('forms', () => {
  test.each([
    ['nothing said: nothing redacted', '', { kinds: [], keepEnv: [] }],
    ['all', 'redact: all\n', { kinds: ALL, keepEnv: [] }],
    ['none', 'redact: none\n', { kinds: [], keepEnv: [] }],
    ['a list', 'redact: [secret_data, container_env]\n', { kinds: ['container_env', 'secret_data'], keepEnv: [] }],
    ['an empty list', 'redact: []\n', { kinds: [], keepEnv: [] }],
    ['a mapping', 'redact:\n  swarm_join_tokens: true\n  config_data: false\n', { kinds: ['swarm_join_tokens'], keepEnv: [] }],
    ['keep: env names stay visible', 'redact:\n  container_env: { keep: [VIRTUAL_HOST, "LETSENCRYPT_*"] }\n', { kinds: ['container_env'], keepEnv: ['VIRTUAL_HOST', 'LETSENCRYPT_*'] }],
    ['keep listed twice is one', 'redact:\n  container_env: { keep: [A, A] }\n', { kinds: ['container_env'], keepEnv: ['A'] }],
  ])('%s', (_name, yaml, expected) => {
    expect(compile(`${yaml}${RULES}`)).toEqual({ redact: expected, problems: [] })
  })
})

describe('problems, at the place, with did-you-mean', () => {
  test.each([
    ['a misspelt kind in a list', 'redact: [container_env, secrets_data]\n', ['p.yaml:1:25: redact[1]: unknown kind "secrets_data" (did you mean secret_data?); kinds: container_env, swarm_join_tokens, swarm_unlock_key, secret_data, config_data, plugin_env, volume_options, log_options']],
    ['a misspelt kind as a key', 'redact:\n  contianer_env: true\n', ['p.yaml:2:3: redact.contianer_env: unknown kind "contianer_env" (did you mean container_env?); kinds: container_env, swarm_join_tokens, swarm_unlock_key, secret_data, config_data, plugin_env, volume_options, log_options']],
    ['a word that is neither all nor none', 'redact: al\n', ['p.yaml:1:9: redact: must be all, none, a list of kinds or a mapping of kind to true/false, not "al" (did you mean all?)']],
    ['a kind listed twice', 'redact: [secret_data, secret_data]\n', ['p.yaml:1:23: redact[1]: secret_data is listed twice']],
    ['a number', 'redact: 1\n', ['p.yaml:1:9: redact: must be a string, a list or a mapping, not 1']],
    ['yes is a string in YAML 1.2, not true', 'redact:\n  secret_data: yes\n', ['p.yaml:2:16: redact.secret_data: must be true or false']],
    ['keep on another kind', 'redact:\n  plugin_env: { keep: [A] }\n', ['p.yaml:2:15: redact.plugin_env: must be true or false']],
    ['keep misspelt', 'redact:\n  container_env: { kep: [A] }\n', [
      'p.yaml:2:20: redact.container_env.kep: unknown key "kep" (did you mean keep?); allowed keys: keep',
    ]],
    ['keep empty', 'redact:\n  container_env: { keep: [] }\n', ['p.yaml:2:26: redact.container_env.keep: must be a list of variable names whose values stay visible (`*` matches any characters); for none, write container_env: true']],
    ['keep with a value in it', 'redact:\n  container_env: { keep: ["PASSWORD=x", ok] }\n', ['p.yaml:2:27: redact.container_env.keep[0]: "PASSWORD=x" is not a variable name: letters, digits, "_", ".", "-" and the wildcard "*", without "="']],
  ])('%s', (_name, yaml, expected) => {
    expect(compile(`${yaml}${RULES}`).problems).toEqual(expected)
  })
})

describe('through extends', () => {
  test.each([
    ['a child inherits its parent\'s', 'redact: all\n', '', ALL, []],
    ['a child turns one kind off', 'redact: all\n', 'redact: { container_env: false }\n', ALL.filter((k) => k !== 'container_env'), []],
    ['a child turns everything off', 'redact: all\n', 'redact: none\n', [], []],
    ['a child adds a kind to its parent\'s', 'redact: [secret_data]\n', 'redact: [config_data]\n', ['secret_data', 'config_data'], []],
    ['a child\'s keep replaces its parent\'s', 'redact:\n  container_env: { keep: [A_*] }\n', 'redact:\n  container_env: { keep: [B] }\n', ['container_env'], ['B']],
    ['a child\'s true drops its parent\'s keep', 'redact:\n  container_env: { keep: [A_*] }\n', 'redact: [container_env]\n', ['container_env'], []],
  ])('%s', (_name, parent, child, kinds, keepEnv) => {
    compile(`${parent}${RULES}`, 'parent')
    expect(compile(`extends: [./parent.yaml]\n${child}`, 'child')).toEqual({ redact: { kinds, keepEnv }, problems: [] })
  })
})

describe('shipped presets (README, "Redaction": on in read-only and the dashboards, off where containers are re-created)', () => {
  const OFF = ['ci', 'container-operator', 'dozzle-actions', 'full', 'watchtower', 'watchtower-hooks', 'wud']
  const KEEP: Record<string, readonly string[]> = {
    'nginx-proxy': ['VIRTUAL_*', 'CERT_NAME', 'HTTPS_METHOD', 'HSTS', 'SSL_POLICY', 'SERVER_TOKENS', 'NETWORK_ACCESS', 'EXTERNAL_HTTP_PORT', 'EXTERNAL_HTTPS_PORT', 'ENABLE_HTTP_ON_MISSING_CERT', 'ACME_HTTP_CHALLENGE_LOCATION'],
    'acme-companion': ['LETSENCRYPT_*', 'ACME_*', 'ACMESH_*', 'ZEROSSL_API_KEY'],
  }
  KEEP['nginx-proxy-notify'] = KEEP['nginx-proxy']!
  test.each(listPresets())('%s', (name) => {
    const { redact } = loadPolicy(name)
    if (OFF.includes(name)) expect(redact).toEqual({ kinds: [], keepEnv: [] })
    else expect(redact).toEqual({ kinds: ALL, keepEnv: KEEP[name] ?? [] })
  })
})
