/**
 * Audit records with exact fields, as dockgate's own logger writes them (src/log.ts): allowed,
 * refused, would-deny (audit-only), a stream's start and end, a hijacked session's start (while it
 * runs) and end; an X-Registry-Auth value and environment values never appear. Issue 10, "Audit
 * records" and "Audit-only".
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type { AuditRecord } from '../../src/audit.js'
import { loadPolicy } from '../../src/policy/compile.js'
import type { ServerConfig } from '../../src/server.js'
import { docker, spawnDocker } from '../support/cli.js'
import { metricValue } from '../support/client-parity.js'
import { engineRequest } from '../support/engine.js'
import { removeByPrefix } from '../support/engine-state.js'
import { BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'

const engineSocket = inject('engineSocket')
const PREFIX = 'dg-audit-'
const NAME = `${PREFIX}c`
/** Values that must never reach the log. */
const SECRET_ENV = 'dg-secret-env-value-41'
const REGISTRY_AUTH = Buffer.from(JSON.stringify({ username: 'u', password: 'dg-secret-registry-password' })).toString('base64')

const ID = /^[0-9a-f]{6}-[0-9a-z]+$/
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const me = { uid: process.getuid!(), gid: process.getgid!(), pid: expect.any(Number) }

let enforce: TestProxy
let audit: TestProxy

