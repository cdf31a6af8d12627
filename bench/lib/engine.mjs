/**
 * A private dockerd for the bench, and plain HTTP requests over unix sockets.
 *
 * A plain-Node cut of test/support/engine.ts (the bench runs without a TypeScript step): own
 * data-root, exec-root, pidfile, socket and containerd namespaces in a fresh /tmp directory. The
 * networking flags are required on these machines (../shared/testing.md, "A private Docker
 * engine"): loopback and unix sockets only, so containers get `lo` alone (NetworkMode none).
 */
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'

const DIR_PREFIX = 'dockgate-bench-engine-'
/** SIGTERM → SIGKILL grace for dockerd, in ms. */
const KILL_AFTER_MS = 20_000

/**
 * One request over a unix socket, body read in full. `body`: string/Buffer (sent as is), Readable
 * (streamed, chunked), anything else (JSON).
 * @returns {Promise<{status: number, headers: import('node:http').IncomingHttpHeaders, body: Buffer}>}
 */
export function request(socket, method, path, body, { headers = {}, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers }
    let payload
    if (body instanceof Readable) payload = body
    else if (typeof body === 'string' || Buffer.isBuffer(body)) payload = Buffer.from(body)
    else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body))
      h['content-type'] ??= 'application/json'
    }
    if (Buffer.isBuffer(payload)) h['content-length'] = String(payload.length)
    const req = http.request({ socketPath: socket, method, path, headers: h, host: 'localhost', agent: false }, (res) => {
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
    } else req.end(payload)
  })
}

/** Like request(), but throws unless the status is one of `ok`; parses a JSON answer. */
export async function api(socket, method, path, body, { ok = [200, 201, 204, 304], ...opts } = {}) {
  const res = await request(socket, method, path, body, opts)
  if (!ok.includes(res.status)) throw new Error(`${method} ${path}: HTTP ${res.status} ${res.body.toString().trim()}`)
  const text = res.body.toString()
  return text && String(res.headers['content-type']).startsWith('application/json') ? JSON.parse(text) : text
}

/** True when `socket` answers GET /_ping with 200 within a second. */
export async function pings(socket) {
  try {
    return (await request(socket, 'GET', '/_ping', undefined, { timeoutMs: 1_000 })).status === 200
  } catch {
    return false
  }
}

/** Waits until `socket` pings, or throws after `timeoutMs` (calling `failed()` each turn for early exits). */
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

export function findDockerd() {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin']) {
    if (!dir) continue
    try {
      accessSync(join(dir, 'dockerd'), constants.X_OK)
      return join(dir, 'dockerd')
    } catch { /* not here */ }
  }
  return undefined
}

/**
 * Starts a private dockerd; resolves once it pings.
 * @returns {Promise<{socket: string, dir: string, pid: number, stop(): Promise<void>}>}
 */
export async function startEngine({ readyTimeoutMs = 60_000 } = {}) {
  const dockerd = findDockerd()
  if (!dockerd) throw new Error('dockerd not found; install docker.io (scripts/install-test-deps.sh)')
  await sweepStale()
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX))
  const socket = join(dir, 'docker.sock')
  const logPath = join(dir, 'dockerd.log')
  await writeFile(join(dir, 'owner.pid'), `${process.pid}\n`)
  await writeFile(join(dir, 'daemon.json'), '{}\n') // a system /etc/docker/daemon.json must not apply
  const id = dir.slice(dir.lastIndexOf(DIR_PREFIX) + DIR_PREFIX.length)
  const args = [
    '--config-file', join(dir, 'daemon.json'),
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'),
    '--host', `unix://${socket}`,
    // Required here: loopback and unix sockets only (../shared/testing.md).
    '--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false', '--ip6tables=false',
    '--containerd-namespace', `dockgate-bench-${id}`,
    '--containerd-plugins-namespace', `dockgate-bench-${id}-plugins`,
  ]
  const logFd = openSync(logPath, 'a')
  // Network rule: the engine must never reach out. Pulls or URL imports go to a closed loopback
  // proxy port instead and fail at once (Go's ProxyFromEnvironment does no DNS lookup for them).
  const offline = { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '', http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', no_proxy: '' }
  const child = spawn(dockerd, args, { stdio: ['ignore', logFd, logFd], detached: true, env: { ...process.env, ...offline } })
  closeSync(logFd)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  let spawnError
  child.once('error', (err) => { spawnError = err })
  const onExit = () => { try { child.kill('SIGTERM') } catch { /* gone */ } }
  process.once('exit', onExit)

  let stopping
  const stop = () => (stopping ??= (async () => {
    process.removeListener('exit', onExit)
    if (child.exitCode === null && child.signalCode === null) {
      await killContainers(socket)
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
      await exited
      clearTimeout(killer)
    }
    await killLeftovers(dir)
    await removeDir(dir)
  })())

  try {
    await waitForPing(socket, readyTimeoutMs, () =>
      spawnError ? `dockerd: ${spawnError.message}` : child.exitCode !== null ? `dockerd exited with ${child.exitCode}` : undefined)
  } catch (err) {
    const tail = await readFile(logPath, 'utf8').catch(() => '')
    await stop()
    throw new Error(`${err.message}\n--- ${logPath} (tail) ---\n${tail.split('\n').slice(-30).join('\n')}`)
  }
  child.unref()
  return { socket, dir, pid: child.pid, stop }
}

