/**
 * dockgate's image, built offline (scripts/build-image.sh --offline) and run against the test
 * engine the way the README says to run it: read-only root filesystem, cap_drop ALL,
 * no-new-privileges, network none (clients join its network namespace), the engine socket
 * mounted with the socket's group added.
 *
 * Covers: healthy, non-root, hardened; the TCP default (logged as plaintext); a unix socket
 * whose group and mode come from DOCKGATE_SOCKET_*; the start-up check of the engine socket
 * (advice, not ready, retries, success logged once); socket directory errors; what the image holds.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { removeContainersLabelled } from '../support/client-parity.js'
import { engineRequest } from '../support/engine.js'
import {
  buildDockgateImage, containerLogs, containerState, DOCKER_CLI_IMAGE, DOCKGATE_IMAGE, dockerOk, dockerRun, ensureDockerCliImage,
  logMessages, socketGroup, waitExit, waitHealth, waitHealthCheck,
} from '../support/image.js'

const engine = inject('engineSocket')
const LABEL = 'dockgate.test=image'
const IMAGE_UID = 65532
let gid: number
const dirs: string[] = []
const name = (what: string): string => `dg-image-${what}-${process.pid}`

/** The hardening the README's compose file uses, and a fast health check for the test. */
const HARDENED = [
  '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--network', 'none', '--label', LABEL,
  '--health-interval', '1s', '--health-retries', '1', '--health-timeout', '30s', '--health-start-period', '1s',
]

/** A host directory for a bind mount, owned by `uid` (the image's user unless said otherwise). */
function hostDir(uid = IMAGE_UID): string {
  const d = mkdtempSync(join(tmpdir(), 'dockgate-image-'))
  chownSync(d, uid, uid)
  chmodSync(d, 0o755) // clients running as other users must be able to reach the sockets in it
  dirs.push(d)
  return d
}

beforeAll(async () => {
  await removeContainersLabelled(engine, LABEL)
  gid = await socketGroup(engine)
  const built = await buildDockgateImage(engine)
  await ensureDockerCliImage(engine)
  console.log(`[image] built ${DOCKGATE_IMAGE} in ${built.ms} ms: ${(built.sizeBytes / 1024 / 1024).toFixed(1)} MiB`)
}, 900_000)

