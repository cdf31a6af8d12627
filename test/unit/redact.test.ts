/**
 * Redaction of the engine's answers (src/redact/): each site form on the shapes the engine writes,
 * with near misses; fail-closed shapes; which operations a policy's kinds reach; the bounded read
 * (size, budget, content type, encoding) and exact re-encoding of numbers.
 */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { describe, expect, test } from 'vitest'
import { BodyBudget } from '../../src/body.js'
import { allOperations } from '../../src/endpoints.js'
import { isDockgateError } from '../../src/errors.js'
import { REDACT_KINDS, type RedactKind, type RedactRules } from '../../src/policy/redact.js'
import { applyRedaction, RedactShapeError, redactPlan, type RedactPlan } from '../../src/redact/apply.js'
import { parseEngineJson, readAndRedact } from '../../src/redact/response.js'
import { REDACTED } from '../../src/redact/sites.js'
import type { Operation } from '../../src/types.js'

const R = REDACTED
const B64 = Buffer.from(REDACTED).toString('base64')
const op = (id: string): Operation => allOperations().find((o) => o.id === id)!
const rules = (kinds: readonly RedactKind[], keepEnv: readonly string[] = []): RedactRules => ({ kinds, keepEnv })
const ALL = rules(REDACT_KINDS)
const plan = (id: string, r: RedactRules = ALL): RedactPlan => redactPlan(r, op(id))!

/** Redacts a copy of `doc`; returns the result and the kinds that replaced something. */
function run(id: string, doc: unknown, r: RedactRules = ALL): { doc: unknown; kinds: RedactKind[] } {
  const copy: unknown = structuredClone(doc)
  const kinds = [...applyRedaction(copy, plan(id, r))]
  return { doc: copy, kinds }
}

describe('container environment: names stay, values go', () => {
  test.each([
    ['values replaced', ['A=1', 'PASSWORD=hunter2'], [`A=${R}`, `PASSWORD=${R}`]],
    ['an = inside the value', ['URL=postgres://u:p@h/db?x=1'], [`URL=${R}`]],
    ['an empty value is hidden too (emptiness is a fact)', ['EMPTY='], [`EMPTY=${R}`]],
    ['a name without = carries no value and stays', ['UNSET', 'B=2'], ['UNSET', `B=${R}`]],
    ['a name that starts with =', ['=C:=C:\\x'], [`=${R}`]],
  ])('%s', (_name, env, expected) => {
    expect(run('ContainerInspect', { Id: 'x', Config: { Env: env, Image: 'busybox' } })).toEqual({ doc: { Id: 'x', Config: { Env: expected, Image: 'busybox' } }, kinds: ['container_env'] })
  })

  test.each([
    ['exact name', ['VIRTUAL_HOST'], ['VIRTUAL_HOST=a.example', `SECRET=${R}`, `VIRTUAL_PORT=${R}`]],
    ['a prefix glob', ['VIRTUAL_*'], ['VIRTUAL_HOST=a.example', `SECRET=${R}`, 'VIRTUAL_PORT=80']],
    ['names are case-sensitive: virtual_* keeps nothing', ['virtual_*'], [`VIRTUAL_HOST=${R}`, `SECRET=${R}`, `VIRTUAL_PORT=${R}`]],
    ['a glob is anchored: VIRTUAL keeps nothing', ['VIRTUAL'], [`VIRTUAL_HOST=${R}`, `SECRET=${R}`, `VIRTUAL_PORT=${R}`]],
    ['regex characters are literal: VIRTUAL.HOST keeps nothing', ['VIRTUAL.HOST'], [`VIRTUAL_HOST=${R}`, `SECRET=${R}`, `VIRTUAL_PORT=${R}`]],
  ])('keep: %s', (_name, keep, expected) => {
    const doc = { Config: { Env: ['VIRTUAL_HOST=a.example', 'SECRET=s', 'VIRTUAL_PORT=80'] } }
    expect(run('ContainerInspect', doc, rules(['container_env'], keep)).doc).toEqual({ Config: { Env: expected } })
  })

  test('keep applies to containers, not to plugin settings', () => {
    expect(run('PluginInspect', { Settings: { Env: ['VIRTUAL_HOST=x'] }, Config: { Env: [{ Name: 'VIRTUAL_HOST', Value: 'd' }] } }, rules(['plugin_env'], ['VIRTUAL_*'])).doc)
      .toEqual({ Settings: { Env: [`VIRTUAL_HOST=${R}`] }, Config: { Env: [{ Name: 'VIRTUAL_HOST', Value: 'd' }] } })
  })
})

