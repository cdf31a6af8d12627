/**
 * loadConfig: precedence (flags > env > config file > defaults), every invalid flag, variable and
 * config value with its message, and every problem reported together.
 * Fixtures: test/fixtures/configs/ (with their own passwd and group files).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { DEFAULTS, loadConfig, usage, type Config } from '../../../src/config.js'
import { ConfigError, formatProblem } from '../../../src/problems.js'
import { FAKE_GETENT } from '../../support/nss.js'
import { listPresets } from '../../../src/policy/presets.js'

/** The shipped presets, as the "unknown preset" message lists them. */
const PRESETS = listPresets().join(', ')

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '')
const C = 'test/fixtures/configs'
const OPTS = { cwd: repoRoot, nss: { getent: FAKE_GETENT } }

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const c = loadConfig(argv, env, OPTS)
  if ('help' in c || 'version' in c) throw new Error('expected a Config')
  return c
}

function problems(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(argv, env, OPTS)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem)
    throw err
  }
  throw new Error('expected a ConfigError')
}

/** A listener as `address policy mode uid gid`, for compact tables. */
const brief = (c: Config): string[] =>
  c.listeners.map((l) => [
    l.address.kind === 'unix' ? `unix://${l.address.path}` : `tcp://${l.address.host}:${l.address.port}`,
    l.policy.name, `0${l.mode.toString(8)}`, l.uid ?? '-', l.gid ?? '-',
  ].join(' '))

describe('defaults', () => {
  test('no flags, no variables, no file', () => {
    const c = config([])
    expect(c).toMatchObject({
      upstream: { kind: 'unix', path: '/var/run/docker.sock' },
      logLevel: 'info',
      limits: { bodyBytes: 1048576, bodyTimeoutMs: 30000, bodyBudgetBytes: 134217728, lookupTimeoutMs: 10000, responseBytes: 33554432 },
      warnings: [],
    })
    expect(c.admin).toBeUndefined()
    expect(c.configFile).toBeUndefined()
    expect(brief(c)).toEqual(['unix:///var/run/dockgate.sock read-only 0660 - -'])
  })

  test('the defaults object is frozen and holds what the issue asks for', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true)
    expect(DEFAULTS).toEqual({
      upstream: 'unix:///var/run/docker.sock', policy: 'read-only', listen: 'unix:///var/run/dockgate.sock',
      logLevel: 'info', socketMode: 0o660, bodyBytes: 1024 * 1024, bodyTimeoutMs: 30_000,
      bodyBudgetBytes: 128 * 1024 * 1024, lookupTimeoutMs: 10_000, responseBytes: 32 * 1024 * 1024,
    })
  })

  test('the config is deep-frozen', () => {
    const c = config(['--config', `${C}/good.yaml`])
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.listeners)).toBe(true)
    expect(Object.isFrozen(c.listeners[0])).toBe(true)
    expect(Object.isFrozen(c.listeners[0]?.address)).toBe(true)
    expect(Object.isFrozen(c.limits)).toBe(true)
    expect(Object.isFrozen(c.listeners[0]?.policy)).toBe(true)
  })
})