/** SIGKILLs running containers: at shutdown dockerd would give each its 10 s stop timeout. */
async function killContainers(socket) {
  try {
    const running = await api(socket, 'GET', '/containers/json', undefined, { timeoutMs: 5_000 })
    await Promise.all(running.map((c) => request(socket, 'POST', `/containers/${c.Id}/kill`, undefined, { timeoutMs: 5_000 }).catch(() => {})))
  } catch { /* hung or gone: SIGTERM/SIGKILL follow */ }
}

function readPid(path) {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
    return pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
  } catch {
    return []
  }
}

const mentions = (arg, dir) => arg === dir || arg.includes(`${dir}/`)

/** Engines of earlier bench runs that died without cleaning up (their owner.pid is gone). */
async function sweepStale() {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), name)
    const owner = readPid(join(dir, 'owner.pid'))
    if (owner === undefined || alive(owner)) continue
    const pid = readPid(join(dir, 'dockerd.pid'))
    if (pid !== undefined && alive(pid) && cmdline(pid).some((a) => mentions(a, dir))) {
      process.kill(pid, 'SIGTERM')
      const deadline = Date.now() + KILL_AFTER_MS
      while (alive(pid) && Date.now() < deadline) await sleep(100)
    }
    await killLeftovers(dir)
    if (existsSync(dir)) await removeDir(dir)
  }
}

/** SIGKILLs processes whose command line names `dir` (dockerd, containerd, shims) and their children. */
async function killLeftovers(dir) {
  const procs = []
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const args = cmdline(name)
      if (args.length === 0) continue
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1], 10)
      procs.push({ pid: Number(name), ppid, args })
    } catch { /* exited */ }
  }
  const owned = new Set(procs.filter((p) => p.pid !== process.pid && p.args.some((a) => mentions(a, dir))).map((p) => p.pid))
  if (owned.size === 0) return
  const children = procs.filter((p) => owned.has(p.ppid) && !owned.has(p.pid)).map((p) => p.pid)
  for (const pid of [...children, ...owned]) {
    try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
  await sleep(200)
}

/** Mount points at or below `dir`, deepest first (/proc/self/mountinfo field 5, octal-escaped). */
function mountsBelow(dir) {
  const points = new Set()
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4]
    if (!field) continue
    const mp = field.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
    if (mp === dir || mp.startsWith(`${dir}/`)) points.add(mp)
  }
  return [...points].sort((a, b) => b.length - a.length)
}

/** rm -rf, but never through a live mount (after a SIGKILL, overlay mounts can remain). */
async function removeDir(dir) {
  for (const mp of mountsBelow(dir)) {
    spawnSync('umount', [mp], { stdio: 'ignore' })
    if (mountsBelow(dir).includes(mp)) spawnSync('umount', ['-l', mp], { stdio: 'ignore' })
  }
  if (mountsBelow(dir).length > 0) {
    console.warn(`bench: left ${dir} in place: it still has mounts`)
    return
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch((err) => console.warn(`bench: could not remove ${dir}: ${err.message}`))
}