describe('each operation\'s sites', () => {
  const task = (env: string[]) => ({ ContainerSpec: { Env: env, Mounts: [{ VolumeOptions: { DriverConfig: { Name: 'local', Options: { o: 'password=p' } } } }] }, LogDriver: { Name: 'splunk', Options: { 'splunk-token': 't' } } })
  const taskOut = { ContainerSpec: { Env: [`A=${R}`], Mounts: [{ VolumeOptions: { DriverConfig: { Name: 'local', Options: { o: R } } } }] }, LogDriver: { Name: 'splunk', Options: { 'splunk-token': R } } }
  test.each([
    ['ContainerInspect: env, log options, mount volume options', 'ContainerInspect',
      { Config: { Env: ['A=1'] }, HostConfig: { LogConfig: { Type: 'splunk', Config: { 'splunk-token': 't', 'splunk-url': 'https://s' } }, Mounts: [{ Type: 'volume', VolumeOptions: { DriverConfig: { Options: { type: 'cifs', o: 'username=u,password=p' } } } }, { Type: 'bind' }] } },
      { Config: { Env: [`A=${R}`] }, HostConfig: { LogConfig: { Type: 'splunk', Config: { 'splunk-token': R, 'splunk-url': R } }, Mounts: [{ Type: 'volume', VolumeOptions: { DriverConfig: { Options: { type: R, o: R } } } }, { Type: 'bind' }] } },
      ['container_env', 'log_options', 'volume_options']],
    ['ImageInspect: Config.Env and ContainerConfig.Env (docker commit copies a container\'s env)', 'ImageInspect',
      { Config: { Env: ['PATH=/bin'] }, ContainerConfig: { Env: ['S=1'] } }, { Config: { Env: [`PATH=${R}`] }, ContainerConfig: { Env: [`S=${R}`] } }, ['container_env']],
    ['ServiceInspect: spec and previous spec', 'ServiceInspect',
      { Spec: { TaskTemplate: task(['A=1']) }, PreviousSpec: { TaskTemplate: task(['A=0']) } }, { Spec: { TaskTemplate: taskOut }, PreviousSpec: { TaskTemplate: taskOut } },
      ['container_env', 'volume_options', 'log_options']],
    ['ServiceList: every service', 'ServiceList', [{ Spec: { TaskTemplate: task(['A=1']) } }, { Spec: { TaskTemplate: task(['A=2']) } }],
      [{ Spec: { TaskTemplate: taskOut } }, { Spec: { TaskTemplate: taskOut } }], ['container_env', 'volume_options', 'log_options']],
    ['TaskList', 'TaskList', [{ Spec: task(['A=1']) }], [{ Spec: taskOut }], ['container_env', 'volume_options', 'log_options']],
    ['SwarmInspect: join tokens and default log options', 'SwarmInspect',
      { JoinTokens: { Worker: 'SWMTKN-1-w', Manager: 'SWMTKN-1-m' }, Spec: { TaskDefaults: { LogDriver: { Name: 'x', Options: { k: 'v' } } } } },
      { JoinTokens: { Worker: R, Manager: R }, Spec: { TaskDefaults: { LogDriver: { Name: 'x', Options: { k: R } } } } }, ['swarm_join_tokens', 'log_options']],
    ['SwarmUnlockkey', 'SwarmUnlockkey', { UnlockKey: 'SWMKEY-1-x' }, { UnlockKey: R }, ['swarm_unlock_key']],
    ['SystemInfo: the swarm\'s default log options', 'SystemInfo', { Swarm: { Cluster: { Spec: { TaskDefaults: { LogDriver: { Options: { k: 'v' } } } } } } },
      { Swarm: { Cluster: { Spec: { TaskDefaults: { LogDriver: { Options: { k: R } } } } } } }, ['log_options']],
    ['SecretList: base64 of the marker, so the CLI can decode it', 'SecretList', [{ Spec: { Name: 's', Data: 'c2VjcmV0' } }], [{ Spec: { Name: 's', Data: B64 } }], ['secret_data']],
    ['SecretInspect: the options of an external secret driver', 'SecretInspect', { Spec: { Driver: { Name: 'vault', Options: { token: 't' } } } }, { Spec: { Driver: { Name: 'vault', Options: { token: R } } } }, ['secret_data']],
    ['ConfigInspect', 'ConfigInspect', { Spec: { Name: 'c', Data: 'Y29uZmln' } }, { Spec: { Name: 'c', Data: B64 } }, ['config_data']],
    ['PluginList', 'PluginList', [{ Settings: { Env: ['KEY=v'] } }], [{ Settings: { Env: [`KEY=${R}`] } }], ['plugin_env']],
    ['VolumeInspect', 'VolumeInspect', { Name: 'v', Options: { device: '//h/s', o: 'password=p' } }, { Name: 'v', Options: { device: R, o: R } }, ['volume_options']],
    ['VolumeList', 'VolumeList', { Volumes: [{ Options: { o: 'p' } }, { Options: null }], Warnings: null }, { Volumes: [{ Options: { o: R } }, { Options: null }], Warnings: null }, ['volume_options']],
    ['SystemDataUsage: its volumes', 'SystemDataUsage', { Volumes: [{ Options: { o: 'p' } }], Containers: [] }, { Volumes: [{ Options: { o: R } }], Containers: [] }, ['volume_options']],
  ])('%s', (_name, id, doc, expected, kinds) => {
    expect(run(id, doc)).toEqual({ doc: expected, kinds })
  })

  test.each([
    ['fields absent', 'ContainerInspect', { Id: 'x' }],
    ['fields null (the engine writes null for empty lists and maps)', 'ContainerInspect', { Config: { Env: null }, HostConfig: { LogConfig: { Config: null }, Mounts: null } }],
    ['empty join tokens (not a manager)', 'SwarmInspect', { JoinTokens: { Worker: '', Manager: '' } }],
    ['an empty list', 'ServiceList', []],
    ['a map value that is null', 'VolumeInspect', { Options: { o: null } }],
  ])('nothing to hide: %s', (_name, id, doc) => {
    expect(run(id, doc)).toEqual({ doc, kinds: [] })
  })

  test.each([
    ['Env a string', 'ContainerInspect', { Config: { Env: 'A=1' } }, 'Config.Env: expected a list of NAME=value'],
    ['an Env entry not a string', 'ContainerInspect', { Config: { Env: [1] } }, 'Config.Env: expected a list of NAME=value'],
    ['Config a list', 'ContainerInspect', { Config: [] }, 'Config.Env: expected an object before Env'],
    ['Mounts an object', 'ContainerInspect', { HostConfig: { Mounts: { a: 1 } } }, 'HostConfig.Mounts[].VolumeOptions.DriverConfig.Options: expected a list at step 3'],
    ['a list answer that is an object', 'ServiceList', { Spec: {} }, '[].Spec.TaskTemplate.ContainerSpec.Env: expected a list at step 1'],
    ['a token that is a number', 'SwarmUnlockkey', { UnlockKey: 5 }, 'UnlockKey: expected a string'],
    ['options a list', 'VolumeInspect', { Options: ['o=p'] }, 'Options: expected a mapping of options'],
  ])('an unexpected shape is refused, not guessed at: %s', (_name, id, doc, message) => {
    expect(() => run(id, doc)).toThrow(new RedactShapeError(message))
  })
})

