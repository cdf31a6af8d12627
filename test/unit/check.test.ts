import { describe, expect, test } from 'vitest'
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
    ['unknown option', ['--nope', 'GET', '/x'], /unknown option --nope/],
    ['missing value', ['GET', '/x', '--policy'], /--policy needs a value/],
    ['unknown preset', ['--policy', 'nope', 'GET', '/_ping'], /unknown preset "nope"/],
  ])('usage problem: %s exits 2', async (_name, args, pattern) => {
    const r = await run(args)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(pattern)
  })
})