beforeAll(async () => {
  enforce = await startProxy({ policy: 'container-operator', engineSocket })
  audit = await startProxy({ policy: 'container-operator', engineSocket, mode: 'audit' })
  const created = await engineRequest(engineSocket, 'POST', `/containers/create?name=${NAME}`, { Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', 'echo hello; sleep 600'], HostConfig: { NetworkMode: 'none' } })
  expect(created.status, created.body.toString()).toBe(201)
  expect((await engineRequest(engineSocket, 'POST', `/containers/${NAME}/start`)).status).toBe(204)
})

afterAll(async () => {
  await enforce?.close()
  await audit?.close()
  await removeByPrefix(engineSocket, PREFIX)
})

/** The whole log line of the last audit record matching `pick`. */
function lineOf(p: TestProxy, pick: (a: AuditRecord) => boolean): Record<string, unknown> {
  const line = p.lines.filter((l) => l['audit'] !== undefined && pick(l['audit'] as AuditRecord)).at(-1)
  if (line === undefined) throw new Error(`no such audit record among ${JSON.stringify(p.audits())}`)
  return line
}

const PRIVILEGED = { Image: BUSYBOX_IMAGE, Env: [`TOKEN=${SECRET_ENV}`], HostConfig: { Privileged: true, NetworkMode: 'none' } }
const PRIVILEGED_VIOLATION = { guard: 'container.privileged', field: 'HostConfig.Privileged', value: 'true', detail: 'needs guards.container.privileged' }

describe('audit records', () => {
  test('an allowed request: one line, time and level named, listener and policy once', async () => {
    expect((await engineRequest(enforce.socket, 'GET', `/v1.41/containers/${NAME}/json`)).status).toBe(200)
    const line = lineOf(enforce, (a) => a.operation === 'ContainerInspect')
    expect(Object.keys(line).sort()).toEqual(['audit', 'level', 'msg', 'service', 'time'])
    expect(line['time']).toMatch(ISO)
    expect(line['level']).toBe('info')
    expect(line['msg']).toBe(`allow ContainerInspect ${NAME}`)
    expect(line['audit']).toEqual({
      id: expect.stringMatching(ID), listener: enforce.host, policy: 'container-operator', client: me,
      method: 'GET', path: `/containers/${NAME}/json`, version: '1.41', operation: 'ContainerInspect', object: NAME,
      decision: 'allow', rule: 'containers', status: 200, bytesIn: expect.any(Number), bytesOut: expect.any(Number), durationMs: expect.any(Number),
    })
    const a = line['audit'] as AuditRecord
    expect(a.bytesIn).toBeGreaterThan(50)
    expect(a.bytesOut).toBeGreaterThan(500)
  })

  test('a refused request names the rule and the violations, and the image it would have used', async () => {
    const res = await engineRequest(enforce.socket, 'POST', `/v1.41/containers/create?name=${PREFIX}priv`, PRIVILEGED, { headers: { 'X-Registry-Auth': REGISTRY_AUTH } })
    expect(res.status).toBe(403)
    const line = lineOf(enforce, (a) => a.operation === 'ContainerCreate')
    expect(line['level']).toBe('warn')
    expect(line['audit']).toEqual({
      id: expect.stringMatching(ID), listener: enforce.host, policy: 'container-operator', client: me,
      method: 'POST', path: '/containers/create', version: '1.41', operation: 'ContainerCreate', object: BUSYBOX_IMAGE,
      decision: 'deny', code: 'DG_DENY_BODY', rule: 'container.privileged', violations: [PRIVILEGED_VIOLATION],
      reason: 'ContainerCreate denied by policy "container-operator": HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)',
      status: 403, bytesIn: expect.any(Number), bytesOut: expect.any(Number), durationMs: expect.any(Number),
    })
  })

  test('audit-only: a privileged create passes and is recorded as would-deny with its rule and violations', async () => {
    const res = await engineRequest(audit.socket, 'POST', `/v1.41/containers/create?name=${PREFIX}would`, PRIVILEGED)
    expect(res.status, res.body.toString()).toBe(201)
    const inspect = await engineRequest(engineSocket, 'GET', `/containers/${PREFIX}would/json`)
    expect(JSON.parse(inspect.body.toString()).HostConfig.Privileged).toBe(true)
    const line = lineOf(audit, (a) => a.operation === 'ContainerCreate')
    expect(line['level']).toBe('warn')
    expect(line['audit']).toEqual({
      id: expect.stringMatching(ID), listener: audit.host, policy: 'container-operator', client: me,
      method: 'POST', path: '/containers/create', version: '1.41', operation: 'ContainerCreate', object: BUSYBOX_IMAGE,
      decision: 'would-deny', code: 'DG_DENY_BODY', rule: 'container.privileged', violations: [PRIVILEGED_VIOLATION],
      reason: 'ContainerCreate denied by policy "container-operator": HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)',
      status: 201, bytesIn: expect.any(Number), bytesOut: expect.any(Number), durationMs: expect.any(Number),
    })
  })

  test('a stream: a start record when admitted, an end record with status, bytes and duration, one id', async () => {
    const res = await engineRequest(enforce.socket, 'GET', `/v1.41/containers/${NAME}/logs?stdout=1`)
    expect(res.status).toBe(200)
    const records = enforce.audits().filter((a) => a.operation === 'ContainerLogs')
    expect(records).toEqual([
      {
        id: expect.stringMatching(ID), listener: enforce.host, policy: 'container-operator', client: me,
        method: 'GET', path: `/containers/${NAME}/logs`, version: '1.41', operation: 'ContainerLogs', object: NAME,
        decision: 'allow', rule: 'containers', phase: 'start',
      },
      {
        id: records[0]!.id, listener: enforce.host, policy: 'container-operator', client: me,
        method: 'GET', path: `/containers/${NAME}/logs`, version: '1.41', operation: 'ContainerLogs', object: NAME,
        decision: 'allow', rule: 'containers', phase: 'end', status: 200, bytesIn: expect.any(Number), bytesOut: expect.any(Number), durationMs: expect.any(Number),
      },
    ])
    expect(records[1]!.bytesOut).toBeGreaterThan('hello\n'.length)
  })

  test('a pull: the image from the query is the object; the registry credentials are not logged', async () => {
    // The private engine is offline: the pull fails at the registry, after dockgate has admitted it.
    await engineRequest(enforce.socket, 'POST', '/v1.41/images/create?fromImage=dg-audit%2Fnothing&tag=v1', undefined, { headers: { 'X-Registry-Auth': REGISTRY_AUTH } })
    const records = enforce.audits().filter((a) => a.operation === 'ImageCreate')
    expect(records.map((a) => [a.phase, a.decision, a.object, a.path])).toEqual([
      ['start', 'allow', 'dg-audit/nothing:v1', '/images/create'],
      ['end', 'allow', 'dg-audit/nothing:v1', '/images/create'],
    ])
  })

  test('a hijacked session is on record while it runs, and again when it ends', async () => {
    const child = spawnDocker(['exec', '-i', NAME, 'cat'], { host: enforce.host })
    const started = Date.now()
    const execStart = (): AuditRecord[] => enforce.audits().filter((a) => a.operation === 'ExecStart')
    while (execStart().length === 0) {
      if (Date.now() - started > 20_000) throw new Error(`no ExecStart record; records: ${JSON.stringify(enforce.audits().map((a) => a.operation))}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    // The session is still open (cat waits for input), and its start is on record.
    expect(child.exitCode).toBeNull()
    const [start] = execStart()
    expect(start).toEqual({
      id: expect.stringMatching(ID), listener: enforce.host, policy: 'container-operator', client: me,
      method: 'POST', path: expect.stringMatching(/^\/exec\/[0-9a-f]{64}\/start$/), version: expect.any(String), operation: 'ExecStart', object: expect.stringMatching(/^[0-9a-f]{64}$/),
      decision: 'allow', rule: 'exec', phase: 'start',
    })
    const out: Buffer[] = []
    child.stdout?.on('data', (c: Buffer) => out.push(c))
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
    child.stdin?.end('typed into the session\n')
    expect(await closed).toBe(0)
    expect(Buffer.concat(out).toString()).toBe('typed into the session\n')
    const end = execStart()[1]
    expect(end).toEqual({ ...start, phase: 'end', status: 101, bytesIn: expect.any(Number), bytesOut: expect.any(Number), durationMs: expect.any(Number) })
    expect(end!.bytesIn).toBeGreaterThan('typed into the session\n'.length)
    expect(end!.bytesOut).toBeGreaterThan('typed into the session\n'.length)
  })

  test('the registry credentials and environment values never appear in the log', () => {
    const all = [...enforce.lines, ...audit.lines].map((l) => JSON.stringify(l)).join('\n')
    expect(all).toContain('ContainerCreate')
    expect(all).not.toContain(SECRET_ENV)
    expect(all).not.toContain(REGISTRY_AUTH)
    expect(all).not.toContain('dg-secret-registry-password')
    expect(all.toLowerCase()).not.toContain('x-registry-auth')
  })
})

test('the docker CLI through an audit-only listener: a privileged create works, and is on record as would-deny', async () => {
  // (create, not run: the test engines cannot start privileged containers)
  const r = await docker(['create', '--privileged', '--network', 'none', '--name', `${PREFIX}cli`, BUSYBOX_IMAGE, 'true'], { host: audit.host })
  expect(r.code, r.stderr).toBe(0)
  const create = audit.audits().filter((a) => a.operation === 'ContainerCreate').at(-1)
  expect(create).toMatchObject({ decision: 'would-deny', rule: 'container.privileged', violations: [PRIVILEGED_VIOLATION], status: 201 })
})

test('a reload switches a listener to audit-only and back, and the gauge follows', async () => {
  const p = await startProxy({ policy: 'container-operator', engineSocket })
  try {
    const policy = loadPolicy('container-operator')
    const config = (auditOnly: boolean): ServerConfig => ({
      upstream: { kind: 'unix', path: engineSocket },
      limits: { bodyBytes: 1024 * 1024, bodyTimeoutMs: 30_000, bodyBudgetBytes: 128 * 1024 * 1024, lookupTimeoutMs: 10_000 },
      listeners: [{ address: { kind: 'unix', path: p.socket }, policy, mode: 0o660, auditOnly }],
    })
    const gauge = (): Promise<number> => metricValue(p.registry, 'dockgate_audit_only', { listener: p.host })
    const create = async (name: string): Promise<number> => (await engineRequest(p.socket, 'POST', `/v1.41/containers/create?name=${PREFIX}${name}`, PRIVILEGED)).status
    expect(await gauge()).toBe(0)
    expect(await create('r1')).toBe(403)
    await p.running.reload(config(true))
    expect(await gauge()).toBe(1)
    expect(await create('r2')).toBe(201)
    await p.running.reload(config(false))
    expect(await gauge()).toBe(0)
    expect(await create('r3')).toBe(403)
    expect(p.audits().filter((a) => a.operation === 'ContainerCreate').map((a) => a.decision)).toEqual(['deny', 'would-deny', 'deny'])
  } finally {
    await p.close()
  }
})
