/**
 * decide(): tables of requests against small policies. Requests are named by the real route
 * table (matchEndpoint), so the operation is exactly what the pipeline would pass.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { matchEndpoint } from '../../../src/endpoints.js'
import { compilePolicyText, loadPolicy, type CompiledPolicy } from '../../../src/policy/compile.js'
import { decide, type Decision, type DecisionRequest } from '../../../src/policy/decide.js'
import type { HttpMethod } from '../../../src/types.js'

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

function req(line: string): DecisionRequest {
  const [method, path] = line.split(' ') as [HttpMethod, string]
  const match = matchEndpoint(method, path)
  if (match === undefined) throw new Error(`not an endpoint: ${line}`)
  return { method, path, operation: match.operation }
}

function policy(yaml: string, name = 'test'): CompiledPolicy {
  return compilePolicyText(`name: ${name}\n${yaml}`, { cwd: repoRoot, file: `${name}.yaml` })
}

const P = policy(`
rules:
  - allow: ContainerList
  - allow: [ContainerInspect, ContainerLogs, ContainerExport]
    name: read-containers
  - deny: ContainerExport
    name: no-export
  - allow: "GET|HEAD /images/**/json"
    name: image-json
  - allow: "POST /containers/*/{start,stop}"
  - deny: "* /containers/secret*/**"
    name: no-secret
  - allow: "GET /networks/*"
