/**
 * The containerised dockgate keeps clients out of its own container, by every name a client can
 * use for it: its name, `/name`, its full id and an id prefix. exec, kill, stop, remove, rename,
 * update, attach, archive and export on it are refused (DG_DENY_SELF wherever the policy allows the
 * operation at all) and reach the engine not
 * at all (an engine tap sits between dockgate and the engine), while the same operations on an
 * ordinary container pass.
 *
 * Two listeners of one dockgate container: `container-operator` itself, and the same policy plus
 * rename, update, archive and export (which container-operator leaves out), so that every
 * operation can be shown to pass on an ordinary container and be refused on dockgate's.
 */
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { removeContainersLabelled } from '../support/client-parity.js'
import { startTap, type Tap } from '../support/tap.js'
import { engineRequest } from '../support/engine.js'
import { buildDockgateImage, containerState, DOCKGATE_IMAGE, dockerOk, dockerRun, waitHealth } from '../support/image.js'

const engine = inject('engineSocket')
const LABEL = 'dockgate.test=image-self'
const SELF = `dg-self-${process.pid}`
let selfId: string
let tap: Tap
const dirs: string[] = []
const sockets = { operator: '', wider: '' }

type Ref = 'name' | 'full id' | 'id prefix'
const REFS: readonly Ref[] = ['name', 'full id', 'id prefix']
const refOf = (ref: Ref, name: string, id: string): string => (ref === 'name' ? name : ref === 'full id' ? id : id.slice(0, 12))

interface Op {
  readonly op: string
  readonly method: string
  readonly path: (ref: string) => string
  readonly body?: unknown
  readonly upgrade?: boolean
  /** What the engine answers when it is done on an ordinary container. */
  readonly pass: number
  /** Whether container-operator itself allows it. */
  readonly inOperator: boolean
}

