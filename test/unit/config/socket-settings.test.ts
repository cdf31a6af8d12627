/**
 * `--socket-mode|owner|group` / DOCKGATE_SOCKET_* (defaults for unix listeners that set none in the
 * config file) and DOCKGATE_DEFAULT_LISTEN (the listener used when nothing else names one; the
 * image sets it to tcp://0.0.0.0:2375 so that a config file's listeners still win).
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { loadConfig, type Config } from '../../../src/config.js'
import { ConfigError, formatProblem } from '../../../src/problems.js'
import { FAKE_GETENT } from '../../support/nss.js'

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '')
const C = 'test/fixtures/configs'
const OPTS = { cwd: repoRoot, nss: { getent: FAKE_GETENT } }

function load(argv: string[], env: NodeJS.ProcessEnv): Config {
  const c = loadConfig(argv, env, OPTS)
  if (!('listeners' in c)) throw new Error('expected a Config')
  return c
}

function problems(argv: string[], env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(argv, env, OPTS)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem)
    throw err
  }
  throw new Error('expected a ConfigError')
}

/** `address mode uid gid` per listener. */
const brief = (c: Config): string[] =>
  c.listeners.map((l) => [
    l.address.kind === 'unix' ? `unix://${l.address.path}` : `tcp://${l.address.host}:${l.address.port}`,
    `0${l.mode.toString(8)}`, l.uid ?? '-', l.gid ?? '-',
  ].join(' '))

describe('socket mode, owner and group from flags and variables', () => {
  test.each([
    ['variables apply to a unix listener from DOCKGATE_LISTEN', [], { DOCKGATE_LISTEN: 'unix:///run/x.sock', DOCKGATE_SOCKET_MODE: '0666', DOCKGATE_SOCKET_OWNER: 'ci', DOCKGATE_SOCKET_GROUP: 'docker' }, ['unix:///run/x.sock 0666 1000 999']],
    ['numeric ids and a mode without the leading 0', [], { DOCKGATE_LISTEN: 'unix:///run/x.sock', DOCKGATE_SOCKET_MODE: '640', DOCKGATE_SOCKET_OWNER: '1001', DOCKGATE_SOCKET_GROUP: '1002' }, ['unix:///run/x.sock 0640 1001 1002']],
    ['flags beat variables', ['--listen', 'unix:///run/x.sock', '--socket-mode', '0600'], { DOCKGATE_SOCKET_MODE: '0666' }, ['unix:///run/x.sock 0600 - -']],
    ['TCP listeners are left alone', [], { DOCKGATE_LISTEN: 'tcp://0.0.0.0:2375,unix:///run/x.sock', DOCKGATE_SOCKET_GROUP: '999' }, ['tcp://0.0.0.0:2375 0660 - -', 'unix:///run/x.sock 0660 - 999']],
    ['the default listener is a unix socket too', [], { DOCKGATE_SOCKET_MODE: '0600' }, ['unix:///var/run/dockgate.sock 0600 - -']],
    ['the config file\'s own keys win, the rest is filled in', ['--config', `${C}/good.yaml`, '--socket-mode', '0666', '--socket-group', '0'], {}, [
      'unix:///run/dockgate/ci.sock 0660 1000 999', 'tcp://127.0.0.1:2375 0660 - -', 'unix:///run/dockgate/default.sock 0600 1000 999',
    ]],
  ] as const)('%s', (_name, argv, env, expected) => {
    expect(brief(load([...argv], { ...env }))).toEqual(expected)
  })

  test('a setting with no unix listener to apply to is a warning, not silence', () => {
    const c = load([], { DOCKGATE_LISTEN: 'tcp://127.0.0.1:2375', DOCKGATE_SOCKET_MODE: '0666' })
    expect(c.warnings).toEqual(['DOCKGATE_SOCKET_MODE: is not used: no listener is a unix socket'])
  })

  test('a mode open to everyone is a warning', () => {
    expect(load([], { DOCKGATE_LISTEN: 'unix:///run/x.sock', DOCKGATE_SOCKET_MODE: '0666' }).warnings).toEqual([
      'DOCKGATE_SOCKET_MODE: mode 0666 lets every local user connect to this socket',
    ])
  })

  test.each([
    ['a mode that is not octal', { DOCKGATE_SOCKET_MODE: '0888' }, 'DOCKGATE_SOCKET_MODE: "0888" is not an octal mode of at most 0777, like "0660"'],
    ['an unknown user', { DOCKGATE_SOCKET_OWNER: 'cj' }, `DOCKGATE_SOCKET_OWNER: unknown user "cj": \`getent passwd cj\` finds none (it asks /etc/passwd and any LDAP, SSSD or other NSS source of this host) (did you mean ci?)`],
    ['an unknown group', { DOCKGATE_SOCKET_GROUP: 'dockr' }, `DOCKGATE_SOCKET_GROUP: unknown group "dockr": \`getent group dockr\` finds none (it asks /etc/group and any LDAP, SSSD or other NSS source of this host) (did you mean docker?)`],
    ['an empty variable', { DOCKGATE_SOCKET_MODE: ' ' }, 'DOCKGATE_SOCKET_MODE: is set but empty; give a value or unset it'],
    ['a typo in the variable name', { DOCKGATE_SOCKET_MOD: '0660' }, 'DOCKGATE_SOCKET_MOD: unknown variable (did you mean DOCKGATE_SOCKET_MODE?)'],
  ] as const)('%s is a problem', (_name, env, message) => {
    expect(problems([], { DOCKGATE_LISTEN: 'unix:///run/x.sock', ...env })).toEqual([message])
  })
})

