/**
 * A tenant's requests through the whole admission path (admission.ts → tenant/request.ts →
 * target.ts → tenant/view.ts), against an in-memory engine holding alice's, bob's and an
 * admin's objects. The first table is the rule the rest relies on: every operation whose facts
 * name a target, under a tenant, is resolved among the tenant's objects or refused — so an
 * operation added to operations.ts cannot slip past the isolation.
 */
import { describe, expect, test } from 'vitest'
import { admit, type Admitted } from '../../../src/admission.js'
import { allOperations } from '../../../src/endpoints.js'
import type { DockgateError } from '../../../src/errors.js'
import { compilePolicyText } from '../../../src/policy/compile.js'
import { errorBody } from '../../../src/respond.js'
import { RESOLVED_KINDS, tenantUse } from '../../../src/tenant/request.js'
import type { Operation } from '../../../src/types.js'
import { container, fakeEngine, type FakeEngine } from './engine.js'

const POLICY = compilePolicyText('rules:\n  - allow: "* /**"\nguards:\n  archive: { write: true }\n')

// alice's and bob's ids share their first two digits: "ab" is ambiguous to the engine, not to alice.
const A = 'ab' + '1'.repeat(62)
const A2 = 'cd' + '1'.repeat(62)
const B = 'ab' + '2'.repeat(62)
const ADMIN = 'ef' + '3'.repeat(62)
const NET = { a: 'a0'.repeat(32), b: 'b0'.repeat(32), none: 'c0'.repeat(32) }

function world(): FakeEngine {
  return fakeEngine({
    containers: [container(A, 'alice-web', 'alice'), container(A2, 'alice-db', 'alice'), container(B, 'bob-web', 'bob'), container(ADMIN, 'admin-web')],
    execs: [{ ID: 'e1'.repeat(32), ContainerID: A }, { ID: 'e2'.repeat(32), ContainerID: B }, { ID: 'e3'.repeat(32), ContainerID: ADMIN }],
    networks: [
      { Id: NET.a, Name: 'alice-net', Labels: { 'dockgate.tenant': 'alice' } },
      { Id: NET.b, Name: 'bob-net', Labels: { 'dockgate.tenant': 'bob' } },
      { Id: NET.none, Name: 'none', Labels: {} },
    ],
    volumes: [
      { Name: 'alice-vol', Driver: 'local', Labels: { 'dockgate.tenant': 'alice' } },
      { Name: 'bob-vol', Driver: 'local', Labels: { 'dockgate.tenant': 'bob' } },
      { Name: 'admin-vol', Driver: 'local', Labels: null },
    ],
  })
}

/** Admits one request as alice (or `tenant`) would send it; resolves to what is forwarded, rejects with the refusal. */
async function send(engine: FakeEngine, method: string, url: string, body?: unknown, tenant: string | null = 'alice'): Promise<Admitted> {
  const bytes = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8')
  const headers: Record<string, string> = { host: 'localhost' }
  const rawHeaders = ['Host', 'localhost']
  if (bytes !== undefined) {
    Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(bytes.length) })
    rawHeaders.push('Content-Type', 'application/json', 'Content-Length', String(bytes.length))
  }
  return admit(
    { policy: POLICY, self: { ids: [], names: [] }, engine, mode: 'enforce', bodyLimit: 1 << 20, tenant: tenant ?? undefined },
    { method, url, httpVersion: '1.1', headers, rawHeaders, upgrade: false },
    () => bytes ?? Buffer.alloc(0),
  )
}

async function refusal(p: Promise<Admitted>): Promise<DockgateError> {
  return p.then(() => { throw new Error('admitted') }, (e: DockgateError) => e)
}

/** A request for `op` naming `ref` wherever its template or query names an object; a body its guard accepts. */
function requestFor(op: Operation, ref: string): [string, unknown] {
  const path = op.template.replace(/\{[^}]+\}/g, ref)
  const from = op.target?.from
  const url = from !== undefined && 'query' in from ? `${path}?${from.query}=${ref}` : path
  const bodies: Record<string, unknown> = {
    ContainerExec: { Cmd: ['true'] },
    ExecStart: { Detach: true },
    NetworkConnect: { Container: 'alice-web' },
    NetworkDisconnect: { Container: 'alice-web' },
    CheckpointCreate: { CheckpointID: 'c1' },
    ContainerUpdate: {},
    ContainerStart: {},
  }
  return [url, op.body === 'json' ? (bodies[op.id] ?? {}) : undefined]
}

const targeted = allOperations().filter((op) => op.target !== undefined)
const resolved = targeted.filter((op) => RESOLVED_KINDS.has(op.target!.kind) && tenantUse(op) !== 'refuse')