describe('the config file', () => {
  test('good.yaml: every key', () => {
    const c = config(['--config', `${C}/good.yaml`])
    expect(c).toMatchObject({
      upstream: { kind: 'unix', path: '/var/run/docker.sock' },
      admin: { kind: 'tcp', host: '127.0.0.1', port: 9102 },
      logLevel: 'debug',
      limits: { bodyBytes: 65536, bodyTimeoutMs: 5000, bodyBudgetBytes: 8388608, lookupTimeoutMs: 2000 },
      configFile: `${repoRoot}/${C}/good.yaml`,
      warnings: [],
    })
    expect(brief(c)).toEqual([
      'unix:///run/dockgate/ci.sock container-operator 0660 1000 999', // owner/group by name
      'tcp://127.0.0.1:2375 dashboard 0660 - -', // policy path relative to the config file
      'unix:///run/dockgate/default.sock read-only 0600 1000 999', // numeric owner/group, mode without a leading 0
    ])
  })

  test('an empty file (comments only) means all defaults', () => {
    expect(brief(config(['--config', `${C}/empty.yaml`]))).toEqual(['unix:///var/run/dockgate.sock read-only 0660 - -'])
  })

  test('IPv6 upstream', () => {
    expect(config(['--config', `${C}/minimal.yaml`]).upstream).toEqual({ kind: 'tcp', host: '::1', port: 2376 })
  })

  test.each<[string, string, string[]]>([
    ['unknown keys, bad log level, bad limits, missing listen', 'broken-keys.yaml', [
      `${C}/broken-keys.yaml:1:1: upstrem: unknown key "upstrem" (did you mean upstream? allowed keys: upstream, admin, log_level, limits, listeners)`,
      `${C}/broken-keys.yaml:2:12: log_level: unknown log level "verbose"; use fatal, error, warn, info, debug, trace, silent`,
      `${C}/broken-keys.yaml:3:23: limits.body_bytes: must be at least 1, not 0`,
      `${C}/broken-keys.yaml:3:26: limits.body_timout_ms: unknown key "body_timout_ms" (did you mean body_timeout_ms? allowed keys: body_bytes, body_timeout_ms, body_budget_bytes, lookup_timeout_ms, response_bytes)`,
      `${C}/broken-keys.yaml:6:5: listeners[0].polcy: unknown key "polcy" (did you mean policy? allowed keys: listen, policy, mode, socket_mode, owner, group, tls, tenant, clients)`,
      `${C}/broken-keys.yaml:7:5: listeners[1]: missing key "listen"`,
    ]],
    ['duplicate YAML key', 'broken-syntax.yaml', [
      `${C}/broken-syntax.yaml:4:5: duplicate key "listen"`,
    ]],
    ['every kind of bad value, and the problems of the policies it names', 'broken-values.yaml', [
      `${C}/broken-values.yaml:1:11: upstream: unsupported scheme "http://"; use unix:///path.sock or tcp://HOST:PORT (got "http://localhost:2375")`,
      `${C}/broken-values.yaml:2:8: admin: the port is missing: tcp://HOST:PORT (got "tcp://127.0.0.1")`,
      `${C}/broken-values.yaml:4:13: listeners[0].listen: the unix socket path must be absolute, as in unix:///run/dockgate.sock (got "unix://run/relative.sock")`,
      `${C}/broken-values.yaml:5:13: listeners[1].listen: port 99999 is out of range (0–65535) (got "tcp://127.0.0.1:99999")`,
      `${C}/broken-values.yaml:6:13: listeners[2].listen: write an IPv6 address in brackets, as in tcp://[::1]:2375 (got "tcp://::1:2375")`,
      `${C}/broken-values.yaml:8:11: listeners[3].mode: write the mode as a quoted octal string, like "0660" (unquoted, YAML reads 660 as a decimal number)`,
      `${C}/broken-values.yaml:9:12: listeners[3].owner: unknown user "nobody-here": \`getent passwd nobody-here\` finds none (it asks /etc/passwd and any LDAP, SSSD or other NSS source of this host)`,
      `${C}/broken-values.yaml:10:12: listeners[3].group: unknown group "dockr": \`getent group dockr\` finds none (it asks /etc/group and any LDAP, SSSD or other NSS source of this host) (did you mean docker?)`,
      `${C}/broken-values.yaml:12:11: listeners[4].mode: "0999" is not an octal mode of at most 0777, like "0660"`,
      `${C}/broken-values.yaml:14:11: listeners[5].mode: applies to unix sockets only, not to tcp://127.0.0.1:2375`,
      `${C}/broken-values.yaml:15:12: listeners[5].owner: applies to unix sockets only, not to tcp://127.0.0.1:2375`,
      `${C}/broken-values.yaml:16:13: listeners[6].listen: unix:///run/a.sock is already the address of another listener (${C}/broken-values.yaml:7:13)`,
      `${C}/broken-values.yaml:17:13: listeners[6].policy: unknown preset "reed-only" (did you mean read-only?); presets: ${PRESETS}`,
      `${C}/broken-values.yaml:21:13: listeners[8].policy: cannot read policy "./policies/missing.yaml": no such file`,
      `${C}/policies/broken.yaml:2:12: rules[0].allow: unknown operation "ContainerLst" (did you mean ContainerList, ContainerLogs or ContainerStop?)`,
    ]],
    ['two different policies with the same name', 'duplicate-names.yaml', [
      `${C}/duplicate-names.yaml:5:13: listeners[1].policy: policy name "dashboard" is also the name of ${C}/policies/dashboard.yaml; names label logs and metrics, so they must differ (set "name:" in one of them)`,
    ]],
    ['a listener on the upstream or admin address', 'self-loop.yaml', [
      `${C}/self-loop.yaml:4:13: listeners[0].listen: unix:///run/engine.sock is the upstream engine's address; dockgate would forward to itself`,
      `${C}/self-loop.yaml:5:13: listeners[1].listen: tcp://127.0.0.1:2375 is also the admin address`,
    ]],
  ])('%s (%s)', (_name, file, expected) => {
    expect(problems(['--config', `${C}/${file}`])).toEqual(expected)
  })

  test('the same policy file on several listeners is one compiled policy (and not a name clash)', () => {
    const c = config(['--listen', 'unix:///a.sock', '--listen', 'unix:///b.sock'])
    expect(c.listeners[0]?.policy).toBe(c.listeners[1]?.policy)
  })

  test('warnings: network-reachable listener and admin, a world-writable socket', () => {
    expect(config(['--config', `${C}/exposed.yaml`]).warnings).toEqual([
      `${C}/exposed.yaml:1:8: admin: tcp://0.0.0.0:9102 serves metrics and health to the network; bind it to 127.0.0.1 unless that is intended`,
      `${C}/exposed.yaml:3:13: listeners[0].listen: tcp://0.0.0.0:2375 is reachable from the network without TLS: anyone who can connect gets what policy "read-only" allows`,
      `${C}/exposed.yaml:5:11: listeners[1].mode: mode 0666 lets every local user connect to this socket`,
    ])
  })

  test('policy warnings come with the config warnings', () => {
    const c = config(['--policy', 'test/fixtures/policies/warn/empty-rules.yaml'])
    expect(c.warnings).toEqual(['test/fixtures/policies/warn/empty-rules.yaml:1:1: rules: the policy has no rules: it allows nothing but /_ping'])
  })

  test.each<[string, string[], string[]]>([
    ['missing config file', ['--config', 'nope.yaml'], ['--config: cannot read "nope.yaml": no such file']],
    ['config file is a directory', ['--config', 'test'], ['--config: cannot read "test": is a directory']],
  ])('%s', (_name, argv, expected) => {
    expect(problems(argv)).toEqual(expected)
  })

  test('DOCKGATE_CONFIG names the file when --config does not', () => {
    expect(problems([], { DOCKGATE_CONFIG: 'nope.yaml' })).toEqual(['DOCKGATE_CONFIG: cannot read "nope.yaml": no such file'])
    expect(config(['--config', `${C}/minimal.yaml`], { DOCKGATE_CONFIG: 'nope.yaml' }).upstream).toMatchObject({ port: 2376 })
  })
})

