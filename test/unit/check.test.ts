import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { check } from '../../src/check.js'

async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await check(args, {}, { out: (s) => (out += s), err: (s) => (err += s), stdin: () => Buffer.from(stdin) })
  return { code, out, err }
}

describe('dockgate check', () => {
  test.each([
    ['list under read-only', ['GET', '/v1.41/containers/json'], 0, /^allow: ContainerList \(GET \/containers\/json\) by policy "read-only", rule containers\nforwarded as: GET \/v1\.41\/containers\/json\n$/],
    ['ping is always allowed', ['HEAD', '/_ping'], 0, /always allowed/],
    ['create under read-only', ['POST', '/containers/create'], 1, /^deny: dockgate: POST \/containers\/create \(ContainerCreate\) is not allowed by policy "read-only" \[DG_DENY_OPERATION\]; to allow it add "ContainerCreate" to an allow: list in a policy that extends read-only \(presets with it: container-operator, ci, dozzle-actions, …\) \(HTTP 403\)\n$/],
    ['export under read-only: no preset has it', ['GET', '/containers/x/export'], 1, /^deny: dockgate: GET \/containers\/\{id\}\/export \(ContainerExport\) is not allowed by policy "read-only" \[DG_DENY_OPERATION\]; to allow it add "ContainerExport" to an allow: list in a policy that extends read-only \(no preset has it\) \(HTTP 403\)\n$/],
    ['encoded slash', ['GET', '/containers%2Fjson'], 1, /DG_REQ_AMBIGUOUS_PATH.*HTTP 400/],
    ['old API version', ['--policy', 'container-operator', 'POST', '/v1.23/containers/x/start'], 1, /DG_DENY_API_VERSION/],
    ['canonical form shown', ['GET', '/v1.41/%63ontainers/json?all=1&&'], 0, /forwarded as: GET \/v1\.41\/containers\/json\?all=1\n/],
    ['unguarded policy says so', ['--policy', 'full', 'POST', '/containers/create'], 0, /body guards are OFF/],
    ['redaction is named, with its fields', ['GET', '/containers/x/json'], 0, /\nthe answer is redacted: container_env \(Config\.Env\); log_options \(HostConfig\.LogConfig\.Config\); volume_options \(HostConfig\.Mounts\[\]\.VolumeOptions\.DriverConfig\.Options\)\n$/],
    ['no redaction without it', ['--policy', 'container-operator', 'GET', '/containers/x/json'], 0, /forwarded as: GET \/containers\/x\/json\n$/],
    ['a method in lower case is the method', ['get', '/v1.41/containers/json'], 0, /^allow: ContainerList \(GET \/containers\/json\) by policy "read-only", rule containers\nforwarded as: GET \/v1\.41\/containers\/json\n$/],
    ['a method in mixed case', ['--policy', 'container-operator', 'Post', '/containers/web/kill'], 0, /^allow: ContainerKill \(POST \/containers\/web\/kill\) by policy "container-operator", rule container-lifecycle\nforwarded as: POST \/containers\/web\/kill\nlive traffic would also check, in the engine, the target container: that it is not dockgate's own\n$/],
    ['exec: live traffic checks the container it enters', ['--policy', 'container-operator', 'POST', '/containers/web/exec'], 0, /\nlive traffic would also check, in the engine, the target container: that this policy could have created it \(its privileges, mounts, namespaces, capabilities\), that it is not dockgate's own\n$/],
    ['exec start: the exec and its container', ['--policy', 'container-operator', 'POST', '/exec/abc/start'], 0, /\nlive traffic would also check, in the engine, the target exec and the container it runs in: that this policy could have created it/],
    ['a read is not looked up', ['--policy', 'container-operator', 'GET', '/containers/web/logs'], 0, /^allow: ContainerLogs \(GET \/containers\/web\/logs\) by policy "container-operator", rule containers\nforwarded as: GET \/containers\/web\/logs\n$/],
  ])('%s', async (_name, args, code, pattern) => {
    const r = await run(args)
    expect(r.code).toBe(code)
    expect(r.out).toMatch(pattern)
  })

  test.each([
    ['a plain create passes the guards', '{"Image":"busybox:test","HostConfig":{"NetworkMode":"none"}}', 0, /allow: ContainerCreate .*guard checked the body/],
    ['privileged, spelled in lower case', '{"Image":"busybox","hostconfig":{"privileged":true}}', 1, /^deny: dockgate: ContainerCreate denied by policy "container-operator": HostConfig\.Privileged=true needs guards\.container\.privileged \(guard container\.privileged; it is false in this policy\) \[DG_DENY_BODY\] \(HTTP 403\)\n$/],
    ['two violations are both named', '{"Image":"busybox","HostConfig":{"Privileged":true,"PidMode":"host"}}', 1, /Privileged=true.*PidMode="host"|PidMode.*Privileged/],
    ['an ambiguous body', '{"Image":"busybox","HostConfig":{},"hostConfig":{}}', 1, /DG_REQ_BAD_BODY/],
  ])('body: %s', async (_name, body, code, pattern) => {
    const r = await run(['--policy', 'container-operator', 'POST', '/v1.41/containers/create', '--body', '-'], body)
    expect(r.code).toBe(code)
    expect(r.out).toMatch(pattern)
  })

  test.each([
    ['no arguments', [], /expected METHOD and TARGET/],
    ['unknown option', ['--nope', 'GET', '/x'], /^dockgate check: unknown option --nope\n/],
    ['missing value', ['GET', '/x', '--policy'], /^dockgate check: --policy needs a value\n/],
    ['--policy and --config together', ['--policy', 'read-only', '--config', 'x.yaml', 'GET', '/x'], /^dockgate check: --policy and --config choose the policy two ways; give one\n$/],
    ['--listener without --config', ['--listener', 'unix:///x.sock', 'GET', '/x'], /^dockgate check: --listener chooses within a configuration file: give --config FILE too\n$/],
    ['unknown preset', ['--policy', 'nope', 'GET', '/_ping'], /unknown preset "nope"/],
  ])('usage problem: %s exits 2', async (_name, args, pattern) => {
    const r = await run(args)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(pattern)
  })
})

describe('dockgate check --config: the policy of one of the server\'s listeners', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dockgate-check-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string, text: string): string => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }
  const one = file('one.yaml', 'listeners:\n  - listen: unix:///run/dockgate/ci.sock\n    policy: container-operator\n')
  const two = file('two.yaml', [
    'listeners:',
    '  - listen: tcp://127.0.0.1:2375',
    '    policy: container-operator',
    '  - listen: unix:///run/dockgate/shared.sock',
    '    policy: read-only',
    '    clients:',
    '      - name: builder',
    '        match: { uid: 1000 }',
    '        policy: ci',
    '        tenant: team-a',
    '',
  ].join('\n'))

  test('one listener: its policy, without --listener', async () => {
    const r = await run(['--config', one, 'post', '/containers/web/kill'])
    expect(r).toEqual({
      code: 0,
      err: '',
      out: 'judged as on listener unix:///run/dockgate/ci.sock: policy "container-operator"\n' +
        'allow: ContainerKill (POST /containers/web/kill) by policy "container-operator", rule container-lifecycle\n' +
        'forwarded as: POST /containers/web/kill\n' +
        'live traffic would also check, in the engine, the target container: that it is not dockgate\'s own\n',
    })
  })

  test('several listeners: --listener is needed, and the message lists them', async () => {
    const r = await run(['--config', two, 'GET', '/containers/json'])
    expect(r).toEqual({ code: 2, out: '', err: `dockgate check: ${two} has 2 listeners; choose one with --listener tcp://127.0.0.1:2375 or unix:///run/dockgate/shared.sock\n` })
    expect((await run(['--config', two, '--listener', 'tcp://127.0.0.1:9999', 'GET', '/x'])).err).toBe(`dockgate check: ${two} has no listener tcp://127.0.0.1:9999; its listeners: tcp://127.0.0.1:2375, unix:///run/dockgate/shared.sock\n`)
  })

  test('--listener picks one; a connection matching no clients: entry gets the listener\'s policy', async () => {
    const r = await run(['--config', two, '--listener', 'unix:///run/dockgate/shared.sock', 'POST', '/containers/web/kill'])
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      'judged as on listener unix:///run/dockgate/shared.sock (a connection that matches none of its clients: entries): policy "read-only"\n' +
      'deny: dockgate: POST /containers/{id}/kill (ContainerKill) is not allowed by policy "read-only" [DG_DENY_OPERATION]; ' +
      'to allow it add "ContainerKill" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, acme-companion, …) (HTTP 403)\n',
    )
  })

  test('--client picks a clients: entry, with its tenant: live traffic resolves among the tenant\'s own', async () => {
    const r = await run(['--config', two, '--listener', 'unix:///run/dockgate/shared.sock', '--client', 'builder', 'POST', '/containers/web/exec'])
    expect(r.code).toBe(0)
    expect(r.out).toBe(
      'judged as on listener unix:///run/dockgate/shared.sock, client builder: policy "ci", tenant "team-a"\n' +
      'allow: ContainerExec (POST /containers/web/exec) by policy "ci", rule exec; guard checked the body and query\n' +
      'forwarded as: POST /containers/web/exec\n' +
      'live traffic would also check, in the engine, the target container: that this policy could have created it (its privileges, mounts, namespaces, capabilities), ' +
      'that it is not dockgate\'s own, and that it is one of tenant "team-a"\'s own\n',
    )
    expect((await run(['--config', two, '--listener', 'unix:///run/dockgate/shared.sock', '--client', 'nobody', 'GET', '/x'])).err)
      .toBe('dockgate check: listener unix:///run/dockgate/shared.sock has no clients: entry "nobody"; its entries: builder\n')
  })

  test('what the body names (VolumesFrom) is looked up by live traffic, and the answer says so', async () => {
    const policy = file('vf.yaml', 'extends: [container-operator]\nguards:\n  container:\n    volumes_from: [web]\n')
    const r = await run(['--policy', policy, 'POST', '/containers/create', '--body', '-'], '{"Image":"busybox","HostConfig":{"VolumesFrom":["web:ro"],"NetworkMode":"none"}}')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/\nlive traffic would also look up what the body names in the engine \(HostConfig\.VolumesFrom\[0\]="web"\): a container it uses must be one this policy could have created, and not dockgate's own\n$/)
  })

  test('a broken config file: its problems, exit 2', async () => {
    const r = await run(['--config', file('bad.yaml', 'listeners:\n  - listen: unix:///run/x.sock\n    policy: nope\n'), 'GET', '/x'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^dockgate: .*bad\.yaml:3:13: listeners\[0\]\.policy: unknown preset "nope"/)
  })
})
