/**
 * A private Docker engine for the integration tests.
 *
 * Each engine is a `dockerd` with its own data-root, exec-root, pidfile and unix socket in a fresh
 * directory under /tmp, so it never touches a system daemon or /var/run/docker.sock. The networking
 * flags are required on the machines this runs on (shared/testing.md, "A private Docker engine"):
 * with `--bridge=none` containers get only `lo`, and dockerd leaves iptables and forwarding alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http, { type IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'

/** A running private dockerd. */
/**
 * Network rule: the engine must never reach out. Registry pulls, `fromSrc=URL` imports and remote
 * builds would make dockerd resolve and contact public hosts; with these proxies it sends them to
 * a closed loopback port instead (Go's ProxyFromEnvironment: no DNS lookup of the target), and
 * they fail at once. Loopback targets are never proxied, which is fine.
 */
export const OFFLINE_ENV = {
  HTTP_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  NO_PROXY: '',
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  no_proxy: '',
} as const

export interface Engine {
  /** Absolute path of the engine's unix socket (no `unix://` prefix). */
  readonly socket: string
  /** The engine's scratch directory: data/, exec/, dockerd.log, dockerd.pid, docker.sock. */
  readonly dir: string
  /** Stops dockerd (SIGTERM, SIGKILL after 20 s) and removes `dir` if it can. Idempotent. */
  stop(): Promise<void>
}

export interface StartEngineOptions {
  /** dockerd binary; default: `dockerd` found on PATH or in /usr/sbin, /usr/bin. */
  dockerd?: string
  /** How long to wait for `GET /_ping` to answer, in ms. Default 60 000. */
  readyTimeoutMs?: number
  /** Extra dockerd flags, appended after the required ones. */
  extraArgs?: readonly string[]
}

/** Prefix of every engine directory, used to find stale ones from earlier, crashed runs. */
const DIR_PREFIX = 'dockgate-engine-'
/** Time from SIGTERM to SIGKILL in stop(), in ms. */
const KILL_AFTER_MS = 20_000

/** Finds dockerd: PATH first, then the sbin directories that a non-login root shell may lack. */
export function findDockerd(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, 'dockerd')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** Starts a private dockerd and resolves once it answers `GET /_ping`. */
export async function startEngine(opts: StartEngineOptions = {}): Promise<Engine> {
  const dockerd = opts.dockerd ?? findDockerd()
  if (dockerd === undefined) {
    throw new Error('dockerd not found (PATH, /usr/sbin, /usr/bin). Install it with scripts/install-test-deps.sh (Debian package docker.io).')
  }
  await sweepStaleEngines()

  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX))
  const socket = join(dir, 'docker.sock')
  const logPath = join(dir, 'dockerd.log')
  // Our pid marks the directory as owned by a live run; see sweepStaleEngines().
  await writeFile(join(dir, 'owner.pid'), `${process.pid}\n`)
  // An empty config file, so that a system /etc/docker/daemon.json cannot change this engine.
  await writeFile(join(dir, 'daemon.json'), '{}\n')
  const id = dir.slice(dir.lastIndexOf(DIR_PREFIX) + DIR_PREFIX.length)

  const args = [
    '--config-file', join(dir, 'daemon.json'),
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'),
    '--host', `unix://${socket}`,
    // Required: loopback and unix sockets only (shared/testing.md).
    '--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false', '--ip6tables=false',
    // If a system containerd is running, dockerd 20.10 uses it instead of starting its own; own
    // namespaces keep this engine's containers and images apart from anyone else's.
    '--containerd-namespace', `dockgate-${id}`,
    '--containerd-plugins-namespace', `dockgate-${id}-plugins`,
    ...(opts.extraArgs ?? []),
  ]
  const logFd = openSync(logPath, 'a')
  let child: ChildProcess
  try {
    // detached: its own process group, so a Ctrl-C aimed at vitest does not kill the engine
    // before teardown has stopped it cleanly.
    child = spawn(dockerd, args, { stdio: ['ignore', logFd, logFd], detached: true, env: { ...process.env, ...OFFLINE_ENV } })
  } finally {
    closeSync(logFd)
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  let spawnError: Error | undefined
  child.once('error', (err) => { spawnError = err })

  // Last resort if the run ends without teardown (an uncaught error, process.exit): a synchronous
  // SIGTERM, the only kind of work an 'exit' listener can do. The directory is then swept later.
  const onExit = (): void => { try { child.kill('SIGTERM') } catch { /* already gone */ } }
  process.once('exit', onExit)

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', onExit)
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        await killContainers(socket)
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
        await exited
        clearTimeout(killer)
      }
      await killLeftovers(dir)
      await removeEngineDir(dir)
    })()
    return stopping
  }

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000)
  for (;;) {
    if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) {
      const why = spawnError?.message ?? `exited with ${child.exitCode ?? child.signalCode}`
      const tail = await logTail(logPath)
      await stop()
      throw new Error(`dockerd ${why} before it was ready.\n--- ${logPath} (tail) ---\n${tail}`)
    }
    if (await pings(socket)) break
    if (Date.now() > deadline) {
      const tail = await logTail(logPath)
      await stop()
      throw new Error(`dockerd did not answer GET /_ping on ${socket} within ${opts.readyTimeoutMs ?? 60_000} ms.\n--- ${logPath} (tail) ---\n${tail}`)
    }
    await sleep(100)
  }
  child.unref()
  return { socket, dir, stop }
}

