/**
 * Tecnativa/LinuxServer variables → the "env" policy, against Tecnativa's own test matrix
 * (Tecnativa/docker-socket-proxy tests/test_service.py: variable sets × docker commands) and its
 * haproxy.cfg rules (transcribed below as the reference), with the documented differences.
 */
import { describe, expect, test } from 'vitest'
import { admitOffline } from '../../support/admit.js'
import { derivePolicy, readCompatEnv } from '../../../src/compat/tecnativa.js'
import { loadConfig, type Config } from '../../../src/config.js'
import { allOperations } from '../../../src/endpoints.js'
import { isDockgateError } from '../../../src/errors.js'
import { normalize } from '../../../src/normalize.js'
import type { CompiledPolicy } from '../../../src/policy/compile.js'
import { decide } from '../../../src/policy/decide.js'
import { ConfigError, formatProblem } from '../../../src/problems.js'

type Vars = Record<string, string>

/**
 * The env policy for `vars` in dockgate's image, which sets EVENTS=1 PING=1 VERSION=1 as
 * Tecnativa's does, through the same reader dockgate uses at start.
 */
function envPolicy(vars: Vars): CompiledPolicy {
  const r = readCompatEnv({ EVENTS: '1', PING: '1', VERSION: '1', ...vars }, { policyChosen: false })
  expect(r.problems).toEqual([])
  if (r.policy === undefined) throw new Error('no policy derived')
  return r.policy
}

/** True when every call passes the admission steps offline (bodies as JSON). */
function passes(policy: CompiledPolicy, calls: ReadonlyArray<readonly [string, string, unknown?]>): boolean {
  return calls.every(([method, target, body]) => {
    try {
      admitOffline(policy, method, target, body)
      return true
    } catch (err) {
      if (isDockgateError(err)) return false
      throw err
    }
  })
}

const C = 'test_container'
const PLAIN = { Image: 'alpine', HostConfig: { NetworkMode: 'none' } }
/** What the docker CLI (20.10, API 1.41) sends for each command of Tecnativa's tests. */
const CLI: Readonly<Record<string, ReadonlyArray<readonly [string, string, unknown?]>>> = {
  'version': [['HEAD', '/_ping'], ['GET', '/v1.41/version']],
  'pull alpine': [['HEAD', '/_ping'], ['POST', '/v1.41/images/create?fromImage=alpine&tag=latest']],
  'run --rm alpine': [['HEAD', '/_ping'], ['POST', '/v1.41/containers/create', { ...PLAIN, HostConfig: { ...PLAIN.HostConfig, AutoRemove: true } }],
    ['POST', `/v1.41/containers/${C}/attach?stderr=1&stdout=1&stream=1`], ['POST', `/v1.41/containers/${C}/wait?condition=removed`], ['POST', `/v1.41/containers/${C}/start`]],
  [`logs ${C}`]: [['HEAD', '/_ping'], ['GET', `/v1.41/containers/${C}/json`], ['GET', `/v1.41/containers/${C}/logs?stderr=1&stdout=1&tail=all`]],
  [`inspect ${C}`]: [['HEAD', '/_ping'], ['GET', `/v1.41/containers/${C}/json`]],
  [`wait ${C}`]: [['HEAD', '/_ping'], ['POST', `/v1.41/containers/${C}/wait`]],
  [`rm -f ${C}`]: [['HEAD', '/_ping'], ['DELETE', `/v1.41/containers/${C}?force=1`]],
  [`restart ${C}`]: [['HEAD', '/_ping'], ['POST', `/v1.41/containers/${C}/restart`]],
  [`exec ${C} ls`]: [['HEAD', '/_ping'], ['POST', `/v1.41/containers/${C}/exec`, { Cmd: ['ls'], AttachStdout: true, AttachStderr: true }],
    ['POST', '/v1.41/exec/e1/start', { Detach: false, Tty: false }], ['GET', '/v1.41/exec/e1/json']],
  'network ls': [['HEAD', '/_ping'], ['GET', '/v1.41/networks']],
  'network create foo': [['HEAD', '/_ping'], ['POST', '/v1.41/networks/create', { Name: 'foo', CheckDuplicate: true, Driver: 'bridge' }]],
  'network rm foo': [['HEAD', '/_ping'], ['DELETE', '/v1.41/networks/foo']],
  'config ls': [['HEAD', '/_ping'], ['GET', '/v1.41/configs']],
  'service ls': [['HEAD', '/_ping'], ['GET', '/v1.41/services']],
  'stack ls': [['HEAD', '/_ping'], ['GET', `/v1.41/services?filters=${encodeURIComponent('{"label":{"com.docker.stack.namespace":true}}')}`]],
  'secret ls': [['HEAD', '/_ping'], ['GET', '/v1.41/secrets']],
  'plugin ls': [['HEAD', '/_ping'], ['GET', '/v1.41/plugins']],
  'info': [['HEAD', '/_ping'], ['GET', '/v1.41/info']],
  'system info': [['HEAD', '/_ping'], ['GET', '/v1.41/info']],
  'build .': [['HEAD', '/_ping'], ['POST', '/v1.41/build?dockerfile=Dockerfile&rm=1&version=1']],
  'buildx build .': [['HEAD', '/_ping'], ['POST', '/session'], ['POST', '/grpc']],
  'swarm init': [['HEAD', '/_ping'], ['POST', '/v1.41/swarm/init', { ListenAddr: '0.0.0.0:2377' }]],
}