afterAll(async () => {
  await removeContainersLabelled(engine, LABEL)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('the image, hardened, on TCP 2375', () => {
  const c = name('tcp')
  beforeAll(async () => {
    await dockerOk(engine, ['run', '-d', '--name', c, ...HARDENED, '--group-add', String(gid), '-v', `${engine}:/var/run/docker.sock`, '-e', 'DOCKGATE_POLICY=read-only', DOCKGATE_IMAGE])
  })

  test('becomes healthy: the engine and GET /_ping through tcp://0.0.0.0:2375 answer', async () => {
    await waitHealth(engine, c, 'healthy')
    expect(await waitHealthCheck(engine, c, 0)).toMatch(/^healthy: engine at unix:\/\/\/var\/run\/docker\.sock answers \(API \d+\.\d+\); tcp:\/\/0\.0\.0\.0:2375 answers \/_ping\n$/)
  })

  test('logs the listener, that it is plaintext, and the engine once', async () => {
    const msgs = await logMessages(engine, c)
    expect(msgs).toContain('listening on tcp://0.0.0.0:2375 with policy read-only')
    expect(msgs.filter((m) => m.includes('tcp://0.0.0.0:2375 is reachable from the network without TLS'))).toHaveLength(1)
    expect(msgs.filter((m) => m.startsWith('engine reachable at unix:///var/run/docker.sock'))).toHaveLength(1)
  })

  test('runs as uid 65532 with no capabilities, no new privileges and a read-only root filesystem', async () => {
    const script = [
      "const fs = require('fs')",
      "const status = fs.readFileSync('/proc/1/status', 'utf8')",
      "let write = 'written'; try { fs.writeFileSync('/app/x', '') } catch (e) { write = e.code }",
      "console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups().sort((a, b) => a - b), capEff: /CapEff:\\s*(\\w+)/.exec(status)[1], noNewPrivs: /NoNewPrivs:\\s*(\\d)/.exec(status)[1], write }))",
    ].join('; ')
    const out = JSON.parse(await dockerOk(engine, ['exec', c, '/usr/local/bin/node', '-e', script])) as Record<string, unknown>
    expect(out).toEqual({ uid: IMAGE_UID, gid: IMAGE_UID, groups: [gid, IMAGE_UID].sort((a, b) => a - b), capEff: '0000000000000000', noNewPrivs: '1', write: 'EROFS' })
  })

  test('a client in its network namespace uses it as DOCKER_HOST=tcp://…:2375; refusals carry dockgate\'s message', async () => {
    const client = ['run', '--rm', '--label', LABEL, '--network', `container:${c}`, '-e', 'DOCKER_HOST=tcp://127.0.0.1:2375', DOCKER_CLI_IMAGE, 'docker']
    expect(await dockerOk(engine, [...client, 'ps', '--format', '{{.Names}}'])).toContain(c)
    const refused = await dockerRun(engine, [...client, 'run', '--rm', '--network', 'none', 'busybox:test', 'true'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('Error response from daemon: dockgate: POST /containers/create (ContainerCreate) is not allowed by policy "read-only" [DG_DENY_OPERATION]; to allow it add "ContainerCreate" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, dozzle-actions, …)')
  })
})

describe('with no policy and no variable: what Tecnativa\'s image serves (EVENTS=1 PING=1 VERSION=1)', () => {
  const c = name('defaults')
  beforeAll(async () => {
    await dockerOk(engine, ['run', '-d', '--name', c, ...HARDENED, '--group-add', String(gid), '-v', `${engine}:/var/run/docker.sock`, DOCKGATE_IMAGE])
    await waitHealth(engine, c, 'healthy')
  })
  const client = (): string[] => ['run', '--rm', '--label', LABEL, '--network', `container:${c}`, '-e', 'DOCKER_HOST=tcp://127.0.0.1:2375', DOCKER_CLI_IMAGE, 'docker']

  test('version and events answer', async () => {
    expect(await dockerOk(engine, [...client(), 'version', '--format', '{{.Server.APIVersion}}'])).toMatch(/^\d+\.\d+$/)
    const events = await dockerRun(engine, [...client(), 'events', '--since', '0s', '--until', '0s'])
    expect(events.code, events.stderr).toBe(0)
  })

  test('listing containers is refused, naming the policy made from the variables', async () => {
    const r = await dockerRun(engine, [...client(), 'ps'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('Error response from daemon: dockgate: GET /containers/json (ContainerList) is not allowed by policy "env" [DG_DENY_OPERATION]; to allow it set CONTAINERS=1, or choose a policy with --policy (presets with it: read-only, container-operator, ci, …)')
  })
})

describe('a unix socket next to TCP, with group and mode from DOCKGATE_SOCKET_*', () => {
  const c = name('unix')
  const clientGid = 4242
  let dir: string
  beforeAll(async () => {
    dir = hostDir()
    await dockerOk(engine, [
      'run', '-d', '--name', c, ...HARDENED, '--group-add', String(gid), '--group-add', String(clientGid),
      '-v', `${engine}:/var/run/docker.sock`, '-v', `${dir}:/run/dockgate`,
      '-e', 'DOCKGATE_POLICY=container-operator',
      '-e', 'DOCKGATE_LISTEN=tcp://0.0.0.0:2375,unix:///run/dockgate/docker.sock',
      '-e', `DOCKGATE_SOCKET_GROUP=${clientGid}`, '-e', 'DOCKGATE_SOCKET_MODE=0660',
      DOCKGATE_IMAGE,
    ])
    await waitHealth(engine, c, 'healthy')
  })

  test('the healthcheck pings both listeners', async () => {
    expect(await waitHealthCheck(engine, c, 0)).toMatch(/tcp:\/\/0\.0\.0\.0:2375 answers \/_ping; unix:\/\/\/run\/dockgate\/docker\.sock answers \/_ping\n$/)
  })

  test('the socket has the owner, group and mode asked for', () => {
    const st = statSync(join(dir, 'docker.sock'))
    expect([st.isSocket(), st.uid, st.gid, (st.mode & 0o777).toString(8)]).toEqual([true, IMAGE_UID, clientGid, '660'])
  })

  test.each([
    ['a member of the group connects', 5001, clientGid, 'connected'],
    ['another user does not', 5002, 5002, 'EACCES'],
  ] as const)('%s', (_name, uid, userGid, expected) => {
    const script = `require('net').connect(process.argv[1]).on('connect', function () { console.log('connected'); this.destroy() }).on('error', (e) => console.log(e.code))`
    const r = spawnSync(process.execPath, ['-e', script, join(dir, 'docker.sock')], { uid, gid: userGid, encoding: 'utf8' })
    expect(r.stdout.trim()).toBe(expected)
  })

  test('docker run works through it; a privileged one is refused with dockgate\'s message', async () => {
    const host = `unix://${dir}/docker.sock`
    const ok = await dockerRun(host, ['run', '--rm', '--network', 'none', '--label', LABEL, 'busybox:test', 'echo', 'hi'])
    expect([ok.code, ok.stdout.toString().trim()]).toEqual([0, 'hi'])
    const refused = await dockerRun(host, ['run', '--rm', '--privileged', '--network', 'none', '--label', LABEL, 'busybox:test', 'true'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('Error response from daemon: dockgate: ContainerCreate denied by policy "container-operator": HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy) [DG_DENY_BODY]')
    expect(refused.stderr).toContain('[DG_DENY_BODY]')
  })
})

describe('the start-up check of the engine socket', () => {
  test('the socket\'s group not added: the exact --group-add to use, not ready, stays up', async () => {
    const c = name('nogroup')
    const dir = hostDir()
    await dockerOk(engine, [
      'run', '-d', '--name', c, ...HARDENED, '--group-add', '999', '-v', `${engine}:/var/run/docker.sock`, '-v', `${dir}:/run/dockgate`,
      '-e', 'DOCKGATE_POLICY=read-only', '-e', 'DOCKGATE_ADMIN=unix:///run/dockgate/admin.sock', DOCKGATE_IMAGE,
    ])
    const advice = `run the container with --group-add ${gid} / group_add: ['${gid}']`
    const health = await waitHealthCheck(engine, c, 1)
    expect(health).toContain(`unhealthy: engine: permission denied on /var/run/docker.sock (owned by uid 0, group ${gid}, mode 0660; dockgate runs as uid ${IMAGE_UID}, groups ${IMAGE_UID},999): ${advice}`)
    expect(health).toMatch(/unhealthy: tcp:\/\/0\.0\.0\.0:2375: GET \/_ping answered HTTP 502: dockgate: .*\[DG_UPSTREAM_UNREACHABLE\]/)
    const errors = (await logMessages(engine, c)).filter((m) => m.startsWith('cannot reach the engine'))
    expect(errors).toEqual([`cannot reach the engine: permission denied on /var/run/docker.sock (owned by uid 0, group ${gid}, mode 0660; dockgate runs as uid ${IMAGE_UID}, groups ${IMAGE_UID},999): ${advice}. dockgate stays up, is not ready, and retries`])
    const ready = await engineRequest(join(dir, 'admin.sock'), 'GET', '/readyz')
    expect([ready.status, ready.body.toString()]).toEqual([503, `engine not reachable: permission denied on /var/run/docker.sock (owned by uid 0, group ${gid}, mode 0660; dockgate runs as uid ${IMAGE_UID}, groups ${IMAGE_UID},999): ${advice}\n`])
    expect((await containerState(engine, c)).Status).toBe('running')
  })

  test('no socket yet: says which mount is missing, retries, becomes ready when it appears and says so once', async () => {
    const c = name('later')
    const upstreamDir = hostDir(0)
    await dockerOk(engine, [
      'run', '-d', '--name', c, ...HARDENED, '-v', `${upstreamDir}:/var/run/engine`,
      '-e', 'DOCKGATE_POLICY=read-only', '-e', 'DOCKGATE_UPSTREAM=unix:///var/run/engine/docker.sock', DOCKGATE_IMAGE,
    ])
    expect(await waitHealthCheck(engine, c, 1)).toContain("unhealthy: engine: no such file: /var/run/engine/docker.sock: mount the engine socket with -v /var/run/docker.sock:/var/run/engine/docker.sock (compose: volumes: ['/var/run/docker.sock:/var/run/engine/docker.sock'])")
    // The engine "appears": a relay to the real engine on the mounted path, open to the container's user.
    const relayPath = join(upstreamDir, 'docker.sock')
    const relay = net.createServer((client) => {
      const up = net.connect(engine)
      client.pipe(up).pipe(client)
      client.on('error', () => up.destroy())
      up.on('error', () => client.destroy())
    })
    await new Promise<void>((r) => relay.listen(relayPath, r))
    try {
      chmodSync(relayPath, 0o666)
      await waitHealth(engine, c, 'healthy')
      const msgs = await logMessages(engine, c)
      expect(msgs.filter((m) => m.startsWith('cannot reach the engine: no such file: /var/run/engine/docker.sock')), msgs.join('\n')).toHaveLength(1)
      expect(msgs.filter((m) => m.startsWith('engine reachable at'))).toEqual([expect.stringMatching(/^engine reachable at unix:\/\/\/var\/run\/engine\/docker\.sock \(API \d+\.\d+\) after \d+ s: ready$/)])
    } finally {
      await dockerRun(engine, ['rm', '-f', c])
      await new Promise<void>((r) => relay.close(() => r()))
    }
  })
})

describe('socket directories and owners: clear errors at start, exit code 2', () => {
  test.each([
    ['a mounted directory the image\'s user may not write', (d: string) => ['-v', `${d}:/run/dockgate`, '-e', 'DOCKGATE_LISTEN=unix:///run/dockgate/docker.sock'], 0,
      `dockgate: cannot create the socket /run/dockgate/docker.sock: directory /run/dockgate is not writable by dockgate (uid ${IMAGE_UID}; the directory is owned by uid 0, group 0, mode 0755): mount a volume there that uid ${IMAGE_UID} may write`],
    ['a directory that does not exist', () => ['-e', 'DOCKGATE_LISTEN=unix:///run/other/docker.sock'], IMAGE_UID,
      `dockgate: directory /run/other does not exist, and dockgate (uid ${IMAGE_UID}) may not create it in /run (owned by uid 0, group 0, mode 0755): create it first (install -d -m 0755 -o ${IMAGE_UID} /run/other)`],
    ['an owner the image\'s user cannot give', (d: string) => ['-v', `${d}:/run/dockgate`, '-e', 'DOCKGATE_LISTEN=unix:///run/dockgate/docker.sock', '-e', 'DOCKGATE_SOCKET_OWNER=1001'], IMAGE_UID,
      `dockgate: cannot give /run/dockgate/docker.sock to uid 1001: dockgate runs as uid ${IMAGE_UID} without CAP_CHOWN. Run dockgate as uid 1001, or leave the owner unset and let the socket's group and mode decide (a group dockgate is a member of, see --group-add)`],
    // A name: resolved inside the image through getent (its /etc/passwd has root and dockgate).
    ['an owner by name the image\'s user cannot give', (d: string) => ['-v', `${d}:/run/dockgate`, '-e', 'DOCKGATE_LISTEN=unix:///run/dockgate/docker.sock', '-e', 'DOCKGATE_SOCKET_OWNER=root'], IMAGE_UID,
      `dockgate: cannot give /run/dockgate/docker.sock to uid 0: dockgate runs as uid ${IMAGE_UID} without CAP_CHOWN. Run dockgate as uid 0, or leave the owner unset and let the socket's group and mode decide (a group dockgate is a member of, see --group-add)`],
  ] as const)('%s', async (what, args, dirUid, message) => {
    const c = name(`dir-${what.length}`)
    const d = hostDir(dirUid)
    await dockerOk(engine, ['run', '-d', '--name', c, ...HARDENED, '--group-add', String(gid), '-v', `${engine}:/var/run/docker.sock`, ...args(d), DOCKGATE_IMAGE])
    expect(await waitExit(engine, c)).toBe(2)
    expect((await containerLogs(engine, c)).trim().split('\n').at(-1)).toBe(message)
  })

  test('an owner name the image does not know: a config problem naming the variable', async () => {
    const c = name('dir-unknown-owner')
    const d = hostDir(IMAGE_UID)
    await dockerOk(engine, ['run', '-d', '--name', c, ...HARDENED, '-v', `${engine}:/var/run/docker.sock`, '-v', `${d}:/run/dockgate`,
      '-e', 'DOCKGATE_LISTEN=unix:///run/dockgate/docker.sock', '-e', 'DOCKGATE_SOCKET_OWNER=nobody-here', DOCKGATE_IMAGE])
    expect(await waitExit(engine, c)).toBe(2)
    expect((await containerLogs(engine, c)).trim().split('\n').slice(-2)).toEqual([
      'dockgate: DOCKGATE_SOCKET_OWNER: unknown user "nobody-here": `getent passwd nobody-here` finds none (it asks /etc/passwd and any LDAP, SSSD or other NSS source of this host)',
      'dockgate: 1 problem(s); see dockgate --help',
    ])
  })
})

describe('what the image holds', () => {
  test('node, getent, their libraries, dockgate and its production dependencies; no shell, no npm, no CA bundle', async () => {
    const c = name('files')
    await dockerOk(engine, ['create', '--name', c, '--label', LABEL, '--network', 'none', DOCKGATE_IMAGE])
    const exported = await engineRequest(engine, 'GET', `/containers/${c}/export`, undefined, { timeoutMs: 120_000 })
    const list = spawnSync('tar', ['-t'], { input: exported.body, encoding: 'utf8', maxBuffer: 64 << 20 }).stdout.split('\n').filter((l) => l !== '')
    // What the engine adds to every container: mount points and /.dockerenv.
    const engineAdds = /^(\.dockerenv|dev|proc|sys)(\/|$)|^etc\/(hostname|hosts|resolv\.conf|mtab)$/
    const tops = [...new Set(list.filter((f) => !engineAdds.test(f)).map((f) => f.split('/')[0]))].sort()
    expect(tops).toEqual(['app', 'etc', 'lib', 'lib64', 'run', 'usr'])
    expect(list).toContain('usr/local/bin/node')
    // Socket owner and group names are resolved through NSS with getent (src/nss.ts).
    expect(list).toContain('usr/bin/getent')
    expect(list).toContain('app/dist/cli.js')
    expect(list).toContain('app/policies/read-only.yaml')
    expect(list.filter((f) => f.startsWith('etc/') && !engineAdds.test(f)).sort()).toEqual(['etc/', 'etc/group', 'etc/passwd'])
    for (const absent of [/^bin\//, /\/npm\//, /npm-cache/, /ssl|certs|\.crt$|\.pem$/, /^app\/node_modules\/(typescript|vitest|dockerode)\//, /^app\/src\//]) {
      expect(list.filter((f) => absent.test(f)), String(absent)).toEqual([])
    }
  })

  test('image configuration: user, default listener, Tecnativa defaults, health check, port', async () => {
    const res = await engineRequest(engine, 'GET', `/images/${DOCKGATE_IMAGE}/json`)
    const cfg = (JSON.parse(res.body.toString()) as { Config: { User: string; Env: string[]; Healthcheck: { Test: string[] }; ExposedPorts: Record<string, unknown>; Entrypoint: string[] } }).Config
    expect(cfg.User).toBe(`${IMAGE_UID}:${IMAGE_UID}`)
    expect(cfg.Env).toEqual(expect.arrayContaining(['DOCKGATE_DEFAULT_LISTEN=tcp://0.0.0.0:2375', 'EVENTS=1', 'PING=1', 'VERSION=1']))
    expect(cfg.Env.filter((e) => e.startsWith('DOCKGATE_LISTEN=') || e.startsWith('DOCKGATE_POLICY=') || e.startsWith('DOCKGATE_ADMIN='))).toEqual([])
    expect(cfg.Healthcheck.Test).toEqual(['CMD', '/usr/local/bin/node', '/app/dist/cli.js', 'healthcheck'])
    expect(Object.keys(cfg.ExposedPorts)).toEqual(['2375/tcp'])
    expect(cfg.Entrypoint).toEqual(['/usr/local/bin/node', '/app/dist/cli.js'])
  })
})