describe('which answers are read at all', () => {
  test.each([
    ['an operation whose answer has nothing to hide', ALL, 'ContainerList', undefined],
    ['ExecInspect: its ProcessConfig has no environment', ALL, 'ExecInspect', undefined],
    ['ContainerTop: process arguments are not redactable', ALL, 'ContainerTop', undefined],
    ['a policy that redacts nothing', rules([]), 'ContainerInspect', undefined],
    ['a policy whose kinds are not in this answer', rules(['secret_data']), 'ContainerInspect', undefined],
  ])('none: %s', (_name, r, id, expected) => {
    expect(redactPlan(r, op(id))).toBe(expected)
  })

  test('only the sites of the kinds the policy redacts', () => {
    expect(plan('ContainerInspect', rules(['log_options'])).sites.map((s) => s.path)).toEqual(['HostConfig.LogConfig.Config'])
  })

  test('one plan per policy and operation, made once', () => {
    expect(plan('ContainerInspect')).toBe(plan('ContainerInspect'))
  })
})

/** The engine's address, as refusals name it. */
const ENGINE = 'unix:///run/docker.sock'

/** An engine answer as readAndRedact sees one (headers, status, a body stream). */
function answer(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): IncomingMessage {
  return Object.assign(Readable.from([Buffer.from(body)]), { headers, statusCode: 200 }) as unknown as IncomingMessage
}