/** Tecnativa/docker-socket-proxy tests/test_service.py, test by test. */
const MATRIX: ReadonlyArray<{ name: string; vars: Vars; allowed: string[]; forbidden: string[] }> = [
  {
    name: 'test_default_permissions', vars: {}, allowed: ['version'],
    forbidden: ['pull alpine', 'run --rm alpine', `logs ${C}`, `wait ${C}`, `rm -f ${C}`, `restart ${C}`, 'network ls', 'config ls', 'service ls',
      'stack ls', 'secret ls', 'plugin ls', 'info', 'system info', 'build .', 'buildx build .', 'swarm init'],
  },
  { name: 'test_container_permissions', vars: { CONTAINERS: '1' }, allowed: [`logs ${C}`, `inspect ${C}`], forbidden: [`wait ${C}`, 'run --rm alpine', `rm -f ${C}`, `restart ${C}`] },
  { name: 'test_post_permissions', vars: { POST: '1' }, allowed: [], forbidden: [`rm -f ${C}`, 'pull alpine', 'run --rm alpine', 'network create foo'] },
  { name: 'test_network_post_permissions', vars: { POST: '1', NETWORKS: '1' }, allowed: ['network ls', 'network create foo', 'network rm foo'], forbidden: [] },
  { name: 'test_exec_permissions', vars: { CONTAINERS: '1', EXEC: '1', POST: '1' }, allowed: [`exec ${C} ls`], forbidden: [] },
]

describe("Tecnativa's test matrix", () => {
  const rows = MATRIX.flatMap((m) => [
    ...m.allowed.map((cmd) => [m.name, JSON.stringify(m.vars), cmd, true] as const),
    ...m.forbidden.map((cmd) => [m.name, JSON.stringify(m.vars), cmd, false] as const),
  ])
  test.each(rows)('%s %s: docker %s → %s', (_test, vars, cmd, allowed) => {
    expect(passes(envPolicy(JSON.parse(vars) as Vars), CLI[cmd]!)).toBe(allowed)
  })
})

/**
 * Tecnativa's haproxy.cfg as a function: `deny unless METH_GET || POST`, then ALLOW_RESTARTS,
 * ALLOW_START, ALLOW_STOP on /containers/<name>/<action>, then one prefix per section; a variable
 * is on when set to a non-zero integer, and EVENTS, PING, VERSION default to 1 (Dockerfile).
 */
function haproxy(vars: Vars, method: string, path: string): boolean {
  const on = (v: string): boolean => Number.parseInt(vars[v] ?? (['EVENTS', 'PING', 'VERSION'].includes(v) ? '1' : '0'), 10) !== 0
  if (!(method === 'GET' || method === 'HEAD') && !on('POST')) return false
  const action = /^\/containers\/[a-zA-Z0-9_.-]+\/((stop)|(restart)|(kill)|(start))/i.exec(path)?.[1]?.toLowerCase()
  if (action !== undefined && ['stop', 'restart', 'kill'].includes(action) && on('ALLOW_RESTARTS')) return true
  if (action === 'start' && on('ALLOW_START')) return true
  if (action === 'stop' && on('ALLOW_STOP')) return true
  const sections = ['auth', 'build', 'commit', 'configs', 'containers', 'distribution', 'events', 'exec', 'grpc', 'images', 'info',
    'networks', 'nodes', '_ping', 'plugins', 'secrets', 'services', 'session', 'swarm', 'system', 'tasks', 'version', 'volumes']
  return sections.some((s) => new RegExp(`^/${s}`, 'i').test(path) && on(s === '_ping' ? 'PING' : s.toUpperCase()))
}

