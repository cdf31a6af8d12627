/**
 * Tecnativa-style variables with the docker CLI against the real engine: the policy dockgate
 * derives at start (loadConfig, as `dockgate` run with these variables and no --policy) behaves as
 * Tecnativa's proxy for ps and run, and keeps the body guards on.
 */
import { afterAll, describe, expect, inject, test } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { CompiledPolicy } from '../../src/policy/compile.js'
import { docker, type CliName } from '../support/cli.js'
import { removeByPrefix, snapshot } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-env-'
const IMAGE_ENV = { EVENTS: '1', PING: '1', VERSION: '1' }

/** The policy `dockgate --listen …` starts with under these variables (the image's ENV included). */
function policyFrom(vars: Record<string, string>): CompiledPolicy {
  const config = loadConfig(['--listen', 'unix:///tmp/dockgate-env-test.sock'], { ...IMAGE_ENV, ...vars })
  if ('help' in config || 'version' in config) throw new Error('unexpected')
  expect(config.warnings).toEqual([])
  return config.listeners[0]!.policy
}

const proxies: TestProxy[] = []
async function proxyFor(vars: Record<string, string>): Promise<TestProxy> {
  const p = await startProxy({ policy: policyFrom(vars), engineSocket })
  proxies.push(p)
  return p
}

afterAll(async () => {
  for (const p of proxies) await p.close()
  await removeByPrefix(engineSocket, PREFIX)
})

describe.each<CliName>(['new', 'old'])('docker CLI (%s)', (cli) => {
  test('CONTAINERS=1: docker ps works, docker run is refused and leaves nothing behind', async () => {
    const proxy = await proxyFor({ CONTAINERS: '1' })
    const ps = await docker(['ps', '-a'], { host: proxy.host, cli })
    expect(ps.code, ps.stderr).toBe(0)
    expect(ps.stdout.toString()).toMatch(/^CONTAINER ID/)
    const before = await snapshot(engineSocket)
    const run = await docker(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'true'], { host: proxy.host, cli })
    expect(run.code).toBe(125)
    expect(run.stderr).toContain('dockgate: POST /containers/create (ContainerCreate) is not allowed by policy "env" [DG_DENY_OPERATION]; to allow it set CONTAINERS=1 and POST=1, or choose a policy with --policy (presets with it: container-operator, ci, dozzle-actions, …)')
    expect(await snapshot(engineSocket)).toEqual(before)
  })

  test('CONTAINERS=1 POST=1: docker run works; --privileged is refused by the guard', async () => {
    const proxy = await proxyFor({ CONTAINERS: '1', POST: '1' })
    const run = await docker(['run', '--rm', '--name', `${PREFIX}${cli}`, '--network', 'none', BUSYBOX_IMAGE, 'echo', 'hi'], { host: proxy.host, cli })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.toString()).toBe('hi\n')
    const before = await snapshot(engineSocket)
    const privileged = await docker(['run', '--rm', '--privileged', '--network', 'none', BUSYBOX_IMAGE, 'true'], { host: proxy.host, cli })
    expect(privileged.code).toBe(125)
    expect(privileged.stderr).toContain('denied by policy "env": HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)')
    expect(await snapshot(engineSocket)).toEqual(before)
  })

  test('no variable but the image\'s: version works, ps is refused', async () => {
    const proxy = await proxyFor({})
    expect((await docker(['version'], { host: proxy.host, cli })).code).toBe(0)
    const ps = await docker(['ps'], { host: proxy.host, cli })
    expect(ps.code).not.toBe(0)
    expect(ps.stderr).toContain('dockgate: GET /containers/json (ContainerList) is not allowed by policy "env" [DG_DENY_OPERATION]; to allow it set CONTAINERS=1, or choose a policy with --policy (presets with it: read-only, container-operator, ci, …)')
  })
})