describe('DOCKGATE_DEFAULT_LISTEN', () => {
  test.each([
    ['replaces the built-in default', [], { DOCKGATE_DEFAULT_LISTEN: 'tcp://0.0.0.0:2375' }, ['tcp://0.0.0.0:2375 0660 - -']],
    ['is a comma-separated list', [], { DOCKGATE_DEFAULT_LISTEN: 'tcp://0.0.0.0:2375, unix:///run/d/s.sock' }, ['tcp://0.0.0.0:2375 0660 - -', 'unix:///run/d/s.sock 0660 - -']],
    ['DOCKGATE_LISTEN wins', [], { DOCKGATE_DEFAULT_LISTEN: 'tcp://0.0.0.0:2375', DOCKGATE_LISTEN: 'unix:///run/x.sock' }, ['unix:///run/x.sock 0660 - -']],
    ['--listen wins', ['--listen', 'tcp://127.0.0.1:1234'], { DOCKGATE_DEFAULT_LISTEN: 'tcp://0.0.0.0:2375' }, ['tcp://127.0.0.1:1234 0660 - -']],
    ['a config file\'s listeners win', ['--config', `${C}/good.yaml`], { DOCKGATE_DEFAULT_LISTEN: 'tcp://0.0.0.0:2375' }, [
      'unix:///run/dockgate/ci.sock 0660 1000 999', 'tcp://127.0.0.1:2375 0660 - -', 'unix:///run/dockgate/default.sock 0600 1000 999',
    ]],
    ['a config file without listeners does not', ['--config', `${C}/minimal.yaml`], { DOCKGATE_DEFAULT_LISTEN: 'tcp://0.0.0.0:2375' }, ['tcp://0.0.0.0:2375 0660 - -']],
  ] as const)('%s', (_name, argv, env, expected) => {
    expect(brief(load([...argv], { ...env }))).toEqual(expected)
  })

  test('a listener reachable from the network is logged as plaintext', () => {
    expect(load([], { DOCKGATE_DEFAULT_LISTEN: 'tcp://0.0.0.0:2375' }).warnings.join('\n')).toMatch(/^DOCKGATE_DEFAULT_LISTEN: tcp:\/\/0\.0\.0\.0:2375 is reachable from the network without TLS/)
  })

  test.each([
    ['empty', ' ', 'DOCKGATE_DEFAULT_LISTEN: is set but empty; give a value or unset it'],
    ['an empty item', 'tcp://0.0.0.0:2375,', 'DOCKGATE_DEFAULT_LISTEN: has an empty item in "tcp://0.0.0.0:2375," (a comma-separated list of addresses)'],
    ['not an address', '0.0.0.0:2375', 'DOCKGATE_DEFAULT_LISTEN: write tcp://0.0.0.0:2375 (got "0.0.0.0:2375")'],
  ] as const)('%s is a problem', (_name, value, message) => {
    expect(problems([], { DOCKGATE_DEFAULT_LISTEN: value })).toEqual([message])
  })
})