const SETS: readonly Vars[] = [
  {}, { CONTAINERS: '1' }, { POST: '1' }, { CONTAINERS: '1', POST: '1' }, { CONTAINERS: '1', EXEC: '1', POST: '1' },
  { EVENTS: '0', PING: '0', VERSION: '0' }, { IMAGES: '1', INFO: '1', NETWORKS: '1', VOLUMES: '1', SERVICES: '1', TASKS: '1', NODES: '1' },
  { ALLOW_START: '1', ALLOW_STOP: '1' }, { ALLOW_RESTARTS: '1', POST: '1' }, { CONTAINERS: '1', ALLOW_RESTARTS: '1' },
  { BUILD: '1', SESSION: '1', POST: '1' }, { AUTH: '1', SECRETS: '1', CONFIGS: '1', PLUGINS: '1', SWARM: '1', SYSTEM: '1', DISTRIBUTION: '1', COMMIT: '1', POST: '1' },
  Object.fromEntries(['AUTH', 'BUILD', 'COMMIT', 'CONFIGS', 'CONTAINERS', 'DISTRIBUTION', 'EVENTS', 'EXEC', 'GRPC', 'IMAGES', 'INFO', 'NETWORKS',
    'NODES', 'PING', 'PLUGINS', 'POST', 'SECRETS', 'SERVICES', 'SESSION', 'SWARM', 'SYSTEM', 'TASKS', 'VERSION', 'VOLUMES'].map((v) => [v, '1'])),
]

/** The three documented differences (and /_ping), as a function of the variables and the operation. */
function difference(vars: Vars, id: string): boolean | undefined {
  const on = (v: string): boolean => vars[v] === '1'
  // /_ping is always allowed; file access needs ALLOW_ARCHIVE / ALLOW_EXPORT (none of these sets has them).
  if (id === 'SystemPing' || id === 'SystemPingHead') return true
  if (['ContainerArchive', 'ContainerArchiveInfo', 'ContainerExport', 'PutContainerArchive'].includes(id)) return false
  // The container actions work without POST=1.
  if (id === 'ContainerStart' && on('ALLOW_START')) return true
  if (id === 'ContainerStop' && (on('ALLOW_STOP') || on('ALLOW_RESTARTS'))) return true
  if ((id === 'ContainerRestart' || id === 'ContainerKill') && on('ALLOW_RESTARTS')) return true
  return undefined
}

describe("every operation decides as Tecnativa's haproxy.cfg does, but for the documented differences", () => {
  const rows = SETS.flatMap((vars) => allOperations().map((op) => [JSON.stringify(vars), op.method, op.template, op.id] as const))
  test.each(rows)('%s: %s %s', (varsText, method, template, id) => {
    const vars = JSON.parse(varsText) as Vars
    const path = template.replace(/\{[^}]+\}/g, 'x')
    const op = allOperations().find((o) => o.id === id)!
    const want = difference(vars, id) ?? haproxy(vars, method, path)
    expect(decide(envPolicy(vars), { method: op.method, path, operation: op }).allow).toBe(want)
  })
})