describe('precedence: flags > env > config file > defaults', () => {
  test.each<[string, string[], NodeJS.ProcessEnv, string]>([
    ['default', [], {}, 'unix:///var/run/docker.sock'],
    ['file over default', ['--config', `${C}/minimal.yaml`], {}, 'tcp://::1:2376'],
    ['env over file', ['--config', `${C}/minimal.yaml`], { DOCKGATE_UPSTREAM: 'unix:///env.sock' }, 'unix:///env.sock'],
    ['flag over env', ['--config', `${C}/minimal.yaml`, '--upstream', 'unix:///flag.sock'], { DOCKGATE_UPSTREAM: 'unix:///env.sock' }, 'unix:///flag.sock'],
  ])('upstream: %s', (_name, argv, env, expected) => {
    const u = config(argv, env).upstream
    expect(u.kind === 'unix' ? `unix://${u.path}` : `tcp://${u.host}:${u.port}`).toBe(expected)
  })

  test.each<[string, string[], NodeJS.ProcessEnv, string]>([
    ['default', [], {}, 'info'],
    ['file', ['--config', `${C}/good.yaml`], {}, 'debug'],
    ['env over file', ['--config', `${C}/good.yaml`], { DOCKGATE_LOG_LEVEL: 'warn' }, 'warn'],
    ['flag over env', ['--config', `${C}/good.yaml`, '--log-level', 'trace'], { DOCKGATE_LOG_LEVEL: 'warn' }, 'trace'],
  ])('log level: %s', (_name, argv, env, expected) => {
    expect(config(argv, env).logLevel).toBe(expected)
  })

  test.each<[string, string[], NodeJS.ProcessEnv, string | undefined]>([
    ['none by default', [], {}, undefined],
    ['file', ['--config', `${C}/good.yaml`], {}, '127.0.0.1:9102'],
    ['env over file', ['--config', `${C}/good.yaml`], { DOCKGATE_ADMIN: 'tcp://127.0.0.1:9200' }, '127.0.0.1:9200'],
    ['flag over env', ['--admin', 'tcp://[::1]:9300'], { DOCKGATE_ADMIN: 'tcp://127.0.0.1:9200' }, '::1:9300'],
  ])('admin: %s', (_name, argv, env, expected) => {
    const a = config(argv, env).admin
    expect(a === undefined ? undefined : a.kind === 'tcp' ? `${a.host}:${a.port}` : a.path).toBe(expected)
  })

  test.each<[string, string[], NodeJS.ProcessEnv, string[]]>([
    ['the default listener and policy', [], {},
      ['unix:///var/run/dockgate.sock read-only 0660 - -']],
    ['--policy sets the default listener\'s policy', ['--policy', 'events-only'], {},
      ['unix:///var/run/dockgate.sock events-only 0660 - -']],
    ['DOCKGATE_POLICY likewise', [], { DOCKGATE_POLICY: 'events-only' },
      ['unix:///var/run/dockgate.sock events-only 0660 - -']],
    ['--policy over DOCKGATE_POLICY', ['--policy', 'full'], { DOCKGATE_POLICY: 'events-only' },
      ['unix:///var/run/dockgate.sock full 0660 - -']],
    ['--listen (several) replaces the default listener', ['--listen', 'unix:///a.sock', '--listen', 'tcp://127.0.0.1:2375'], {},
      ['unix:///a.sock read-only 0660 - -', 'tcp://127.0.0.1:2375 read-only 0660 - -']],
    ['DOCKGATE_LISTEN, comma-separated', [], { DOCKGATE_LISTEN: 'unix:///a.sock,unix:///b.sock', DOCKGATE_POLICY: 'events-only' },
      ['unix:///a.sock events-only 0660 - -', 'unix:///b.sock events-only 0660 - -']],
    ['--listen over DOCKGATE_LISTEN', ['--listen', 'unix:///flag.sock'], { DOCKGATE_LISTEN: 'unix:///env.sock' },
      ['unix:///flag.sock read-only 0660 - -']],
    ['the config file\'s listeners', ['--config', `${C}/good.yaml`], {},
      ['unix:///run/dockgate/ci.sock container-operator 0660 1000 999', 'tcp://127.0.0.1:2375 dashboard 0660 - -', 'unix:///run/dockgate/default.sock read-only 0600 1000 999']],
    ['--policy applies to config listeners that name none', ['--config', `${C}/good.yaml`, '--policy', 'events-only'], {},
      ['unix:///run/dockgate/ci.sock container-operator 0660 1000 999', 'tcp://127.0.0.1:2375 dashboard 0660 - -', 'unix:///run/dockgate/default.sock events-only 0600 1000 999']],
    ['--listen replaces the config file\'s listeners, with --policy', ['--config', `${C}/good.yaml`, '--listen', 'unix:///x.sock', '--policy', 'events-only'], {},
      ['unix:///x.sock events-only 0660 - -']],
    ['DOCKGATE_LISTEN replaces them too', ['--config', `${C}/good.yaml`], { DOCKGATE_LISTEN: 'unix:///x.sock' },
      ['unix:///x.sock read-only 0660 - -']],
    ['a --policy file path is relative to the working directory', ['--policy', './test/fixtures/configs/policies/dashboard.yaml'], {},
      ['unix:///var/run/dockgate.sock dashboard 0660 - -']],
  ])('listeners: %s', (_name, argv, env, expected) => {
    expect(brief(config(argv, env))).toEqual(expected)
  })

  test('--policy that no listener uses is a warning', () => {
    expect(config(['--config', `${C}/all-named.yaml`, '--policy', 'full']).warnings).toEqual([
      '--policy: is not used: every listener in the config file names its own policy',
    ])
    expect(config(['--config', `${C}/good.yaml`, '--policy', 'full']).warnings).toEqual([])
  })
})

