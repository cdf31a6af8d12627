/**
 * `dockgate learn` without an engine: audit records are made the way pipeline.ts makes them, from
 * requests admitted offline in audit-only mode (and a few enforced ones), then learned; under the
 * learned policy the same requests pass and their near misses are refused. The reader is tolerant
 * of what else a line carries. (test/integration/learn.test.ts does it with the docker CLI.)
 */
import { describe, expect, test } from 'vitest'
import { admit } from '../../src/admission.js'
import { isDockgateError } from '../../src/errors.js'
import { learn } from '../../src/learn/command.js'
import { compilePolicyText, loadPolicy, type CompiledPolicy } from '../../src/policy/compile.js'
import { admitOffline } from '../support/admit.js'

interface Req {
  readonly method: string
  readonly url: string
  readonly body?: unknown
}

const create = (hostConfig: Record<string, unknown>, top: Record<string, unknown> = {}): Req => ({
  method: 'POST', url: '/v1.41/containers/create?name=x', body: { Image: 'busybox:test', Cmd: ['true'], ...top, HostConfig: { NetworkMode: 'none', ...hostConfig } },
})

/** One audit line as pipeline.ts writes it (passFields / refusalFields), with fields learn does not read. */
function record(policy: CompiledPolicy, req: Req, mode: 'audit' | 'enforce', client: Record<string, unknown>, listener = 'unix:///run/dg.sock'): string {
  const bytes = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body))
  const headers: Record<string, string> = { host: 'localhost', ...(bytes ? { 'content-type': 'application/json', 'content-length': String(bytes.length) } : {}) }
  const version = /^\/v(\d+\.\d+)\//.exec(req.url)?.[1]
  const base = { listener, policy: policy.name, client, method: req.method, path: req.url.split('?')[0]!.replace(/^\/v\d+\.\d+/, ''), version, durationMs: 1.5, requestId: 'r1', time: '2025-01-01T00:00:00Z' }
  let audit: Record<string, unknown>
  try {
    const a = admit({ policy, self: { ids: [], names: [] }, engine: undefined, mode, bodyLimit: 1 << 20 }, { method: req.method, url: req.url, httpVersion: '1.1', headers, rawHeaders: Object.entries(headers).flat(), upgrade: false }, () => bytes ?? Buffer.alloc(0))
    if (a instanceof Promise) throw new Error('offline admission waited')
    const first = a.wouldDeny[0]
    audit = first === undefined
      ? { ...base, operation: a.api.operation.id, decision: 'allow', rule: a.rule, status: 200 }
      : { ...base, operation: a.api.operation.id, decision: 'would-deny', code: first.code, rule: a.wouldDeny.map((e) => e.source.rule).join(','), violations: a.wouldDeny.flatMap((e) => e.source.violations ?? []), status: 201 }
  } catch (err) {
    if (!isDockgateError(err)) throw err
    audit = { ...base, operation: 'ContainerCreate', decision: 'deny', code: err.code, rule: err.source.rule, violations: err.source.violations, status: err.status }
  }
  return JSON.stringify({ level: 'warn', time: '2025-01-01T00:00:00Z', service: 'dockgate', audit, msg: 'x' })
}

function run(argv: string[], stdin = ''): { code: number; out: string; err: string } {
  let out = ''
  let err = ''
  const code = learn(argv, { out: (s) => { out += s }, err: (s) => { err += s }, stdin: () => Buffer.from(stdin) })
  return { code, out, err }
}

function passes(policy: CompiledPolicy, req: Req): boolean {
  try {
    admitOffline(policy, req.method, req.url, req.body)
    return true
  } catch (err) {
    if (!isDockgateError(err)) throw err
    return false
  }
}

const operator = loadPolicy('container-operator')
const UID = { uid: 1000, gid: 1000, pid: 42 }
const SEEN: readonly Req[] = [
  create({ Binds: ['/srv/work:/work'], CapAdd: ['net_admin'] }),
  create({ Binds: ['/srv/ro:/ro:ro'] }),
  create({ Mounts: [{ Type: 'bind', Source: '/srv/m', Target: '/m', ReadOnly: true }] }),
  { method: 'GET', url: '/v1.41/containers/x/archive?path=/etc' },
  { method: 'PUT', url: '/v1.41/containers/x/archive?path=/tmp' },
  { method: 'GET', url: '/v1.41/containers/json' },
  { method: 'GET', url: '/v1.23/containers/json' },
]
const DENIED = create({ Privileged: true })
const LEGACY = create({}, { Privileged: true })