const OPS: readonly Op[] = [
  { op: 'exec', method: 'POST', path: (r) => `/containers/${r}/exec`, body: { Cmd: ['true'], AttachStdout: true }, pass: 201, inOperator: true },
  { op: 'kill', method: 'POST', path: (r) => `/containers/${r}/kill`, pass: 204, inOperator: true },
  { op: 'stop', method: 'POST', path: (r) => `/containers/${r}/stop?t=0`, pass: 204, inOperator: true },
  { op: 'remove', method: 'DELETE', path: (r) => `/containers/${r}?force=1`, pass: 204, inOperator: true },
  { op: 'rename', method: 'POST', path: (r) => `/containers/${r}/rename?name=renamed-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, pass: 204, inOperator: false },
  { op: 'update', method: 'POST', path: (r) => `/containers/${r}/update`, body: { CpuShares: 512 }, pass: 200, inOperator: false },
  { op: 'attach', method: 'POST', path: (r) => `/containers/${r}/attach?stream=1&stdout=1`, upgrade: true, pass: 101, inOperator: true },
  { op: 'archive', method: 'GET', path: (r) => `/containers/${r}/archive?path=/etc/passwd`, pass: 200, inOperator: false },
  { op: 'export', method: 'GET', path: (r) => `/containers/${r}/export`, pass: 200, inOperator: false },
]

/** One request on a dockgate socket; an upgrade answered 101 is closed at once. */
function send(socket: string, op: Op, ref: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = op.body === undefined ? undefined : Buffer.from(JSON.stringify(op.body))
    const headers: Record<string, string> = { host: 'docker' }
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(payload.length) })
    if (op.upgrade) Object.assign(headers, { connection: 'Upgrade', upgrade: 'tcp' })
    const req = http.request({ socketPath: socket, method: op.method, path: op.path(ref), headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode ?? 0, text: '' })
    })
    req.setTimeout(60_000, () => req.destroy(new Error(`${op.method} ${op.path(ref)}: timed out`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** An ordinary running container, made on the engine itself. */
async function ordinary(): Promise<{ name: string; id: string }> {
  const name = `dg-plain-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const id = await dockerOk(engine, ['run', '-d', '--name', name, '--label', LABEL, '--network', 'none', 'busybox:test', 'sleep', '600'])
  return { name, id }
}

/** Requests the engine received that are more than an inspection or a ping. */
function acted(requests: ReturnType<Tap['requests']>): string[] {
  return requests
    .filter((r) => !(r.method === 'GET' && /^(\/v[\d.]+)?\/containers\/[^/?]+\/json(\?|$)/.test(r.target)) && !/^(\/v[\d.]+)?\/_ping$/.test(r.target))
    .map((r) => r.line)
}

beforeAll(async () => {
  await removeContainersLabelled(engine, LABEL)
  await buildDockgateImage(engine)
  const run = mkdtempSync(join(tmpdir(), 'dockgate-image-self-'))
  const etc = mkdtempSync(join(tmpdir(), 'dockgate-image-self-etc-'))
  const tapDir = mkdtempSync(join(tmpdir(), 'dockgate-image-self-tap-'))
  dirs.push(run, etc, tapDir)
  chownSync(run, 65532, 65532)
  for (const d of [run, etc, tapDir]) chmodSync(d, 0o755)
  writeFileSync(join(etc, 'dockgate.yaml'), [
    'listeners:',
    '  - listen: unix:///run/dockgate/operator.sock',
    '    policy: container-operator',
    '  - listen: unix:///run/dockgate/wider.sock',
    '    policy: ./wider.yaml',
    '',
  ].join('\n'))
  writeFileSync(join(etc, 'wider.yaml'), [
    'name: operator-plus-files',
    'extends: [container-operator]',
    'rules:',
    '  - allow: [ContainerRename, ContainerUpdate, ContainerArchive, ContainerArchiveInfo, ContainerExport]',
    '',
  ].join('\n'))
  tap = await startTap(join(tapDir, 'engine.sock'), engine)
  chmodSync(join(tapDir, 'engine.sock'), 0o666)
  selfId = await dockerOk(engine, [
    'run', '-d', '--name', SELF, '--label', LABEL, '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--network', 'none',
    '--health-interval', '1s', '--health-timeout', '30s', '--health-start-period', '1s',
    '-v', `${join(tapDir, 'engine.sock')}:/var/run/docker.sock`, '-v', `${run}:/run/dockgate`, '-v', `${etc}:/etc/dockgate:ro`,
    '-e', 'DOCKGATE_CONFIG=/etc/dockgate/dockgate.yaml', DOCKGATE_IMAGE,
  ])
  await waitHealth(engine, SELF, 'healthy')
  sockets.operator = join(run, 'operator.sock')
  sockets.wider = join(run, 'wider.sock')
}, 900_000)

afterAll(async () => {
  await removeContainersLabelled(engine, LABEL)
  await tap?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  rmSync(join(tmpdir(), `dockgate-image-self-export-${process.pid}.tar`), { force: true })
})

// Ordinary containers first, while dockgate is sure to be up; then dockgate's own, by the
// references it has known longest (ids) before names.
describe.each(['operator', 'wider'] as const)('an ordinary container through listener %s', (listener) => {
  test.each(OPS.map((op, i) => [op.op, REFS[i % REFS.length]!, op] as const))('%s by %s', async (_op, ref, op) => {
    const c = await ordinary()
    const r = await send(sockets[listener], op, refOf(ref, c.name, c.id))
    if (listener === 'wider' || op.inOperator) expect([r.status, r.text.slice(0, 300)]).toEqual([op.pass, expect.anything()])
    else expect([r.status, r.text]).toEqual([403, expect.stringMatching(/\[DG_DENY_OPERATION\]; to allow it .*"\}\n$/)])
  })
})

describe.each(['full id', 'id prefix', 'name'] as const)('dockgate\'s own container by %s', (ref) => {
  // An operation the listener's policy does not allow is refused by the policy before anything is
  // looked up (DG_DENY_OPERATION); every allowed one is refused as dockgate's own (DG_DENY_SELF).
  test.each(OPS.flatMap((op) => (['operator', 'wider'] as const).map((listener) => [op.op, listener, op] as const)))('%s through %s: refused, nothing reaches the engine', async (_op, listener, op) => {
    tap.clear()
    const r = await send(sockets[listener], op, refOf(ref, SELF, selfId))
    const code = listener === 'wider' || op.inOperator ? 'DG_DENY_SELF' : 'DG_DENY_OPERATION'
    expect([r.status, r.text]).toEqual([403, expect.stringMatching(new RegExp(`^\\{"message":"dockgate: .*\\[${code}\\](; to allow it .*)?"\\}\\n$`))])
    expect(acted(tap.requests())).toEqual([])
  })
})

describe('by /name', () => {
  test.each([
    ['exec', ['exec', `/${SELF}`, 'true']],
    ['kill', ['kill', `/${SELF}`]],
    ['stop', ['stop', '-t', '0', `/${SELF}`]],
    ['remove', ['rm', '-f', `/${SELF}`]],
    ['rename', ['rename', `/${SELF}`, `renamed-${process.pid}`]],
    ['update', ['update', '--cpu-shares', '512', `/${SELF}`]],
    // The CLI refuses to write an export to a character device: a file in the test's temp dir.
    ['export', ['export', '-o', join(tmpdir(), `dockgate-image-self-export-${process.pid}.tar`), `/${SELF}`]],
  ] as const)('docker %s /name through a policy that allows it: DG_DENY_SELF', async (_op, args) => {
    tap.clear()
    const r = await dockerRun(`unix://${sockets.wider}`, args)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/Error response from daemon: dockgate: .*\[DG_DENY_SELF\]/)
    expect(acted(tap.requests())).toEqual([])
  })

  test.each([
    ['//name', `/${SELF}`],
    ['%2Fname', `%2F${SELF}`],
  ])('a raw path with %s is refused and reaches nothing', async (_form, ref) => {
    tap.clear()
    for (const op of OPS) {
      const r = await send(sockets.operator, op, ref)
      expect([r.status, r.text], `${op.op}`).toEqual([expect.any(Number), expect.stringMatching(/\[(DG_DENY_SELF|DG_REQ_AMBIGUOUS_PATH)\]"\}\n$/)])
      expect(r.status === 403 || r.status === 400, `${op.op}: HTTP ${r.status}`).toBe(true)
    }
    expect(acted(tap.requests())).toEqual([])
  })
})

describe('afterwards', () => {
  test('dockgate\'s container is untouched: running, same name, no exec but its health checks, no update', async () => {
    const res = await engineRequest(engine, 'GET', `/containers/${selfId}/json`)
    const c = JSON.parse(res.body.toString()) as { Name: string; State: { Status: string }; ExecIDs: string[] | null; HostConfig: { CpuShares: number } }
    expect([c.Name, c.State.Status, c.HostConfig.CpuShares]).toEqual([`/${SELF}`, 'running', 0])
    for (const exec of c.ExecIDs ?? []) {
      const e = JSON.parse((await engineRequest(engine, 'GET', `/exec/${exec}/json`)).body.toString()) as { ProcessConfig: { entrypoint: string; arguments: string[] } }
      expect([e.ProcessConfig.entrypoint, ...e.ProcessConfig.arguments]).toEqual(['/usr/local/bin/node', '/app/dist/cli.js', 'healthcheck'])
    }
    expect((await containerState(engine, SELF)).Health?.Status).toBe('healthy')
  })
})
