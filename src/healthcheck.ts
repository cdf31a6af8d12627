/**
 * `dockgate healthcheck`: is dockgate serving? For the image's HEALTHCHECK and for orchestrators;
 * it needs no admin listener.
 *
 *   1. The engine: the same probe as at start-up (engine-probe.ts), with its advice on failure.
 *   2. Each listener: `GET /_ping` through it. Every policy allows it and dockgate forwards it to
 *      the engine, so a 200 means the listener and the path behind it both work. Over TLS the
 *      listener's certificate is not verified (this is dockgate checking itself, by address);
 *      with mutual TLS, which needs a client certificate the check does not have, the listener
 *      passes when it completes a handshake with the certificate it is configured with.
 *
 * Which listeners: those of the options given; with none, those of the dockgate server running
 * next to it (its arguments, environment and working directory, read from /proc), so that options
 * given as a container's command are honoured; when no single server is found, the environment's.
 *
 * Exit code 0 healthy, 1 not (one short line per reason), 2 when the options given do not parse.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import tls from 'node:tls'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, type Config, type ListenerConfig } from './config.js'
import { currentIdentity, probeEngine, type ProcessIdentity } from './engine-probe.js'
import { ConfigError, formatProblem } from './problems.js'
import { formatAddress, type Address } from './upstream.js'

export const HEALTHCHECK_USAGE = `Usage: dockgate healthcheck [dockgate options]

Checks that the engine answers and that each listener answers GET /_ping.
With no options: the options of the dockgate server running next to it (found in /proc),
else the DOCKGATE_* environment. Exit code: 0 healthy, 1 not, 2 bad options.
`

/** How long each check may take (ms); the image's HEALTHCHECK allows 20 s in all (start-up included). */
const CHECK_TIMEOUT_MS = 3_000
/** Subcommands: a process running one of these is not a server. */
const SUBCOMMANDS = new Set(['check', 'healthcheck'])

export interface HealthIo {
  readonly out: (s: string) => void
}

export interface ServerProcess {
  readonly pid: number
  readonly args: string[]
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
}

export async function healthcheck(argv: readonly string[], env: NodeJS.ProcessEnv, io: HealthIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(HEALTHCHECK_USAGE)
    return 0
  }
  const servers = argv.length === 0 ? findServers() : []
  const server = servers.length === 1 ? servers[0] : undefined
  let config: Config
  try {
    const loaded = server === undefined ? loadConfig(argv, env) : loadConfig(server.args, server.env, { cwd: server.cwd })
    if (!('listeners' in loaded)) {
      io.out(HEALTHCHECK_USAGE)
      return 2
    }
    config = loaded
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const p of err.problems) io.out(`unhealthy: ${formatProblem(p)}\n`)
    return argv.length > 0 ? 2 : 1
  }
  const identity = currentIdentity()
  const results = await Promise.all([checkEngine(config.upstream, identity), ...config.listeners.map((l) => checkListener(l))])
  const failures = results.filter((r) => !r.ok)
  if (failures.length > 0) {
    for (const f of failures) io.out(`unhealthy: ${f.text}\n`)
    return 1
  }
  io.out(`healthy: ${results.map((r) => r.text).join('; ')}\n`)
  return 0
}

interface Result {
  readonly ok: boolean
  readonly text: string
}

async function checkEngine(upstream: Address, identity: ProcessIdentity): Promise<Result> {
  const r = await probeEngine(upstream, identity, CHECK_TIMEOUT_MS)
  if (r.ok) return { ok: true, text: `engine at ${formatAddress(upstream)} answers${r.apiVersion === undefined ? '' : ` (API ${r.apiVersion})`}` }
  return { ok: false, text: `engine: ${r.reason}` }
}

/** Where to connect to reach a listener from this host (the wildcard addresses mean loopback here). */
function connectTarget(a: Address): { socketPath: string } | { host: string; port: number } {
  if (a.kind === 'unix') return { socketPath: a.path }
  const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host
  return { host, port: a.port }
}

/** Connection errors, in words. */
const ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is dockgate running?)',
  ENOENT: 'no such socket (is dockgate running?)',
  ETIMEDOUT: `no answer within ${CHECK_TIMEOUT_MS / 1000} s`,
  EACCES: 'permission denied on the socket',
}