describe('invalid flags and variables, each with its message', () => {
  test.each<[string, string[], NodeJS.ProcessEnv, string[]]>([
    ['bad --listen', ['--listen', 'unix://relative.sock'], {},
      ['--listen: the unix socket path must be absolute, as in unix:///run/dockgate.sock (got "unix://relative.sock")']],
    ['bad DOCKGATE_LISTEN item', [], { DOCKGATE_LISTEN: 'unix:///a.sock,localhost:2375' },
      ['DOCKGATE_LISTEN: write tcp://localhost:2375 (got "localhost:2375")']],
    ['the same --listen twice', ['--listen', 'unix:///a.sock', '--listen', 'unix:///a.sock'], {},
      ['--listen: unix:///a.sock is already the address of another listener (--listen)']],
    ['port 0 may repeat (each binds its own free port)', ['--listen', 'tcp://127.0.0.1:0', '--listen', 'tcp://127.0.0.1:0'], {}, []],
    ['bad --upstream', ['--upstream', '/var/run/docker.sock'], {},
      ['--upstream: write unix:///var/run/docker.sock (got "/var/run/docker.sock")']],
    ['bad DOCKGATE_UPSTREAM', [], { DOCKGATE_UPSTREAM: 'tcp://docker:0' },
      ['DOCKGATE_UPSTREAM: port 0 is out of range (1–65535) (got "tcp://docker:0")']],
    ['bad --admin', ['--admin', 'tcp://127.0.0.1'], {},
      ['--admin: the port is missing: tcp://HOST:PORT (got "tcp://127.0.0.1")']],
    ['--admin on the upstream', ['--admin', 'tcp://127.0.0.1:2375', '--upstream', 'tcp://127.0.0.1:2375'], {},
      ['--admin: tcp://127.0.0.1:2375 is the upstream engine\'s address']],
    ['bad --log-level', ['--log-level', 'inf'], {},
      ['--log-level: unknown log level "inf" (did you mean info?); use fatal, error, warn, info, debug, trace, silent']],
    ['bad DOCKGATE_LOG_LEVEL', [], { DOCKGATE_LOG_LEVEL: 'WARN' },
      ['DOCKGATE_LOG_LEVEL: unknown log level "WARN" (did you mean warn?); use fatal, error, warn, info, debug, trace, silent']],
    ['unknown --policy preset', ['--policy', 'read-onyl'], {},
      [`--policy: unknown preset "read-onyl" (did you mean read-only?); presets: ${PRESETS}`]],
    ['missing DOCKGATE_POLICY file', [], { DOCKGATE_POLICY: './nope.yaml' },
      ['DOCKGATE_POLICY: cannot read policy "./nope.yaml": no such file']],
    ['a broken --policy file: its problems, at their place', ['--policy', 'test/fixtures/policies/broken/unguarded.yaml'], {},
      ['test/fixtures/policies/broken/unguarded.yaml:2:1: unguarded: only the shipped preset "full" may turn body guards off; write "extends: [full]" instead']],
    ['a stray argument', ['run'], {},
      ['unexpected argument "run" (dockgate takes only options; see --help)']],
    ['a listener on the upstream socket', ['--listen', 'unix:///var/run/docker.sock'], {},
      ['--listen: unix:///var/run/docker.sock is the upstream engine\'s address; dockgate would forward to itself']],
  ])('%s', (_name, argv, env, expected) => {
    if (expected.length === 0) expect(() => config(argv, env)).not.toThrow()
    else expect(problems(argv, env)).toEqual(expected)
  })

  test('a non-loopback --listen is a warning, not an error', () => {
    expect(config(['--listen', 'tcp://0.0.0.0:2375']).warnings).toEqual([
      '--listen: tcp://0.0.0.0:2375 is reachable from the network without TLS: anyone who can connect gets what policy "read-only" allows',
    ])
  })

  test('every problem from flags, variables, the file and its policies, in one error', () => {
    expect(problems(
      ['--lisen', 'x', '--upstream', 'http://x', '--config', `${C}/broken-keys.yaml`, '--log-level', 'loud'],
      { DOCKGATE_POLCY: 'full', DOCKGATE_ADMIN: '', DOCKGATE_LISTEN: 'unix://rel.sock' },
    )).toEqual([
      '--lisen: unknown option (did you mean --listen?)',
      'DOCKGATE_POLCY: unknown variable (did you mean DOCKGATE_POLICY?)',
      'DOCKGATE_ADMIN: is set but empty; give a value or unset it',
      '--upstream: unsupported scheme "http://"; use unix:///path.sock or tcp://HOST:PORT (got "http://x")',
      '--log-level: unknown log level "loud"; use fatal, error, warn, info, debug, trace, silent',
      'DOCKGATE_LISTEN: the unix socket path must be absolute, as in unix:///run/dockgate.sock (got "unix://rel.sock")',
      `${C}/broken-keys.yaml:1:1: upstrem: unknown key "upstrem" (did you mean upstream? allowed keys: upstream, admin, log_level, limits, listeners)`,
      // log_level in the file is overridden by --log-level, so its bad value is not read
      `${C}/broken-keys.yaml:3:23: limits.body_bytes: must be at least 1, not 0`,
      `${C}/broken-keys.yaml:3:26: limits.body_timout_ms: unknown key "body_timout_ms" (did you mean body_timeout_ms? allowed keys: body_bytes, body_timeout_ms, body_budget_bytes, lookup_timeout_ms, response_bytes)`,
      `${C}/broken-keys.yaml:6:5: listeners[0].polcy: unknown key "polcy" (did you mean policy? allowed keys: listen, policy, mode, socket_mode, owner, group, tls, tenant, clients)`,
      `${C}/broken-keys.yaml:7:5: listeners[1]: missing key "listen"`,
    ])
  })
})