const reading = (budget = new BodyBudget(1 << 20), limitBytes = 1 << 20) => ({ plan: plan('ContainerInspect'), limitBytes, budget })

describe('reading an answer to redact it', () => {
  test('re-encoded after redaction; integers beyond 2^53 keep every digit', async () => {
    const got = await readAndRedact(answer('{"Config":{"Env":["A=1"]},"HostConfig":{"Memory":9223372036854775807,"CpuShares":0.5}}\n'), reading(), 'ContainerInspect', ENGINE)
    expect(got.body.toString()).toBe(`{"Config":{"Env":["A=${R}"]},"HostConfig":{"Memory":9223372036854775807,"CpuShares":0.5}}\n`)
    expect(got.kinds).toEqual(['container_env'])
  })

  test.each([
    ['the largest safe integer, no reviver needed', '{"Size":9007199254740991}', 9007199254740991],
    ['one beyond it', '{"Size":9007199254740993}', '9007199254740993'],
    ['negative', '{"Size":-9223372036854775808}', '-9223372036854775808'],
  ])('numbers: %s', (_name, text, expected) => {
    const doc = parseEngineJson(text) as { Size: unknown }
    expect(JSON.stringify(doc)).toBe(text)
    expect(typeof expected === 'number' ? doc.Size : JSON.stringify(doc.Size)).toBe(expected)
  })

  test('nothing to hide: the engine\'s own bytes', async () => {
    const text = '{ "Config": {"Env": null}, "Size": 12345678901234567890 }\n'
    const got = await readAndRedact(answer(text), reading(), 'ContainerInspect', ENGINE)
    expect(got.body.toString()).toBe(text)
    expect(got.kinds).toEqual([])
  })

  test('the held bytes count against the budget until released', async () => {
    const budget = new BodyBudget(1 << 20)
    const got = await readAndRedact(answer('{"Config":{"Env":["A=1"]}}'), reading(budget), 'ContainerInspect', ENGINE)
    expect(budget.held).toBe(26)
    got.release()
    got.release()
    expect(budget.held).toBe(0)
  })

  test.each([
    ['over limits.response_bytes (declared)', answer('{}', { 'content-type': 'application/json', 'content-length': '100' }), reading(undefined, 10), 'DG_LIMIT_RESPONSE_SIZE',
      'the answer of the Docker engine at unix:///run/docker.sock to ContainerInspect is larger than 10 bytes (limits.response_bytes); the policy redacts values in it, so it must be read whole; it was not forwarded'],
    ['over limits.response_bytes (chunked)', answer('{"Config":{"Env":["A=1"]}}'), reading(undefined, 10), 'DG_LIMIT_RESPONSE_SIZE', undefined],
    ['over the shared budget', answer('{"Config":{"Env":["A=1"]}}'), reading(new BodyBudget(5)), 'DG_LIMIT_BODY_BUDGET', undefined],
    ['not JSON', answer('<html>'), reading(), 'DG_UPSTREAM_UNREADABLE', undefined],
    ['another content type', answer('{}', { 'content-type': 'text/plain' }), reading(), 'DG_UPSTREAM_UNREADABLE',
      'the answer of the Docker engine at unix:///run/docker.sock to ContainerInspect could not be read to redact it (Content-Type "text/plain", not application/json); it was not forwarded'],
    ['compressed', answer('{}', { 'content-type': 'application/json', 'content-encoding': 'gzip' }), reading(), 'DG_UPSTREAM_UNREADABLE', undefined],
    ['an unexpected shape', answer('{"Config":{"Env":"A=1"}}'), reading(), 'DG_UPSTREAM_UNREADABLE',
      'the answer of the Docker engine at unix:///run/docker.sock to ContainerInspect could not be read to redact it (Config.Env: expected a list of NAME=value); it was not forwarded'],
  ])('refused, never forwarded unredacted: %s', async (_name, res, r, code, message) => {
    const err: unknown = await readAndRedact(res, r, 'ContainerInspect', ENGINE).then(() => undefined, (e: unknown) => e)
    expect(isDockgateError(err) && err.code).toBe(code)
    if (message !== undefined) expect((err as Error).message).toBe(message)
    expect(r.budget.held).toBe(0)
  })
})
