/**
 * The repository's docker-compose.yml, brought up with Debian's docker-compose 1.29 against the
 * test engine, and each of its three uses checked with the docker CLI inside its client
 * containers: what the use is for works, and what its policy refuses is refused with dockgate's
 * message.
 *
 * The variant differs from the file only where this machine requires it:
 *   - image names: the tools and docker:cli (no registry here) become DOCKER_CLI_IMAGE, whose
 *     default command keeps it running; dockgate becomes the image built from this checkout;
 *   - network mode: no bridge networks here, so the TCP proxy gets network mode none and its
 *     client joins its network namespace (`service:socket-proxy`); `networks:` and `ports:` go, and
 *     the name socket-proxy resolves to 127.0.0.1 there, as the compose network's DNS would resolve it.
 * The engine socket and its group come in through the file's own DOCKER_SOCKET and DOCKER_GID.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import YAML from 'yaml'
import { removeContainersLabelled } from '../support/client-parity.js'
import { buildDockgateImage, DOCKER_CLI_IMAGE, DOCKGATE_IMAGE, ensureDockerCliImage, REPO_ROOT, socketGroup } from '../support/image.js'

const engine = inject('engineSocket')
const PROJECT = `dgcompose${process.pid}`
const IMAGES: Readonly<Record<string, string>> = { dockgate: DOCKGATE_IMAGE, 'docker:cli': DOCKER_CLI_IMAGE, 'amir20/dozzle': DOCKER_CLI_IMAGE }
let dir: string
let composeEnv: NodeJS.ProcessEnv

interface Service {
  image?: string
  networks?: unknown
  ports?: unknown
  network_mode?: string
  extra_hosts?: string[]
}

/** docker-compose.yml with only image names and network modes changed (see the file comment). */
function variant(): string {
  const doc = YAML.parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; networks?: unknown }
  for (const [name, svc] of Object.entries(doc.services)) {
    const image = svc.image === undefined ? undefined : IMAGES[svc.image]
    if (svc.image !== undefined && image === undefined) throw new Error(`docker-compose.yml: no local stand-in for image ${svc.image} (service ${name})`)
    if (image !== undefined) svc.image = image
    delete svc.ports
    if (svc.networks !== undefined) {
      delete svc.networks
      svc.network_mode = name === 'socket-proxy' ? 'none' : 'service:socket-proxy'
      if (name === 'socket-proxy') svc.extra_hosts = ['socket-proxy:127.0.0.1']
    }
    if (svc.network_mode !== 'none' && !svc.network_mode?.startsWith('service:')) throw new Error(`service ${name} would be on a bridge network`)
  }
  delete doc.networks
  return YAML.stringify(doc)
}

/** Runs docker-compose 1.29 on the variant. */
function compose(args: readonly string[], timeoutMs = 600_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker-compose', ['-p', PROJECT, '-f', join(dir, 'docker-compose.yml'), '--project-directory', REPO_ROOT, ...args], { env: composeEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `docker-compose exec -T SERVICE docker ARGS…`: the docker CLI inside a client container. */
const cli = (service: string, args: readonly string[], env: Record<string, string> = {}): ReturnType<typeof compose> =>
  compose(['exec', '-T', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), service, 'docker', ...args], 180_000)

beforeAll(async () => {
  await buildDockgateImage(engine)
  await ensureDockerCliImage(engine)
  dir = mkdtempSync(join(tmpdir(), 'dockgate-compose-'))
  writeFileSync(join(dir, 'docker-compose.yml'), variant())
  composeEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    DOCKER_HOST: `unix://${engine}`,
    DOCKER_SOCKET: engine,
    DOCKER_GID: String(await socketGroup(engine)),
  }
  const up = await compose(['up', '-d'])
  if (up.code !== 0) throw new Error(`docker-compose up failed (${up.code}):\n${up.stderr}`)
}, 1_200_000)

afterAll(async () => {
  if (composeEnv !== undefined) await compose(['down', '-v', '--timeout', '0'])
  await removeContainersLabelled(engine, `com.docker.compose.project=${PROJECT}`)
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe('docker-compose.yml with docker-compose 1.29', () => {
  test('every service is up; the three dockgate services are healthy', async () => {
    const ps = await compose(['ps'])
    expect(ps.code).toBe(0)
    for (const s of ['socket-proxy', 'ci-proxy', 'users-proxy']) expect(ps.stdout).toMatch(new RegExp(`${PROJECT}_${s}_1 .*Up \\(healthy\\)`))
    for (const s of ['dozzle', 'ci-job', 'alice', 'bob']) expect(ps.stdout).toMatch(new RegExp(`${PROJECT}_${s}_1 .*Up`))
  })

  describe('1. the dashboard over TCP (DOCKER_HOST=tcp://socket-proxy:2375)', () => {
    test('reads: lists the containers', async () => {
      const r = await cli('dozzle', ['ps', '--format', '{{.Names}}'])
      expect([r.code, r.stdout]).toEqual([0, expect.stringContaining(`${PROJECT}_socket-proxy_1`)])
    })
    test('writes are refused with dockgate\'s message', async () => {
      const r = await cli('dozzle', ['run', '--rm', '--network', 'none', 'busybox:test', 'true'])
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('Error response from daemon: dockgate: POST /containers/create (ContainerCreate) is not allowed by policy "dozzle" [DG_DENY_OPERATION]; to allow it add "ContainerCreate" to an allow: list in a policy that extends dozzle (presets with it: container-operator, ci, dozzle-actions, …)')
    })
  })

  describe('2. the job container with dockgate\'s socket at /var/run/docker.sock', () => {
    test('docker run works', async () => {
      const r = await cli('ci-job', ['run', '--rm', '--network', 'none', 'busybox:test', 'echo', 'hi from the job'])
      expect([r.code, r.stdout.trim()]).toEqual([0, 'hi from the job'])
    })
    test('a privileged container and a host mount are refused, naming the guards', async () => {
      const r = await cli('ci-job', ['run', '--rm', '--network', 'none', '--privileged', '-v', '/:/host', 'busybox:test', 'true'])
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('Error response from daemon: dockgate: ContainerCreate denied by policy "container-operator": HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy); ')
      expect(r.stderr).toContain('; HostConfig.Binds[0]="/:/host" mounts host path /, which is not in guards.container.binds (guard container.binds; allowed now: no host paths)')
      expect(r.stderr).toContain('[DG_DENY_BODY]')
    })
  })

  describe('3. per-user sockets', () => {
    test('alice runs containers through her socket', async () => {
      const r = await cli('alice', ['run', '--rm', '--network', 'none', 'busybox:test', 'echo', 'hi alice'])
      expect([r.code, r.stdout.trim()]).toEqual([0, 'hi alice'])
    })
    test('bob may look but not run', async () => {
      const ps = await cli('bob', ['ps', '-q'])
      expect(ps.code).toBe(0)
      const run = await cli('bob', ['run', '--rm', '--network', 'none', 'busybox:test', 'true'])
      expect(run.code).not.toBe(0)
      expect(run.stderr).toContain('dockgate: POST /containers/create (ContainerCreate) is not allowed by policy "read-only" [DG_DENY_OPERATION]; to allow it add "ContainerCreate" to an allow: list in a policy that extends read-only (presets with it: container-operator, ci, dozzle-actions, …)')
    })
    test.each([
      ['alice', 'bob'],
      ['bob', 'alice'],
    ])('%s cannot use %s\'s socket', async (user, other) => {
      const r = await cli(user, ['ps'], { DOCKER_HOST: `unix:///run/dockgate/${other}.sock` })
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('permission denied')
    })
  })
})