describe('the documented differences', () => {
  test.each([
    ['POST=1 CONTAINERS=1: a plain run works', { CONTAINERS: '1', POST: '1' }, 'run --rm alpine', true],
    ['ALLOW_RESTARTS=1 without POST: restart works (LinuxServer)', { ALLOW_RESTARTS: '1' }, `restart ${C}`, true],
    ['CONTAINERS=1 IMAGES=1 POST=1: docker pull works', { CONTAINERS: '1', IMAGES: '1', POST: '1' }, 'pull alpine', true],
  ])('%s', (_name, vars, cmd, want) => {
    expect(passes(envPolicy(vars), CLI[cmd]!)).toBe(want)
  })

  test.each([
    ['privileged', { Image: 'alpine', HostConfig: { Privileged: true } }],
    ['a host bind of /', { Image: 'alpine', HostConfig: { Binds: ['/:/host'] } }],
    ['the docker socket', { Image: 'alpine', HostConfig: { Binds: ['/var/run/docker.sock:/var/run/docker.sock'] } }],
    ['host network', { Image: 'alpine', HostConfig: { NetworkMode: 'host' } }],
    ['a privileged HostConfig field at the top level', { Image: 'alpine', Privileged: true }],
  ])('CONTAINERS=1 POST=1 still refuses a create with %s (body guards stay on)', (_name, body) => {
    expect(passes(envPolicy({ CONTAINERS: '1', POST: '1' }), [['POST', '/v1.41/containers/create', body]])).toBe(false)
  })

  test.each([
    ['IMAGES=1 POST=1: an import (any content under any name)', { IMAGES: '1', POST: '1' }, 'POST', '/v1.41/images/create?fromSrc=-&repo=busybox&tag=test'],
    ['IMAGES=1 POST=1: fromSrc URL', { IMAGES: '1', POST: '1' }, 'POST', '/v1.41/images/create?fromSrc=http%3A%2F%2F169.254.169.254%2F'],
    ['BUILD=1 POST=1: a remote context', { BUILD: '1', POST: '1' }, 'POST', '/v1.41/build?remote=https%3A%2F%2Fgithub.com%2Fx%2Fy.git'],
    ['BUILD=1 POST=1: networkmode=host', { BUILD: '1', POST: '1' }, 'POST', '/v1.41/build?networkmode=host'],
    ['SWARM=1 POST=1: swarm init', { SWARM: '1', POST: '1' }, 'POST', '/v1.41/swarm/init'],
    ['PLUGINS=1 POST=1: plugin install', { PLUGINS: '1', POST: '1' }, 'POST', '/v1.41/plugins/pull?remote=vieux%2Fsshfs'],
    ['CONTAINERS=1: GET …/archive (Tecnativa lets it through)', { CONTAINERS: '1' }, 'GET', '/v1.41/containers/c/archive?path=%2Fetc'],
    ['CONTAINERS=1: GET …/export', { CONTAINERS: '1' }, 'GET', '/v1.41/containers/c/export'],
    ['CONTAINERS=1 POST=1: PUT …/archive', { CONTAINERS: '1', POST: '1' }, 'PUT', '/v1.41/containers/c/archive?path=%2F'],
    ['ALLOW_ARCHIVE=1 without CONTAINERS', { ALLOW_ARCHIVE: '1' }, 'GET', '/v1.41/containers/c/archive?path=%2Fetc'],
    ['ALLOW_ARCHIVE=1 CONTAINERS=1: writing still needs POST', { ALLOW_ARCHIVE: '1', CONTAINERS: '1' }, 'PUT', '/v1.41/containers/c/archive?path=%2F'],
    ['ALLOW_LOGS=0 CONTAINERS=1: LinuxServer\'s explicit 0 closes logs', { ALLOW_LOGS: '0', CONTAINERS: '1' }, 'GET', '/v1.41/containers/c/logs?stdout=1'],
    ['GRPC=1 without POST', { GRPC: '1' }, 'POST', '/grpc'],
  ])('refused: %s', (_name, vars, method, target) => {
    expect(passes(envPolicy(vars), [[method, target]])).toBe(false)
  })

  test.each([
    ['ALLOW_ARCHIVE=1 CONTAINERS=1: docker cp out', { ALLOW_ARCHIVE: '1', CONTAINERS: '1' }, 'GET', '/v1.41/containers/c/archive?path=%2Fetc'],
    ['ALLOW_ARCHIVE=1 CONTAINERS=1 POST=1: docker cp in', { ALLOW_ARCHIVE: '1', CONTAINERS: '1', POST: '1' }, 'PUT', '/v1.41/containers/c/archive?path=%2F'],
    ['ALLOW_EXPORT=1 CONTAINERS=1: docker export', { ALLOW_EXPORT: '1', CONTAINERS: '1' }, 'GET', '/v1.41/containers/c/export'],
    ['CONTAINERS=1: logs, top and changes follow CONTAINERS', { CONTAINERS: '1' }, 'GET', '/v1.41/containers/c/top'],
    ['CONTAINERS=1 ALLOW_LOGS=1: logs', { CONTAINERS: '1', ALLOW_LOGS: '1' }, 'GET', '/v1.41/containers/c/logs?stdout=1'],
    ['PING=0: /_ping stays allowed', { PING: '0' }, 'HEAD', '/_ping'],
    ['BUILD=1 SESSION=1 POST=1: a BuildKit build', { BUILD: '1', SESSION: '1', POST: '1' }, 'POST', '/v1.41/build?remote=client-session&session=abc&version=2'],
    ['GRPC=1 POST=1: /grpc, asked for by name', { GRPC: '1', POST: '1' }, 'POST', '/grpc'],
    ['ALLOW_PAUSE=1: pause (LinuxServer)', { ALLOW_PAUSE: '1' }, 'POST', '/v1.41/containers/c/pause'],
  ])('allowed: %s', (_name, vars, method, target) => {
    expect(passes(envPolicy(vars), [[method, target]])).toBe(true)
  })

  test('GRPC=1 POST=1 loosens only guards.build.grpc; ALLOW_ARCHIVE=1 POST=1 only guards.archive.write', () => {
    expect(envPolicy({ GRPC: '1', POST: '1' }).guards.build).toMatchObject({ grpc: true, remote: false, networkHost: false })
    expect(envPolicy({ ALLOW_ARCHIVE: '1', CONTAINERS: '1', POST: '1' }).guards.archive.write).toBe(true)
    expect(envPolicy({ CONTAINERS: '1', POST: '1' }).guards.archive.write).toBe(false)
    expect(envPolicy({ CONTAINERS: '1', POST: '1' }).guards.container.privileged).toBe(false)
  })
})