function checkListener(l: ListenerConfig): Promise<Result> {
  if (l.address.kind === 'tcp' && l.tls?.ca !== undefined) return handshake(l.address, l.tls.cert)
  return pingListener(l.address, l.address.kind === 'tcp' && l.tls !== undefined)
}

/** Mutual TLS: a handshake that shows the listener's own certificate. */
function handshake(address: Address & { kind: 'tcp' }, certPem: string): Promise<Result> {
  const name = formatAddress(address)
  const expected = new X509Certificate(certPem).fingerprint256
  return new Promise((done) => {
    const target = connectTarget(address) as { host: string; port: number }
    const socket = tls.connect({ ...target, rejectUnauthorized: false, timeout: CHECK_TIMEOUT_MS })
    socket.once('secureConnect', () => {
      const seen = socket.getPeerX509Certificate()?.fingerprint256
      socket.destroy()
      done(seen === expected
        ? { ok: true, text: `${name} completes a TLS handshake (mutual TLS: /_ping needs a client certificate)` }
        : { ok: false, text: `${name}: answers with another certificate than the one configured` })
    })
    socket.once('timeout', () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })))
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, text: `${name}: ${ERRORS[err.code ?? ''] ?? err.code ?? err.message}` }))
  })
}

function pingListener(address: Address, overTls: boolean): Promise<Result> {
  const name = formatAddress(address)
  return new Promise((done) => {
    const options = { ...connectTarget(address), method: 'GET', path: '/_ping', agent: false, headers: { host: 'dockgate' } }
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.length < 16 && chunks.push(c))
      res.on('end', () => {
        if (res.statusCode === 200) return done({ ok: true, text: `${name} answers /_ping` })
        done({ ok: false, text: `${name}: GET /_ping answered HTTP ${res.statusCode ?? 0}: ${messageOf(Buffer.concat(chunks))}` })
      })
      res.on('error', () => done({ ok: false, text: `${name}: the answer to GET /_ping broke off` }))
    }
    const req = overTls ? https.request({ ...options, rejectUnauthorized: false }, onResponse) : http.request(options, onResponse)
    req.setTimeout(CHECK_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })))
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, text: `${name}: ${ERRORS[err.code ?? ''] ?? err.code ?? err.message}` }))
    req.end()
  })
}

function messageOf(body: Buffer): string {
  const text = body.toString('utf8').trim()
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message
    if (typeof m === 'string') return m
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200)
}

/** The dockgate servers this process can see: processes running this very cli.js without a subcommand. */
export function findServers(procRoot = '/proc', cli: string = ownCli()): ServerProcess[] {
  const found: ServerProcess[] = []
  let pids: string[]
  try {
    pids = readdirSync(procRoot).filter((n) => /^[0-9]+$/.test(n) && Number(n) !== process.pid)
  } catch {
    return found
  }
  for (const pid of pids) {
    let argv: string[]
    try {
      argv = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0')
    } catch {
      continue // gone
    }
    if (argv.at(-1) === '') argv.pop()
    // cwd and environ need ptrace-read access (proc(5)); without it, absolute paths and our own
    // environment (the same container's) still do.
    const cwd = readOr(() => readlinkSync(`${procRoot}/${pid}/cwd`), '/')
    const at = argv.findIndex((a, i) => i > 0 && sameFile(resolve(cwd, a), cli))
    if (at < 0 || SUBCOMMANDS.has(argv[at + 1] ?? '')) continue
    const environ = readOr(() => readFileSync(`${procRoot}/${pid}/environ`, 'utf8'), undefined)
    const env: NodeJS.ProcessEnv = environ === undefined ? { ...process.env } : {}
    for (const kv of environ?.split('\0') ?? []) {
      const eq = kv.indexOf('=')
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1)
    }
    found.push({ pid: Number(pid), args: argv.slice(at + 1), env, cwd })
  }
  return found
}

function readOr<T, D>(read: () => T, fallback: D): T | D {
  try {
    return read()
  } catch {
    return fallback
  }
}

function ownCli(): string {
  return fileURLToPath(new URL('./cli.js', import.meta.url))
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return false
  }
}