/** An engine response with its body read in full. */
export interface EngineResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface EngineRequestOptions {
  headers?: Record<string, string>
  /** Abort after this many ms (default 60 000). */
  timeoutMs?: number
}

/**
 * One HTTP request over a unix socket. `body` may be a string or Buffer (sent as is), a Readable
 * (streamed, chunked), or any other value (sent as JSON with Content-Type application/json).
 */
export function engineRequest(
  socket: string,
  method: string,
  path: string,
  body?: unknown,
  opts: EngineRequestOptions = {},
): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers }
    let payload: Buffer | Readable | undefined
    if (body instanceof Readable) {
      payload = body
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      payload = Buffer.from(body)
    } else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body))
      headers['content-type'] ??= 'application/json'
    }
    if (Buffer.isBuffer(payload)) headers['content-length'] = String(payload.length)

    const req = http.request({ socketPath: socket, method, path, headers, host: 'localhost' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${path} on ${socket}: timed out`)))
    req.on('error', reject)
    if (payload instanceof Readable) {
      payload.on('error', (err) => req.destroy(err))
      payload.pipe(req)
    } else {
      req.end(payload)
    }
  })
}

/** True when the socket answers `GET /_ping` with 200 within a second. */
export async function pings(socket: string): Promise<boolean> {
  try {
    const res = await engineRequest(socket, 'GET', '/_ping', undefined, { timeoutMs: 1_000 })
    return res.status === 200
  } catch {
    return false
  }
}

/**
 * SIGKILLs every running container. At shutdown dockerd gives each container its stop timeout
 * (10 s by default, whatever --shutdown-timeout says) after SIGTERM, and a shell as PID 1 ignores
 * SIGTERM; the test engine's containers are disposable, so do not wait for them.
 */
async function killContainers(socket: string): Promise<void> {
  try {
    const res = await engineRequest(socket, 'GET', '/containers/json', undefined, { timeoutMs: 5_000 })
    const running = JSON.parse(res.body.toString()) as Array<{ Id: string }>
    await Promise.all(running.map((c) => engineRequest(socket, 'POST', `/containers/${c.Id}/kill`, undefined, { timeoutMs: 5_000 }).catch(() => undefined)))
  } catch {
    // The engine is hung or gone; SIGTERM and SIGKILL follow.
  }
}

async function logTail(path: string, lines = 40): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n')
  } catch (err) {
    return `(no log: ${(err as Error).message})`
  }
}

/**
 * Removes an engine directory. dockerd unmounts what it mounted when it stops cleanly; after a
 * SIGKILL mounts can remain (overlay2 layers, the data-root bind, container shm), so unmount every
 * mount point below `dir`, deepest first, before `rm -rf`. Never throws: a directory that cannot be
 * removed is left behind with a warning.
 */
export async function removeEngineDir(dir: string): Promise<void> {
  for (const mountPoint of mountsBelow(dir)) {
    spawnSync('umount', [mountPoint], { stdio: 'ignore' })
    if (mountsBelow(dir).includes(mountPoint)) spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' })
  }
  if (mountsBelow(dir).length > 0) {
    // rm -rf through a live mount would delete files of whatever is mounted there.
    console.warn(`dockgate test engine: left ${dir} in place: still has mounts`)
    return
  }
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  } catch (err) {
    console.warn(`dockgate test engine: could not remove ${dir}: ${(err as Error).message}`)
  }
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
function mountsBelow(dir: string): string[] {
  let info: string
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return []
  }
  const points = new Set<string>()
  for (const line of info.split('\n')) {
    // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped (proc(5)).
    const field = line.split(' ')[4]
    if (field === undefined) continue
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
    if (mountPoint === dir || mountPoint.startsWith(`${dir}/`)) points.add(mountPoint)
  }
  return [...points].sort((a, b) => b.length - a.length)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Cleans up after earlier runs that died without teardown (machines are reused). A directory is
 * stale when the test process that made it (owner.pid) is gone. Its dockerd, if still running, is
 * one this harness started: it is stopped only after /proc confirms its command line names this
 * directory, so a recycled pid is never signalled.
 */
async function sweepStaleEngines(): Promise<void> {
  let names: string[]
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))
  } catch {
    return
  }
  for (const name of names) {
    const dir = join(tmpdir(), name)
    const owner = readPid(join(dir, 'owner.pid'))
    if (owner === undefined || alive(owner)) continue // being set up, or in use by a live run
    const dockerdPid = readPid(join(dir, 'dockerd.pid'))
    if (dockerdPid !== undefined && alive(dockerdPid) && cmdlineMentions(dockerdPid, dir)) {
      // Gracefully first: dockerd stops its containers and unmounts their filesystems.
      process.kill(dockerdPid, 'SIGTERM')
      const deadline = Date.now() + KILL_AFTER_MS
      while (alive(dockerdPid) && cmdlineMentions(dockerdPid, dir) && Date.now() < deadline) await sleep(100)
    }
    await killLeftovers(dir)
    if (existsSync(dir)) await removeEngineDir(dir)
  }
}

/**
 * SIGKILLs what is left of an engine whose dockerd is gone or hung: processes whose command line
 * names `dir` (dockerd, its containerd, containerd-shim-runc-v2 with `-address <dir>/exec/...`) and
 * the direct children of those (container init processes; killing a pid namespace's init kills
 * the rest of the namespace). Children go first, so that no container outlives its shim.
 */
async function killLeftovers(dir: string): Promise<void> {
  const procs = listProcesses()
  const owned = new Set(procs.filter((p) => p.pid !== process.pid && p.args.some((a) => mentions(a, dir))).map((p) => p.pid))
  if (owned.size === 0) return
  const children = procs.filter((p) => owned.has(p.ppid) && !owned.has(p.pid)).map((p) => p.pid)
  for (const pid of [...children, ...owned]) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  await sleep(200) // let the kernel tear the processes down before their mounts are unmounted
}

interface ProcessInfo { pid: number; ppid: number; args: string[] }

/** Live processes from /proc; zombies have an empty command line and are left out. */
function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((n) => /^\d+$/.test(n))
  } catch {
    return out
  }
  for (const name of entries) {
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter((a) => a !== '')
      if (args.length === 0) continue
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10)
      out.push({ pid: Number(name), ppid, args })
    } catch {
      // exited while we looked
    }
  }
  return out
}

function cmdlineMentions(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => mentions(arg, dir))
  } catch {
    return false
  }
}

/** True when a command-line argument names `dir` or a path inside it. */
function mentions(arg: string, dir: string): boolean {
  return arg === dir || arg.includes(`${dir}/`)
}
