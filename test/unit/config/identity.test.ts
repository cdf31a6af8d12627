/**
 * Config for who is calling: a listener's `tls:`, `clients:` and `tenant:`, the --tls-* flags and
 * DOCKGATE_TLS_* variables — what loads, every problem with its place and text, and the warnings.
 * Certificates are made with the openssl CLI into a temporary directory (test/support/tls.ts).
 */
import { listPresets } from '../../../src/policy/presets.js'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadConfig, type Config } from '../../../src/config.js'
import { ConfigError, formatProblem } from '../../../src/problems.js'
import { FAKE_GETENT } from '../../support/nss.js'
import { makeCerts, type TestCerts } from '../../support/tls.js'

const fixtures = fileURLToPath(new URL('../../fixtures/configs', import.meta.url))
let certs: TestCerts
let dir: string

beforeAll(() => {
  certs = makeCerts({ ci: '/CN=ci-runner' })
  dir = mkdtempSync(join(tmpdir(), 'dockgate-identity-'))
  for (const f of ['ca.pem', 'server.pem', 'server.key', 'client-ci.pem', 'client-ci.key']) copyFileSync(join(certs.dir, f), join(dir, f))
  writeFileSync(join(dir, 'not-pem.pem'), 'hello\n')
  writeFileSync(join(dir, 'bad-block.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
  writeFileSync(join(dir, 'encrypted.key'), '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n')
  writeFileSync(join(dir, 'dash-a.yaml'), 'name: dash\nrules:\n  - allow: ContainerList\n')
  writeFileSync(join(dir, 'dash-b.yaml'), 'name: dash\nrules:\n  - allow: ContainerInspect\n')
})

afterAll(() => {
  certs?.remove()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const OPTS = () => ({ cwd: dir, nss: { getent: FAKE_GETENT } })

/** Writes `yaml` as dockgate.yaml in the scratch directory and loads it with `argv` and `env`. */
function load(yaml: string | undefined, argv: string[] = [], env: NodeJS.ProcessEnv = {}): Config | string[] {
  if (yaml !== undefined) writeFileSync(join(dir, 'dockgate.yaml'), yaml)
  try {
    const c = loadConfig([...(yaml === undefined ? [] : ['--config', 'dockgate.yaml']), ...argv], env, OPTS())
    if ('help' in c || 'version' in c) throw new Error('expected a Config')
    return c
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem)
    throw err
  }
}

function config(yaml: string | undefined, argv: string[] = [], env: NodeJS.ProcessEnv = {}): Config {
  const c = load(yaml, argv, env)
  if (Array.isArray(c)) throw new Error(`unexpected problems:\n${c.join('\n')}`)
  return c
}

const TLS = 'tls: { cert: server.pem, key: server.key, ca: ca.pem }'

describe('what loads', () => {
  test('the issue\'s example: clients by uid on a shared socket, by subject on mutual TLS', () => {
    const c = config([
      'listeners:',
      '  - listen: unix:///run/dockgate/shared.sock',
      '    mode: "0666"',
      '    policy: read-only',
      '    clients:',
      '      - match: { uid: 1000 }',
      '        policy: container-operator',
      '        tenant: alice',
      '      - match: { gid: docker }',
      '        policy: events-only',
      '        name: docker-group',
      '  - listen: tcp://127.0.0.1:2376',
      '    policy: read-only',
      `    ${TLS}`,
      '    tenant: shared',
      '    clients:',
      '      - match: { subject: "CN=ci-runner" }',
      '        policy: ./dash-a.yaml',
    ].join('\n'))
    const [unix, tcp] = c.listeners
    expect(unix?.clients.map((e) => [e.label, e.match, e.policy.name, e.tenant])).toEqual([
      ['clients[0]', { kind: 'uid', uid: 1000 }, 'container-operator', 'alice'],
      ['docker-group', { kind: 'gid', gid: 999 }, 'events-only', undefined],
    ])
    expect(unix?.tls).toBeUndefined()
    expect(tcp?.clients.map((e) => [e.label, e.match, e.policy.name])).toEqual([['clients[0]', { kind: 'subject', subject: { CN: ['ci-runner'] }, text: 'CN=ci-runner' }, 'dash']])
    expect(tcp?.tenant).toBe('shared')
    expect(tcp?.tls).toMatchObject({ subject: 'CN=localhost', cert: expect.stringContaining('BEGIN CERTIFICATE'), ca: expect.stringContaining('BEGIN CERTIFICATE') })
    expect(Object.isFrozen(tcp?.clients[0]?.match)).toBe(true)
    expect(c.warnings).toEqual(['dockgate.yaml:3:11: listeners[0].mode: mode 0666 lets every local user connect to this socket'])
  })

  test('a listener without clients has an empty list and no TLS', () => {
    expect(config('listeners:\n  - listen: unix:///a.sock\n').listeners[0]).toMatchObject({ clients: [] })
  })

  test.each<[string, string[], NodeJS.ProcessEnv]>([
    ['flags', ['--listen', 'tcp://127.0.0.1:2376', '--tls-cert', 'server.pem', '--tls-key', 'server.key', '--tls-ca', 'ca.pem'], {}],
    ['variables', ['--listen', 'tcp://127.0.0.1:2376'], { DOCKGATE_TLS_CERT: 'server.pem', DOCKGATE_TLS_KEY: 'server.key', DOCKGATE_TLS_CA: 'ca.pem' }],
  ])('TLS from %s serves tcp:// listeners', (_name, argv, env) => {
    const l = config(undefined, argv, env).listeners[0]
    expect(l?.tls?.subject).toBe('CN=localhost')
    expect(l?.tls?.ca).toContain('BEGIN CERTIFICATE')
  })

  test('flags serve the tcp:// listeners without tls: of their own; unix listeners are left alone', () => {
    const c = config(['listeners:', '  - listen: unix:///a.sock', '  - listen: tcp://127.0.0.1:1', '  - listen: tcp://127.0.0.1:2', `    ${TLS}`].join('\n'),
      ['--tls-cert', 'client-ci.pem', '--tls-key', 'client-ci.key'])
    expect(c.listeners.map((l) => l.tls?.subject ?? '-')).toEqual(['-', 'CN=ci-runner', 'CN=localhost'])
  })
})

describe('problems, each at its place', () => {
  const L = (lines: string[]): string => ['listeners:', ...lines].join('\n')
  test.each<[string, string, Array<string | RegExp>]>([
    ['an unknown key in an entry', L(['  - listen: unix:///a.sock', '    clients:', '      - match: { uid: 1000 }', '        polcy: full', '        policy: full']), [
      'dockgate.yaml:5:9: listeners[0].clients[0].polcy: unknown key "polcy" (did you mean policy? allowed keys: match, policy, tenant, name)',
    ]],
    ['an unknown key in match', L(['  - listen: unix:///a.sock', '    clients:', '      - match: { pid: 1 }', '        policy: full']), [
      'dockgate.yaml:4:16: listeners[0].clients[0].match: give one of uid, gid or subject',
      'dockgate.yaml:4:18: listeners[0].clients[0].match.pid: unknown key "pid" (did you mean gid or uid? allowed keys: uid, gid, subject)',
    ]],
    ['two things to match', L(['  - listen: unix:///a.sock', '    clients:', '      - match: { uid: 1000, gid: 1000 }', '        policy: full']), [
      'dockgate.yaml:4:16: listeners[0].clients[0].match: give one of uid, gid or subject, not uid and gid: an entry matches on one thing',
    ]],
    ['an entry without policy', L(['  - listen: unix:///a.sock', '    clients:', '      - match: { uid: 1000 }', '        tenant: alice']), [
      'dockgate.yaml:4:9: listeners[0].clients[0]: missing key "policy"',
    ]],
    ['uid and gid on a TCP listener', L(['  - listen: tcp://127.0.0.1:2375', '    clients:', '      - { match: { uid: 1000 }, policy: full }', '      - { match: { gid: 0 }, policy: full }']), [
      'dockgate.yaml:4:25: listeners[0].clients[0].match.uid: matches unix-socket peer credentials; tcp://127.0.0.1:2375 is TCP, where the peer\'s uid is not known',
      'dockgate.yaml:5:25: listeners[0].clients[1].match.gid: matches unix-socket peer credentials; tcp://127.0.0.1:2375 is TCP, where the peer\'s gid is not known',
    ]],
    ['subject on a plain TCP listener', L(['  - listen: tcp://127.0.0.1:2375', '    clients:', '      - { match: { subject: CN=ci-runner }, policy: full }']), [
      'dockgate.yaml:4:29: listeners[0].clients[0].match.subject: needs a TLS listener (tls: or --tls-cert): tcp://127.0.0.1:2375 has no client certificates to match',
    ]],
    ['subject on a unix socket', L(['  - listen: unix:///a.sock', '    clients:', '      - { match: { subject: CN=ci-runner }, policy: full }']), [
      'dockgate.yaml:4:29: listeners[0].clients[0].match.subject: needs a TLS listener (tls: or --tls-cert): unix:///a.sock has no client certificates to match',
    ]],
    ['subject on TLS without a client CA', L(['  - listen: tcp://127.0.0.1:2375', '    tls: { cert: server.pem, key: server.key }', '    clients:', '      - { match: { subject: CN=ci-runner }, policy: full }']), [
      'dockgate.yaml:5:29: listeners[0].clients[0].match.subject: needs a client CA (tls.ca or --tls-ca): without one tcp://127.0.0.1:2375 asks for no client certificate, so no subject is known',
    ]],
    ['a subject that does not parse', L(['  - listen: tcp://127.0.0.1:2375', `    ${TLS}`, '    clients:', '      - { match: { subject: "CN=a,,O=b" }, policy: full }']), [
      'dockgate.yaml:5:29: listeners[0].clients[0].match.subject: an empty attribute (two commas in a row, or a comma at an end)',
    ]],
    ['an unknown user and group', L(['  - listen: unix:///a.sock', '    clients:', '      - { match: { uid: nobody-here }, policy: full }', '      - { match: { gid: dockr }, policy: full }']), [
      'dockgate.yaml:4:25: listeners[0].clients[0].match.uid: unknown user "nobody-here": `getent passwd nobody-here` finds none (it asks /etc/passwd and any LDAP, SSSD or other NSS source of this host)',
      'dockgate.yaml:5:25: listeners[0].clients[1].match.gid: unknown group "dockr": `getent group dockr` finds none (it asks /etc/group and any LDAP, SSSD or other NSS source of this host) (did you mean docker?)',
    ]],
    ['a negative uid', L(['  - listen: unix:///a.sock', '    clients:', '      - { match: { uid: -1 }, policy: full }']), [
      'dockgate.yaml:4:25: listeners[0].clients[0].match.uid: must be at least 0, not -1',
    ]],
    ['an unknown policy', L(['  - listen: unix:///a.sock', '    clients:', '      - { match: { uid: 1000 }, policy: contianer-operator }']), [
      `dockgate.yaml:4:41: listeners[0].clients[0].policy: unknown preset "contianer-operator" (did you mean container-operator?); presets: ${listPresets().join(', ')}`,
    ]],
    ['bad tenant names', L(['  - listen: unix:///a.sock', '    tenant: Shared', '    clients:', '      - { match: { uid: 1000 }, policy: full, tenant: "a b" }']), [
      'dockgate.yaml:3:13: listeners[0].tenant: "Shared" is not a tenant name: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters',
      'dockgate.yaml:5:55: listeners[0].clients[0].tenant: "a b" is not a tenant name: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters',
    ]],
    ['a tenant under a policy with body guards off (an entry\'s, a listener\'s)', L(['  - listen: unix:///a.sock', '    policy: full', '    tenant: shared', '    clients:', '      - { match: { uid: 1000 }, policy: full, tenant: alice }', '      - { match: { uid: 1001 }, policy: ci, tenant: bob }']), [
      'dockgate.yaml:4:13: listeners[0].tenant: a tenant needs a policy with body guards on: policy "full" has them off, so dockgate would read nothing it could label or keep to the tenant',
      'dockgate.yaml:6:55: listeners[0].clients[0].tenant: a tenant needs a policy with body guards on: policy "full" has them off, so dockgate would read nothing it could label or keep to the tenant',
    ]],
    ['entry names: bad, and used twice', L(['  - listen: unix:///a.sock', '    clients:', '      - { match: { uid: 1 }, policy: full, name: "clients[1]" }', '      - { match: { uid: 2 }, policy: full, name: ci }', '      - { match: { uid: 3 }, policy: full, name: ci }']), [
      'dockgate.yaml:4:50: listeners[0].clients[0].name: "clients[1]" is not an entry name: letters, digits, ".", "_" and "-", at most 63 characters',
      'dockgate.yaml:6:50: listeners[0].clients[2].name: "ci" names an earlier entry too',
    ]],
    ['an empty clients list', L(['  - listen: unix:///a.sock', '    clients: []']), [
      'dockgate.yaml:3:14: listeners[0].clients: must not be empty',
    ]],
    ['two policy files with one name, one of them a client\'s', L(['  - listen: unix:///a.sock', '    policy: ./dash-a.yaml', '    clients:', '      - { match: { uid: 1 }, policy: ./dash-b.yaml }']), [
      'dockgate.yaml:5:38: listeners[0].clients[0].policy: policy name "dash" is also the name of dash-a.yaml; names label logs and metrics, so they must differ (set "name:" in one of them)',
    ]],
    ['subject on a unix socket that was given tls:', L(['  - listen: unix:///a.sock', `    ${TLS}`, '    clients:', '      - { match: { subject: CN=ci-runner }, policy: full }']), [
      'dockgate.yaml:3:10: listeners[0].tls: applies to tcp:// listeners only, not to unix:///a.sock (a unix socket is protected by its file mode)',
      'dockgate.yaml:5:29: listeners[0].clients[0].match.subject: needs a TLS listener (tls: or --tls-cert): unix:///a.sock has no client certificates to match',
    ]],
    ['tls on a unix socket', L(['  - listen: unix:///a.sock', '    tls: { cert: server.pem, key: server.key }']), [
      'dockgate.yaml:3:10: listeners[0].tls: applies to tcp:// listeners only, not to unix:///a.sock (a unix socket is protected by its file mode)',
    ]],
    ['tls without a key, with an unknown key', L(['  - listen: tcp://127.0.0.1:1', '    tls: { cert: server.pem, cafile: ca.pem }']), [
      'dockgate.yaml:3:10: listeners[0].tls: missing key "key"',
      'dockgate.yaml:3:30: listeners[0].tls.cafile: unknown key "cafile" (allowed keys: cert, key, ca)',
    ]],
    ['unreadable files', L(['  - listen: tcp://127.0.0.1:1', '    tls: { cert: missing.pem, key: missing.key, ca: missing-ca.pem }']), [
      'dockgate.yaml:3:18: listeners[0].tls.cert: cannot read the certificate "missing.pem": no such file',
      'dockgate.yaml:3:36: listeners[0].tls.key: cannot read the key "missing.key": no such file',
      'dockgate.yaml:3:53: listeners[0].tls.ca: cannot read the client CA "missing-ca.pem": no such file',
    ]],
    ['files that are not PEM', L(['  - listen: tcp://127.0.0.1:1', '    tls: { cert: not-pem.pem, key: not-pem.pem, ca: bad-block.pem }']), [
      'dockgate.yaml:3:18: listeners[0].tls.cert: "not-pem.pem" is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)',
      /^dockgate\.yaml:3:36: listeners\[0\]\.tls\.key: "not-pem\.pem" is not a PEM private key \(.+\)$/,
      /^dockgate\.yaml:3:53: listeners\[0\]\.tls\.ca: "bad-block\.pem": certificate 1 is not a valid PEM certificate \(.+\)$/,
    ]],
    ['a key that is not the certificate\'s', L(['  - listen: tcp://127.0.0.1:1', '    tls: { cert: server.pem, key: client-ci.key }']), [
      'dockgate.yaml:3:35: listeners[0].tls.key: the key "client-ci.key" does not match the certificate "server.pem" (CN=localhost)',
    ]],
    ['an encrypted key', L(['  - listen: tcp://127.0.0.1:1', '    tls: { cert: server.pem, key: encrypted.key }']), [
      'dockgate.yaml:3:35: listeners[0].tls.key: "encrypted.key" is an encrypted key; dockgate reads unencrypted PEM keys (keep the file readable only by dockgate\'s user)',
    ]],
    ['a directory as certificate', L(['  - listen: tcp://127.0.0.1:1', '    tls: { cert: ., key: server.key }']), [
      'dockgate.yaml:3:18: listeners[0].tls.cert: cannot read the certificate ".": is a directory',
    ]],
  ])('%s', (_name, yaml, expected) => {
    const got = load(yaml)
    expect(Array.isArray(got) ? got : 'no problems').toEqual(expected.map((e) => (typeof e === 'string' ? e : expect.stringMatching(e))))
  })

  test.each<[string, string[], NodeJS.ProcessEnv, string[]]>([
    ['--tls-cert without --tls-key', ['--listen', 'tcp://127.0.0.1:1', '--tls-cert', 'server.pem'], {}, ['--tls-cert: needs --tls-key as well (a TLS listener needs a certificate and its key)']],
    ['--tls-ca alone', ['--listen', 'tcp://127.0.0.1:1', '--tls-ca', 'ca.pem'], {}, ['--tls-ca: needs --tls-cert and --tls-key as well (a TLS listener needs a certificate and its key)']],
    ['DOCKGATE_TLS_KEY alone', ['--listen', 'tcp://127.0.0.1:1'], { DOCKGATE_TLS_KEY: 'server.key' }, ['DOCKGATE_TLS_KEY: needs DOCKGATE_TLS_CERT as well (a TLS listener needs a certificate and its key)']],
    ['TLS flags with only unix listeners', ['--listen', 'unix:///a.sock', '--tls-cert', 'server.pem', '--tls-key', 'server.key'], {},
      ['--tls-cert: applies to tcp:// listeners, and every listener here is a unix socket (protected by its file mode, not TLS)']],
    ['an unreadable --tls-cert', ['--listen', 'tcp://127.0.0.1:1', '--tls-cert', 'nope.pem', '--tls-key', 'server.key'], {}, ['--tls-cert: cannot read the certificate "nope.pem": no such file']],
    ['a key that does not match, from variables', ['--listen', 'tcp://127.0.0.1:1'], { DOCKGATE_TLS_CERT: 'server.pem', DOCKGATE_TLS_KEY: 'client-ci.key' },
      ['DOCKGATE_TLS_KEY: the key "client-ci.key" does not match the certificate "server.pem" (CN=localhost)']],
    ['an empty variable', ['--listen', 'tcp://127.0.0.1:1'], { DOCKGATE_TLS_CERT: '', DOCKGATE_TLS_KEY: 'server.key' }, [
      'DOCKGATE_TLS_CERT: is set but empty; give a value or unset it',
      'DOCKGATE_TLS_KEY: needs DOCKGATE_TLS_CERT as well (a TLS listener needs a certificate and its key)',
    ]],
  ])('%s', (_name, argv, env, expected) => {
    expect(load(undefined, argv, env)).toEqual(expected)
  })
})

describe('warnings', () => {
  test.each<[string, string, string[], string[]]>([
    ['non-loopback without TLS names every policy a client can get', 'listeners:\n  - listen: tcp://0.0.0.0:2375\n', [], [
      'dockgate.yaml:2:13: listeners[0].listen: tcp://0.0.0.0:2375 is reachable from the network without TLS: anyone who can connect gets what policy "read-only" allows',
    ]],
    ['non-loopback TLS without a client CA', 'listeners:\n  - listen: tcp://0.0.0.0:2376\n    tls: { cert: server.pem, key: server.key }\n', [], [
      'dockgate.yaml:2:13: listeners[0].listen: tcp://0.0.0.0:2376 serves TLS without a client CA (tls.ca or --tls-ca): anyone who can connect gets what policy "read-only" allows',
    ]],
    ['non-loopback mutual TLS: none', `listeners:\n  - listen: tcp://0.0.0.0:2376\n    ${TLS}\n    clients:\n      - { match: { subject: CN=ci-runner }, policy: full }\n`, [], []],
    ['loopback TLS without a client CA: none', 'listeners:\n  - listen: tcp://127.0.0.1:2376\n    tls: { cert: server.pem, key: server.key }\n', [], []],
    ['an entry after one that matches the same clients', 'listeners:\n  - listen: unix:///a.sock\n    clients:\n      - { match: { uid: ci }, policy: full }\n      - { match: { uid: 1000 }, policy: read-only }\n', [], [
      'dockgate.yaml:5:18: listeners[0].clients[1].match: never decides: clients[0] matches the same clients first',
    ]],
    ['TLS flags that no listener uses', `listeners:\n  - listen: tcp://127.0.0.1:2376\n    ${TLS}\n`, ['--tls-cert', 'server.pem', '--tls-key', 'server.key'], [
      '--tls-cert: is not used: every tcp:// listener in the config file has its own tls:',
    ]],
  ])('%s', (_name, yaml, argv, expected) => {
    expect(config(yaml, argv).warnings).toEqual(expected)
  })
})