`)

describe('decide', () => {
  test.each<[string, string, Partial<Decision>]>([
    ['allowed by operation id (unnamed rule)', 'GET /containers/json',
      { allow: true, rule: 'test.yaml:rules[0]', reason: 'allowed by rule test.yaml:rules[0] (allow ContainerList)' }],
    ['allowed by a named rule listing several ids', 'GET /containers/abc/json',
      { allow: true, rule: 'read-containers', reason: 'allowed by rule read-containers (allow ContainerInspect)' }],
    ['deny wins over an earlier allow of the same id', 'GET /containers/abc/export',
      { allow: false, rule: 'no-export', reason: 'denied by rule no-export (deny ContainerExport)' }],
    ['nothing matched → denied', 'POST /containers/create',
      { allow: false, reason: 'no rule allows it' }],
    ['GET /_ping is always allowed', 'GET /_ping',
      { allow: true, reason: '/_ping is always allowed (clients negotiate the API version with it)' }],
    ['HEAD /_ping is always allowed', 'HEAD /_ping', { allow: true }],
    ['allowed by glob: image name with /', 'GET /images/ghcr.io/org/app:1.2/json',
      { allow: true, rule: 'image-json', reason: 'allowed by rule image-json (allow GET|HEAD /images/**/json)' }],
    ['allowed by glob: plain image name', 'GET /images/alpine/json', { allow: true, rule: 'image-json' }],
    ['a ** glob also reaches /images/json (ImageList)', 'GET /images/json', { allow: true, rule: 'image-json' }],
    ['method list: the method must be in it', 'DELETE /images/alpine', { allow: false, reason: 'no rule allows it' }],
    ['brace glob: start', 'POST /containers/abc/start', { allow: true, rule: 'test.yaml:rules[4]', reason: 'allowed by rule test.yaml:rules[4] (allow POST /containers/*/{start,stop})' }],
    ['brace glob: stop', 'POST /containers/abc/stop', { allow: true }],
    ['brace glob: not kill', 'POST /containers/abc/kill', { allow: false }],
    ['a deny glob wins over an allow by id', 'GET /containers/secret-db/json',
      { allow: false, rule: 'no-secret', reason: 'denied by rule no-secret (deny * /containers/secret*/**)' }],
    ['the deny glob does not touch other names', 'GET /containers/public/json', { allow: true, rule: 'read-containers' }],
    ['glob * does not cross /: a network name is one segment', 'GET /networks/bridge', { allow: true }],
    ['glob * does not cross /: more segments are not allowed', 'GET /networks/a/b', { allow: false }],
    ['operation ids do not care about the path (ContainerLogs with a / in the name)', 'GET /containers/web/db/logs', { allow: true, rule: 'read-containers' }],
  ])('%s: %s', (_name, line, expected) => {
    const d = decide(P, req(line))
    expect(d).toMatchObject({ policy: 'test', ...expected })
    if (d.reason === 'no rule allows it' || d.reason.startsWith('/_ping')) expect(d.rule).toBeUndefined()
  })

  test('deny wins whatever the order: a deny before the allow', () => {
    const p = policy('rules:\n  - deny: ContainerList\n  - allow: ContainerList\n')
    expect(decide(p, req('GET /containers/json'))).toMatchObject({ allow: false, rule: 'test.yaml:rules[0]' })
  })

  test('/_ping cannot be denied', () => {
    const p = policy('rules:\n  - deny: [SystemPing, SystemPingHead]\n  - deny: "* /**"\n')
    expect(decide(p, req('GET /_ping')).allow).toBe(true)
    expect(decide(p, req('HEAD /_ping')).allow).toBe(true)
    expect(decide(p, req('GET /version')).allow).toBe(false)
  })

  test('an empty policy allows nothing but /_ping', () => {
    const p = policy('rules: []\n')
    expect(decide(p, req('GET /_ping')).allow).toBe(true)
    expect(decide(p, req('GET /version'))).toEqual({ allow: false, policy: 'test', reason: 'no rule allows it' })
  })

  test('glob rules match the path, so a HEAD needs HEAD in the method list', () => {
    const p = policy('rules:\n  - allow: "GET /containers/*/archive"\n')
    expect(decide(p, req('GET /containers/c/archive')).allow).toBe(true)
    expect(decide(p, req('HEAD /containers/c/archive')).allow).toBe(false)
    expect(decide(p, req('PUT /containers/c/archive')).allow).toBe(false)
  })

  test('* as the method matches every method', () => {
    const p = policy('rules:\n  - allow: "* /containers/*/archive"\n')
    for (const m of ['GET', 'HEAD', 'PUT']) expect(decide(p, req(`${m} /containers/c/archive`)).allow).toBe(true)
  })

  test('a deny glob with * misses names with / — which is what the load-time warning says', () => {
    const p = policy('rules:\n  - allow: ContainerDelete\n  - deny: "DELETE /containers/*"\n')
    expect(decide(p, req('DELETE /containers/web')).allow).toBe(false)
    expect(decide(p, req('DELETE /containers/web/db')).allow).toBe(true)
    expect(p.warnings.map((w) => w.message)).toEqual([
      'rules[1].deny: "DELETE /containers/*" does not deny ContainerDelete on /containers/x/y: the engine accepts names with / there; deny the operation by id, or use ** for that segment',
    ])
  })

  test('decisions are frozen and reused (no allocation per request)', () => {
    const a = decide(P, req('GET /containers/json'))
    const b = decide(P, req('GET /containers/json'))
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
  })

  test('a parent rule is named as the parent wrote it', () => {
    const p = loadPolicy('test/fixtures/policies/good/ci.yaml', { cwd: repoRoot })
    expect(decide(p, req('GET /containers/json'))).toEqual({ allow: true, policy: 'ci', rule: 'containers', reason: 'allowed by rule containers (allow ContainerList)' })
    expect(decide(p, req('GET /containers/x/export'))).toEqual({ allow: false, policy: 'ci', rule: 'no-export', reason: 'denied by rule no-export (deny ContainerExport)' })
    expect(decide(p, req('GET /images/ghcr.io/a/b/json'))).toMatchObject({ allow: true, rule: 'images' })
    expect(decide(p, req('DELETE /images/ghcr.io/a/b'))).toMatchObject({ allow: false, reason: 'no rule allows it' })
  })
})

describe('presets decide as documented', () => {
  const readOnly = loadPolicy('read-only')
  const operator = loadPolicy('container-operator')
  const events = loadPolicy('events-only')
  const full = loadPolicy('full')

  test.each<[string, boolean, boolean, boolean, boolean]>([
    // request, read-only, container-operator, events-only, full
    ['HEAD /_ping', true, true, true, true],
    ['GET /version', true, true, true, true],
    ['GET /events', true, true, true, true],
    ['GET /info', true, true, false, true],
    ['GET /containers/json', true, true, false, true],
    ['GET /containers/c/json', true, true, false, true],
    ['GET /containers/c/logs', true, true, false, true],
    ['GET /containers/c/archive', false, false, false, true],
    ['HEAD /containers/c/archive', false, false, false, true],
    ['GET /containers/c/export', false, false, false, true],
    ['GET /images/get', false, false, false, true],
    ['GET /images/alpine/get', false, false, false, true],
    ['GET /swarm', false, false, false, true],
    ['GET /secrets/s', false, false, false, true],
    ['GET /configs/c', false, false, false, true],
    ['POST /containers/create', false, true, false, true],
    ['POST /containers/c/start', false, true, false, true],
    ['POST /containers/c/attach', false, true, false, true],
    ['POST /containers/c/exec', false, true, false, true],
    ['POST /exec/e/start', false, true, false, true],
    ['POST /images/create', false, true, false, true],
    ['POST /build', false, false, false, true],
    ['POST /containers/c/update', false, false, false, true],
    ['PUT /containers/c/archive', false, false, false, true],
    ['POST /session', false, false, false, true],
  ])('%s', (line, ro, op, ev, fu) => {
    const r = req(line)
    expect([decide(readOnly, r).allow, decide(operator, r).allow, decide(events, r).allow, decide(full, r).allow]).toEqual([ro, op, ev, fu])
  })
})