describe('--help and --version', () => {
  test('--help wins over everything else, even problems', () => {
    const r = loadConfig(['--lisen', 'x', '--help'], { DOCKGATE_POLICY: '' }, OPTS)
    expect(r).toEqual({ help: usage() })
  })

  test('usage lists every flag with its variable, the defaults and the presets', () => {
    const text = usage()
    for (const s of ['--config FILE', 'DOCKGATE_CONFIG', '--listen ADDR', 'DOCKGATE_LISTEN', '--upstream ADDR', 'DOCKGATE_UPSTREAM',
      '--policy NAME|FILE', 'DOCKGATE_POLICY', '--admin ADDR', 'DOCKGATE_ADMIN', '--log-level LEVEL', 'DOCKGATE_LOG_LEVEL',
      '-h, --help', '--version', 'default unix:///var/run/docker.sock', 'default read-only', 'default unix:///var/run/dockgate.sock']) {
      expect(text).toContain(s)
    }
    expect(text).toMatch(/^ {2}read-only +list and inspect/m)
    expect(text).toMatch(/^ {2}full +EVERYTHING/m)
    expect(text).toMatch(/^ {2}events-only +/m)
    expect(text).toMatch(/^ {2}container-operator +/m)
  })

  test('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string }
    expect(loadConfig(['--version'], {}, OPTS)).toEqual({ version: `dockgate ${pkg.version}` })
  })
})
