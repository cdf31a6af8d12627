/**
 * Private Docker engines for the integration tests and the bench, and plain HTTP over unix sockets.
 *
 * Plain ESM with JSDoc (types in dockerd.d.mts) so that both the TypeScript test support
 * (test/support/engine.ts) and the bench (bench/lib/engine.mjs, run by node without a TypeScript
 * step) use this one module.
 *
 * Each engine is a `dockerd` with its own data-root, exec-root, pidfile, unix socket and
 * containerd namespaces in a fresh directory under the system temp dir, so it never touches a
 * system daemon or /var/run/docker.sock. Two engines are known (ENGINES): the system's dockerd
 * 20.10 and dockerd 26.1 unpacked into .cache/dockerd26 by scripts/install-test-deps.sh. The
 * networking flags and OFFLINE_ENV are required on the machines this runs on (docs/testing.md,
 * "A private engine"): loopback and unix sockets only.
 */
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

/**
 * Network rule: the engine must never reach out. Registry pulls, `fromSrc=URL` imports and remote
 * builds would make dockerd resolve and contact public hosts; with these proxies it sends them to
 * a closed loopback port instead (Go's ProxyFromEnvironment: no DNS lookup of the target), and
 * they fail at once. Loopback targets are never proxied, which is fine.
 */
export const OFFLINE_ENV = Object.freeze({
  HTTP_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  NO_PROXY: '',
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  no_proxy: '',
})

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Where scripts/install-test-deps.sh puts dockerd 26.1, its containerd and a link to runc. */
const DOCKERD26_BIN = join(REPO_ROOT, '.cache/dockerd26/bin')
/** PATH of an unpacked engine: its own bin/ first (containerd, shim, runc), then the system's. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The engines the integration suite runs against, by `major.minor`. */
export const ENGINES = Object.freeze({
  '20.10': Object.freeze({ version: '20.10', from: "the system's dockerd (Debian 12 docker.io)" }),
  '26.1': Object.freeze({ version: '26.1', from: ".cache/dockerd26 (Debian 13 docker.io, unpacked)" }),
})
/** Engine used when none is named. */
export const DEFAULT_ENGINE = '20.10'

/** Time from SIGTERM to SIGKILL when stopping dockerd, in ms. */
const KILL_AFTER_MS = 20_000

/** Finds the system dockerd: PATH first, then the sbin directories a non-login root shell may lack. */
export function findDockerd() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    if (dir === '' || dir === DOCKERD26_BIN) continue
    const candidate = join(dir, 'dockerd')
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The dockerd binary and PATH for an engine version, or an error message saying how to get it.
 * @returns {{ dockerd: string, path: string } | { missing: string }}
 */
export function engineBinaries(version) {
  if (version === '20.10') {
    const dockerd = findDockerd()
    if (dockerd === undefined) return { missing: 'dockerd 20.10 is not installed: run scripts/install-test-deps.sh as root (Debian package docker.io)' }
    return { dockerd, path: process.env.PATH ?? SYSTEM_PATH }
  }
  if (version === '26.1') {
    const dockerd = join(DOCKERD26_BIN, 'dockerd')
    if (!isExecutable(dockerd)) return { missing: `dockerd 26.1 is not in ${DOCKERD26_BIN}: run scripts/install-test-deps.sh as root (it unpacks Debian 13's docker.io there)` }
    return { dockerd, path: `${DOCKERD26_BIN}${delimiter}${SYSTEM_PATH}` }
  }
  return { missing: `unknown engine ${JSON.stringify(version)}; known: ${Object.keys(ENGINES).join(', ')}` }
}

/**
 * Starts a private dockerd and resolves once it answers `GET /_ping` and reports the expected
 * version. Options: `engine` ('20.10' or '26.1', default DEFAULT_ENGINE), `dockerd` (a binary to
 * use instead, version not checked), `dirPrefix` (of the temp directory; stale ones with this
 * prefix are swept first), `namespace` (containerd namespace prefix), `readyTimeoutMs`,
 * `extraArgs` (appended to the required flags).
 */