describe('reading the variables', () => {
  test.each([
    ['true', 'CONTAINERS: "true" is not 0 or 1'],
    ['yes', 'CONTAINERS: "yes" is not 0 or 1'],
    [' 1', 'CONTAINERS: " 1" is not 0 or 1'],
    ['2', 'CONTAINERS: "2" is not 0 or 1'],
    ['', 'CONTAINERS: is set but empty'],
  ])('CONTAINERS=%j is refused, naming the variable', (value, start) => {
    const r = readCompatEnv({ CONTAINERS: value }, { policyChosen: false })
    expect(r.policy).toBeUndefined()
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]!.message.startsWith(`${start}; write CONTAINERS=1 to allow or CONTAINERS=0 to deny`)).toBe(true)
  })

  test('no variable set: no policy (dockgate\'s default applies)', () => {
    expect(readCompatEnv({ HOME: '/root' }, { policyChosen: false })).toEqual({ problems: [], warnings: [] })
  })

  test('the image\'s EVENTS=1 PING=1 VERSION=1 alone: Tecnativa\'s defaults', () => {
    const p = envPolicy({ EVENTS: '1', PING: '1', VERSION: '1' })
    expect(p.name).toBe('env')
    expect(p.rules.filter((r) => r.effect === 'allow').flatMap((r) => r.operations).sort()).toEqual(['SystemEvents', 'SystemPing', 'SystemPingHead', 'SystemVersion'])
  })

  test('with a policy chosen, permission variables are ignored with a warning naming them (the image\'s defaults are not named)', () => {
    const r = readCompatEnv({ CONTAINERS: '1', POST: 'yes', EVENTS: '1', PING: '1', VERSION: '1' }, { policyChosen: true })
    expect(r.policy).toBeUndefined()
    expect(r.problems).toEqual([])
    expect(r.warnings.map((w) => w.message)).toEqual(['CONTAINERS=1 POST=yes: ignored (dockgate reads Tecnativa-style variables only when no --policy, --config, DOCKGATE_POLICY or DOCKGATE_CONFIG is given)'])
    expect(readCompatEnv({ EVENTS: '1', PING: '1', VERSION: '1' }, { policyChosen: true }).warnings).toEqual([])
  })

  test.each([
    ['emerg', 'fatal'], ['alert', 'fatal'], ['crit', 'fatal'], ['err', 'error'], ['warning', 'warn'], ['notice', 'info'], ['info', 'info'],
    ['debug', 'debug'], ['WARNING', 'warn'], ['trace', 'trace'], ['silent', 'silent'],
  ])('LOG_LEVEL=%s is pino level %s', (value, level) => {
    expect(readCompatEnv({ LOG_LEVEL: value }, { policyChosen: true }).logLevel).toEqual({ value: level, origin: 'LOG_LEVEL' })
  })

  test('an unknown LOG_LEVEL, a relative SOCKET_PATH, SESSION without a build are problems', () => {
    expect(readCompatEnv({ LOG_LEVEL: 'verbose' }, { policyChosen: true }).problems.map((p) => p.message)).toEqual([
      'LOG_LEVEL: unknown level "verbose"; use HAProxy\'s emerg, alert, crit, err, warning, notice, info, debug or dockgate\'s fatal, error, warn, info, debug, trace, silent',
    ])
    expect(readCompatEnv({ SOCKET_PATH: 'docker.sock' }, { policyChosen: true }).problems.map((p) => p.message)).toEqual([
      'SOCKET_PATH: "docker.sock" is not an absolute socket path (like /var/run/docker.sock); for TCP set DOCKGATE_UPSTREAM=tcp://HOST:PORT',
    ])
    expect(readCompatEnv({ SESSION: '1', POST: '1' }, { policyChosen: false }).problems.map((p) => p.message)).toEqual([
      'SESSION=1: /session only serves a BuildKit build; set BUILD=1 (or GRPC=1) too, or SESSION=0',
    ])
  })

  test('warnings: PING=0, ALLOW_EXPORT without CONTAINERS, libpod variables', () => {
    const r = readCompatEnv({ PING: '0', ALLOW_EXPORT: '1', LIBPOD_CONTAINERS: '1', LIBPOD_EVENTS: '0' }, { policyChosen: false })
    expect(r.warnings.map((w) => w.message)).toEqual([
      'LIBPOD_CONTAINERS: ignored (dockgate does not serve Podman\'s libpod API)',
      'ALLOW_EXPORT=1: has no effect without CONTAINERS=1',
      'PING=0: /_ping stays allowed (every client negotiates the API version with it)',
    ])
  })

  test('refusals name the env policy and the variable rule that allowed a call', () => {
    const p = derivePolicy(new Map([['CONTAINERS', true]]))
    const op = allOperations().find((o) => o.id === 'ContainerList')!
    expect(decide(p, { method: 'GET', path: '/containers/json', operation: op })).toMatchObject({ allow: true, policy: 'env', rule: 'CONTAINERS' })
  })
})