describe('every operation that names an object, under a tenant', () => {
  test('has a decided treatment: its own, or its target kind\'s', () => {
    const undecided = allOperations().filter((op) => op.tenant === undefined && !(op.target !== undefined && (RESOLVED_KINDS.has(op.target.kind) || op.target.kind === 'image')))
    expect(undecided.map((op) => op.id)).toEqual([])
  })

  test('resolves every container, exec, network and volume target (none is refused wholesale)', () => {
    expect(targeted.filter((op) => RESOLVED_KINDS.has(op.target!.kind) && tenantUse(op) === 'refuse').map((op) => op.id)).toEqual([])
    expect(resolved.length).toBeGreaterThan(35)
  })

  const foreign: Record<string, string[]> = {
    container: ['bob-web', '/bob-web', B, B.slice(0, 12), 'admin-web', ADMIN.slice(0, 5)],
    exec: ['e2'.repeat(32), 'e3'.repeat(32)],
    network: ['bob-net', NET.b, NET.b.slice(0, 6), 'none', NET.none],
    volume: ['bob-vol', 'admin-vol'],
  }
  const own: Record<string, [string, string]> = {
    container: ['ab1', A],
    exec: ['e1'.repeat(32), 'e1'.repeat(32)],
    network: ['alice-net', NET.a],
    volume: ['alice-vol', 'alice-vol'],
  }

  test.each(resolved.map((op) => [op.id, op] as const))('%s: another tenant\'s or an admin\'s object is answered as absent, byte for byte; its own is forwarded by full id', async (_id, op) => {
    const kind = op.target!.kind
    const inPath = 'param' in op.target!.from
    // A path cannot carry `/name` (an empty segment, refused before); built-in networks are used, not looked at.
    const refs = foreign[kind]!.filter((r) => !(inPath && r.startsWith('/')) && !(kind === 'network' && op.target!.reach !== 'read' && (r === 'none' || r === NET.none)))
    for (const ref of refs) {
      const [url, body] = requestFor(op, ref)
      const there = await refusal(send(world(), op.method, url, body))
      // The same request on an engine where nothing has that name or id.
      const nothing = await refusal(send(fakeEngine({ containers: [], execs: [], networks: [], volumes: [] }), op.method, url, body))
      expect(there.code, `${op.id} ${url}: ${there.message}`).toBe('DG_TARGET_NOT_FOUND')
      expect(errorBody(there)).toBe(errorBody(nothing))
      expect(there.status).toBe(404)
    }
    const [ref, id] = own[kind]!
    const [url, body] = requestFor(op, ref)
    const out = await send(world(), op.method, url, body)
    const from = op.target!.from
    expect('param' in from ? out.api.params[from.param] : out.api.query.get(from.query)).toBe(id)
  })

  test.each(targeted.filter((op) => tenantUse(op) === 'refuse').map((op) => [op.id, op] as const))('%s reaches engine-wide objects: refused, nothing asked of the engine', async (_id, op) => {
    const engine = world()
    const [url, body] = requestFor(op, 'x')
    expect((await refusal(send(engine, op.method, url, body))).code).toBe('DG_DENY_TENANT')
    expect(engine.calls).toEqual([])
  })

  test.each(targeted.filter((op) => op.target!.kind === 'image').map((op) => [op.id, op] as const))('%s: images are shared', async (_id, op) => {
    const engine = world()
    const [url, body] = requestFor(op, 'busybox:test')
    const out = await send(engine, op.method, url, body)
    expect(out.api.params['name']).toBe('busybox:test')
    expect(engine.calls).toEqual([])
  })
})

describe('names and prefixes as the engine reads them, among the tenant\'s own', () => {
  test.each([
    ['an id prefix another tenant\'s id also starts', 'ab', A],
    ['a longer prefix', 'ab111', A],
    ['/name', '/alice-db', A2],
    ['the full id', A2, A2],
  ])('%s', async (_n, ref, id) => {
    expect((await send(world(), 'POST', `/commit?container=${encodeURIComponent(ref)}`)).api.query.get('container')).toBe(id)
  })

  test('a prefix two of alice\'s own containers start: ambiguous, among hers only', async () => {
    const engine = fakeEngine({ containers: [container(A, 'x1', 'alice'), container('ab' + '9'.repeat(62), 'x2', 'alice'), container(B, 'y', 'bob')] })
    const e = await refusal(send(engine, 'GET', '/containers/ab/json'))
    expect([e.code, e.status, e.message]).toEqual(['DG_TARGET_AMBIGUOUS', 400, '"ab" names more than one container of this client\'s; give more of the id'])
  })

  test('an exec in another tenant\'s container is answered as an absent exec', async () => {
    const e = await refusal(send(world(), 'GET', `/exec/${'e2'.repeat(32)}/json`))
    expect(errorBody(e)).toBe(`{"message":"dockgate: No such exec instance: ${'e2'.repeat(32)} [DG_TARGET_NOT_FOUND]"}\n`)
  })

  test('without a tenant nothing of this happens: reads are not looked up, lists not filtered', async () => {
    const engine = world()
    expect((await send(engine, 'GET', '/containers/bob-web/json', undefined, null)).api.target).toBe('/containers/bob-web/json')
    expect((await send(engine, 'GET', '/containers/json?all=1', undefined, null)).api.target).toBe('/containers/json?all=1')
    expect(engine.calls).toEqual([])
  })
})