export async function startEngine(opts = {}) {
  const wanted = opts.engine ?? DEFAULT_ENGINE
  let dockerd = opts.dockerd
  let path = process.env.PATH ?? SYSTEM_PATH
  if (dockerd === undefined) {
    const bins = engineBinaries(wanted)
    if ('missing' in bins) throw new Error(bins.missing)
    ;({ dockerd, path } = bins)
  }
  const prefix = opts.dirPrefix ?? 'dockgate-engine-'
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000
  await sweepStaleEngines(prefix)

  const dir = await mkdtemp(join(tmpdir(), prefix))
  const socket = join(dir, 'docker.sock')
  const logPath = join(dir, 'dockerd.log')
  // Our pid marks the directory as owned by a live run; see sweepStaleEngines().
  await writeFile(join(dir, 'owner.pid'), `${process.pid}\n`)
  // An empty config file, so that a system /etc/docker/daemon.json cannot change this engine.
  await writeFile(join(dir, 'daemon.json'), '{}\n')
  const id = dir.slice(dir.lastIndexOf(prefix) + prefix.length)
  const ns = `${opts.namespace ?? 'dockgate'}-${id}`
  const args = [
    '--config-file', join(dir, 'daemon.json'),
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'),
    '--host', `unix://${socket}`,
    // Required: loopback and unix sockets only (docs/testing.md).
    '--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false', '--ip6tables=false',
    // If a system containerd is running, dockerd 20.10 uses it instead of starting its own; own
    // namespaces keep this engine's containers and images apart from anyone else's.
    '--containerd-namespace', ns,
    '--containerd-plugins-namespace', `${ns}-plugins`,
    ...(opts.extraArgs ?? []),
  ]
  const logFd = openSync(logPath, 'a')
  let child
  try {
    // detached: its own process group, so a Ctrl-C aimed at the runner does not kill the engine
    // before teardown has stopped it cleanly.
    child = spawn(dockerd, args, { stdio: ['ignore', logFd, logFd], detached: true, env: { ...process.env, PATH: path, ...OFFLINE_ENV } })
  } finally {
    closeSync(logFd)
  }
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  let spawnError
  child.once('error', (err) => { spawnError = err })

  // Last resort if the run ends without teardown (an uncaught error, process.exit): a synchronous
  // SIGTERM, the only kind of work an 'exit' listener can do. The directory is then swept later.
  const onExit = () => { try { child.kill('SIGTERM') } catch { /* already gone */ } }
  process.once('exit', onExit)

  let stopping
  const stop = () => (stopping ??= (async () => {
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
  })())

  let info
  try {
    await waitForPing(socket, readyTimeoutMs, () => {
      if (spawnError !== undefined) return `dockerd: ${spawnError.message}`
      if (child.exitCode !== null || child.signalCode !== null) return `dockerd exited with ${child.exitCode ?? child.signalCode} before it was ready`
      return undefined
    })
    const res = await request(socket, 'GET', '/version', undefined, { timeoutMs: 10_000 })
    const v = JSON.parse(res.body.toString())
    info = { version: String(v.Version), apiVersion: String(v.ApiVersion), minApiVersion: String(v.MinAPIVersion) }
    if (opts.dockerd === undefined && !info.version.startsWith(`${wanted}.`)) {
      throw new Error(`${dockerd} is dockerd ${info.version}, not ${wanted}`)
    }
  } catch (err) {
    const tail = await logTail(logPath)
    await stop()
    throw new Error(`${err.message}\n--- ${logPath} (tail) ---\n${tail}`)
  }
  child.unref()
  return { socket, dir, pid: child.pid, ...info, stop }
}

/**
 * One HTTP request over a unix socket, its answer read in full. `body`: a string or Buffer (sent
 * as is), a Readable (streamed, chunked), or any other value (sent as JSON). Options: `headers`,
 * `timeoutMs` (default 60 000). Each request has its own connection (agent: false), so no pooled
 * socket outlives a test.
 */