const LOG = [
  '{"level":"info","msg":"listening on unix:///run/dg.sock"}',
  'not json at all',
  ...SEEN.map((r) => record(operator, r, 'audit', UID)),
  record(operator, DENIED, 'enforce', { uid: 0, gid: 0, pid: 7 }),
  record(operator, LEGACY, 'audit', UID),
  JSON.stringify({ audit: { decision: 'error', operation: 'ContainerList', policy: 'container-operator' } }),
].join('\n')

describe('dockgate learn', () => {
  const result = run(['-'], LOG)
  const learned = compilePolicyText(result.out, { file: 'learned.yaml' })

  test('prints a policy that loads with no problem and no warning, extending the preset the records were made under', () => {
    expect(result.code).toBe(0)
    expect(learned.warnings).toEqual([])
    expect(learned.extends.map((p) => p.split('/').pop())).toEqual(['read-only.yaml', 'container-operator.yaml'])
    expect(result.err).toContain('1 line(s) were not JSON')
    expect(result.err).toContain('not counted as seen: 1 error')
  })

  test.each(SEEN.map((r) => [`${r.method} ${r.url} ${JSON.stringify(r.body ?? '')}`, r] as const))('the same request passes: %s', (_n, req) => {
    expect(passes(operator, req) && req.method !== 'GET').toBe(false)
    expect(passes(learned, req)).toBe(true)
  })

  test('an API version below the floor lowers the floor to the version seen, no further', () => {
    expect(result.out).toMatch(/api_version_floor: "1\.23" # 1× \(would-deny 1\) by uid 1000 on unix:\/\/\/run\/dg\.sock: the lowest API version seen/)
    expect(passes(learned, { method: 'GET', url: '/v1.22/containers/json' })).toBe(false)
  })

  test('a request refused in enforce mode counts as seen, and its comment says so', () => {
    expect(passes(learned, DENIED)).toBe(true)
    expect(result.out).toMatch(/privileged: true # 1× \(deny 1\) by uid 0 on unix:\/\/\/run\/dg\.sock: ContainerCreate HostConfig\.Privileged=true/)
  })

  test.each([
    ['another bind', create({ Binds: ['/srv/work2:/work'] })],
    ['a read-only bind writable', create({ Binds: ['/srv/ro:/ro'] })],
    ['a read-only mount writable', create({ Mounts: [{ Type: 'bind', Source: '/srv/m', Target: '/m' }] })],
    ['a capability never seen', create({ CapAdd: ['SYS_ADMIN'] })],
    ['an operation never seen', { method: 'GET', url: '/v1.41/containers/x/export' }],
    ['what no policy allows (top-level HostConfig)', LEGACY],
  ])('anything else is refused: %s', (_n, req) => {
    expect(passes(learned, req)).toBe(false)
  })

  test('each entry says how often, with which decision, by whom and where; what stays refused is listed', () => {
    expect(result.out).toMatch(/^# Learned by `dockgate learn` from 9 audit records \(allow 1, would-deny 7, deny 1\) made under policy "container-operator"\./)
    expect(result.out).toMatch(/- ContainerArchive # 1× \(would-deny 1\) by uid 1000 on unix:\/\/\/run\/dg\.sock/)
    expect(result.out).toMatch(/# 1× \(would-deny 1\) by uid 1000 on unix:\/\/\/run\/dg\.sock: ContainerCreate HostConfig\.Binds\[0\]="\/srv\/ro:\/ro:ro"\n\s+- path: \/srv\/ro\n\s+read_only: true/)
    expect(result.out).toMatch(/# Not learned: these stay refused under this policy too\.\n# - ContainerCreate Privileged=true \(guard container\.legacy_hostconfig\): HostConfig fields at the top level/)
    expect(result.out).not.toMatch(/ContainerList/)
  })

  test('--listener and --client choose the records', () => {
    const two = [LOG, record(operator, create({ Binds: ['/srv/other:/o'] }), 'audit', { uid: 2000 }, 'unix:///run/other.sock')].join('\n')
    const other = run(['--listener', 'unix:///run/other.sock', '-'], two)
    expect(other.out).toContain('/srv/other')
    expect(other.out).not.toContain('/srv/work')
    const byUid = run(['--client', 'uid=0', '-'], two)
    expect(byUid.out).toContain('privileged: true')
    expect(byUid.out).not.toContain('/srv/work')
    expect(run(['--client', 'uid=0', '--client', 'uid=2000', '-'], two).out).toContain('/srv/other')
    expect(run(['--client', 'uid=0', '--client', 'entry=ci', '-'], two).code).toBe(1)
  })

  test('records of several policies are learned one policy at a time', () => {
    const mixed = [LOG, record(loadPolicy('read-only'), { method: 'GET', url: '/v1.41/info' }, 'audit', UID)].join('\n')
    const r = run(['-'], mixed)
    expect(r.code).toBe(2)
    expect(r.err).toContain('the records were made under 2 policies ("container-operator": 9, "read-only": 1)')
  })

  test('under "full" only operations are learned, and the policy says why', () => {
    const full = loadPolicy('full')
    const r = run(['-'], record(full, create({ Privileged: true }), 'audit', UID))
    expect(r.code).toBe(0)
    expect(r.out).toContain('Note: the records were made under "full", which checks no bodies')
    expect(r.out).not.toContain('extends')
    expect(compilePolicyText(r.out).warnings).toEqual([])
  })

  test('dockgate learn is a subcommand, next to check', async () => {
    const { main } = await import('../../src/main.js')
    expect(await main(['learn', '/nonexistent/audit.log'], {})).toBe(2)
  })

  test('a policy that would not load is not printed: a BuildKit session seen without its build', () => {
    const session = JSON.stringify({ audit: { decision: 'would-deny', operation: 'Session', policy: 'read-only', listener: 'l', client: UID, method: 'POST', path: '/session', code: 'DG_DENY_OPERATION' } })
    const r = run(['-'], session)
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err).toMatch(/would not load cleanly:\n  learned\.yaml:\d+:\d+: .*Session/)
  })

  test('only pings under a policy that is not a preset: nothing to learn', () => {
    const ping = JSON.stringify({ audit: { decision: 'allow', operation: 'SystemPing', policy: 'env', listener: 'l', client: UID, method: 'GET', path: '/_ping' } })
    expect(run(['-'], ping)).toMatchObject({ code: 1, err: expect.stringContaining('nothing beyond /_ping') })
  })

  test('usage problems and empty input', () => {
    expect(run([]).code).toBe(2)
    expect(run(['--client', 'name=x', '-']).err).toContain('--client takes KEY=VALUE with KEY one of uid, gid, pid, address, subject, entry')
    expect(run(['-'], 'nothing here\n').code).toBe(1)
    expect(run(['/nonexistent/log']).code).toBe(2)
    expect(run(['--help']).out).toMatch(/^Usage: dockgate learn LOG\.\.\./)
  })
})

describe('streams and sessions have a start and an end record', () => {
  test('each is seen once: the end record is passed over', () => {
    const line = (phase: string | undefined): string => JSON.stringify({
      level: 'warn', time: '2026-01-01T00:00:00.000Z', service: 'dockgate', msg: 'x',
      audit: {
        id: 'abc123-1', listener: 'unix:///run/dg.sock', policy: 'read-only', client: { uid: 1000 }, method: 'GET', path: '/containers/x/archive', operation: 'ContainerArchive',
        decision: 'would-deny', code: 'DG_DENY_OPERATION', ...(phase === undefined ? {} : { phase }), ...(phase === 'end' ? { status: 200, bytesIn: 120, bytesOut: 4096, durationMs: 3 } : {}),
      },
    })
    const r = run(['-'], [line('start'), line('end')].join('\n'))
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/^# Learned by `dockgate learn` from 1 audit records \(would-deny 1\)/)
    expect(r.out).toMatch(/- ContainerArchive # 1× \(would-deny 1\) by uid 1000/)
  })
})