describe('the hook in loadConfig', () => {
  const load = (argv: string[], env: Vars): Config => {
    const c = loadConfig(['--listen', 'unix:///tmp/dockgate-compat-test.sock', ...argv], env)
    if ('help' in c || 'version' in c) throw new Error('unexpected')
    return c
  }

  test('no policy chosen and CONTAINERS=1: every listener gets the env policy', () => {
    const c = load([], { CONTAINERS: '1' })
    expect(c.listeners[0]!.policy.name).toBe('env')
    expect(c.warnings).toEqual([])
  })

  test('--policy wins and the variables are named in a warning', () => {
    const c = load(['--policy', 'traefik'], { CONTAINERS: '1', POST: '0' })
    expect(c.listeners[0]!.policy.name).toBe('traefik')
    expect(c.warnings).toEqual(['CONTAINERS=1 POST=0: ignored (dockgate reads Tecnativa-style variables only when no --policy, --config, DOCKGATE_POLICY or DOCKGATE_CONFIG is given)'])
  })

  test('DOCKGATE_POLICY wins as well', () => {
    expect(load([], { DOCKGATE_POLICY: 'dozzle', CONTAINERS: '1' }).listeners[0]!.policy.name).toBe('dozzle')
  })

  test('no variables: the read-only default', () => {
    expect(load([], {}).listeners[0]!.policy.name).toBe('read-only')
  })

  test('LOG_LEVEL and SOCKET_PATH, below their DOCKGATE_ names', () => {
    const c = load([], { LOG_LEVEL: 'warning', SOCKET_PATH: '/run/balena-engine.sock' })
    expect(c.logLevel).toBe('warn')
    expect(c.upstream).toEqual({ kind: 'unix', path: '/run/balena-engine.sock' })
    const d = load(['--upstream', 'unix:///var/run/docker.sock'], { LOG_LEVEL: 'warning', DOCKGATE_LOG_LEVEL: 'debug', SOCKET_PATH: '/run/balena-engine.sock' })
    expect(d.logLevel).toBe('debug')
    expect(d.upstream).toEqual({ kind: 'unix', path: '/var/run/docker.sock' })
  })

  test('a value that does not parse stops dockgate with every problem named', () => {
    let err: unknown
    try {
      load([], { CONTAINERS: 'true', POST: 'no', LOG_LEVEL: 'loud' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).problems.map(formatProblem).map((m) => m.split(';')[0])).toEqual([
      'LOG_LEVEL: unknown level "loud"',
      'CONTAINERS: "true" is not 0 or 1',
      'POST: "no" is not 0 or 1',
    ])
  })
})