export function request(socket, method, path, body, opts = {}) {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers }
    let payload
    if (body instanceof Readable) payload = body
    else if (typeof body === 'string' || Buffer.isBuffer(body)) payload = Buffer.from(body)
    else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body))
      headers['content-type'] ??= 'application/json'
    }
    if (Buffer.isBuffer(payload)) headers['content-length'] = String(payload.length)
    const timeoutMs = opts.timeoutMs ?? 60_000
    const req = http.request({ socketPath: socket, method, path, headers, host: 'localhost', agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} on ${socket}: timed out after ${timeoutMs} ms`)))
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
export async function pings(socket) {
  try {
    return (await request(socket, 'GET', '/_ping', undefined, { timeoutMs: 1_000 })).status === 200
  } catch {
    return false
  }
}

/**
 * Waits until `socket` pings, or throws after `timeoutMs`. `failed()` is asked each turn and
 * returns a reason to give up early (the process behind the socket exited), or undefined.
 */
export async function waitForPing(socket, timeoutMs, failed = () => undefined) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const why = failed()
    if (why) throw new Error(why)
    if (await pings(socket)) return
    if (Date.now() > deadline) throw new Error(`${socket} did not answer GET /_ping within ${timeoutMs} ms`)
    await sleep(50)
  }
}

/**
 * SIGKILLs every running container. At shutdown dockerd gives each container its stop timeout
 * (10 s by default, whatever --shutdown-timeout says) after SIGTERM, and a shell as PID 1 ignores
 * SIGTERM; test and bench containers are disposable, so do not wait for them.
 */
async function killContainers(socket) {
  try {
    const res = await request(socket, 'GET', '/containers/json', undefined, { timeoutMs: 5_000 })
    const running = JSON.parse(res.body.toString())
    await Promise.all(running.map((c) => request(socket, 'POST', `/containers/${c.Id}/kill`, undefined, { timeoutMs: 5_000 }).catch(() => undefined)))
  } catch {
    // The engine is hung or gone; SIGTERM and SIGKILL follow.
  }
}

async function logTail(path, lines = 40) {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n')
  } catch (err) {
    return `(no log: ${err.message})`
  }
}

/**
 * Removes an engine directory. dockerd unmounts what it mounted when it stops cleanly; after a
 * SIGKILL mounts can remain (overlay2 layers, the data-root bind, container shm), so unmount every
 * mount point below `dir`, deepest first, before `rm -rf`. Never throws: a directory that cannot be
 * removed is left behind with a warning.
 */
export async function removeEngineDir(dir) {
  for (const mountPoint of mountsBelow(dir)) {
    spawnSync('umount', [mountPoint], { stdio: 'ignore' })
    if (mountsBelow(dir).includes(mountPoint)) spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' })
  }
  if (mountsBelow(dir).length > 0) {
    // rm -rf through a live mount would delete files of whatever is mounted there.
    console.warn(`private engine: left ${dir} in place: it still has mounts`)
    return
  }
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  } catch (err) {
    console.warn(`private engine: could not remove ${dir}: ${err.message}`)
  }
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
function mountsBelow(dir) {
  let info
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return []
  }
  const points = new Set()
  for (const line of info.split('\n')) {
    // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped (proc(5)).
    const field = line.split(' ')[4]
    if (field === undefined) continue
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, oct) => String.fromCharCode(parseInt(oct, 8)))
    if (mountPoint === dir || mountPoint.startsWith(`${dir}/`)) points.add(mountPoint)
  }
  return [...points].sort((a, b) => b.length - a.length)
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

function readPid(path) {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Cleans up after earlier runs that died without teardown (machines are reused). A directory is
 * stale when the process that made it (owner.pid) is gone. Its dockerd, if still running, is one
 * this module started: it is stopped only after /proc confirms its command line names this
 * directory, so a recycled pid is never signalled.
 */
async function sweepStaleEngines(prefix) {
  let names
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(prefix))
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
async function killLeftovers(dir) {
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

/** Live processes from /proc; zombies have an empty command line and are left out. */
function listProcesses() {
  const out = []
  let entries
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

function cmdlineMentions(pid, dir) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => mentions(arg, dir))
  } catch {
    return false
  }
}

/** True when a command-line argument names `dir` or a path inside it. */
function mentions(arg, dir) {
  return arg === dir || arg.includes(`${dir}/`)
}
