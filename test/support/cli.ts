/**
 * Running the real docker CLIs against an engine or a proxy socket.
 *
 * Two clients are on the test machines (docs/testing.md, "Clients"): 'new' is /usr/local/bin/docker
 * (client 28.x, speaks API 1.50 and negotiates down through `GET /_ping`), 'old' is
 * /usr/bin/docker from Debian's docker.io (client 20.10, API 1.41).
 *
 * TTYs, checked with both CLIs against dockerd 20.10:
 * - `-t` alone needs no terminal: `docker run -t` / `docker exec -t` with stdin from a pipe or
 *   /dev/null work, and the output comes back through the container's pty (CRLF line ends).
 * - `-it` refuses unless stdin is a terminal ("the input device is not a TTY", exit 1). Pass
 *   `tty: true` to run the CLI under `script(1)` (util-linux, in every Debian), which gives it a
 *   pty. `input` is typed into that pty; at its end script sends EOF, so a shell exits 0. The CLI's
 *   stdout and stderr then arrive merged in `stdout`, with CRLF line ends and, before the CLI has
 *   put the terminal in raw mode, the pty's echo of what was typed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Client binaries by name. */
export const CLIS = {
  new: '/usr/local/bin/docker',
  old: '/usr/bin/docker',
} as const

export type CliName = keyof typeof CLIS

/**
 * Environment for testcontainers-node against a private engine or a proxy socket
 * (docs/testing.md, "Clients"): the reaper image cannot be pulled, and without the host
 * override testcontainers looks for the 'bridge' network, which these engines do not have.
 * Start containers with network mode `none`.
 */
export const TESTCONTAINERS_ENV = {
  TESTCONTAINERS_RYUK_DISABLED: 'true',
  TESTCONTAINERS_HOST_OVERRIDE: 'localhost',
} as const

/**
 * Points testcontainers in this worker at `host` (a socket path or `unix://` URL): sets DOCKER_HOST
 * and TESTCONTAINERS_ENV in process.env. Call it before the first testcontainers call of the file,
 * since testcontainers caches its client per process.
 */
export function useTestcontainers(host: string): void {
  Object.assign(process.env, TESTCONTAINERS_ENV, { DOCKER_HOST: toDockerHost(host) })
}

export interface DockerOptions {
  /** `unix:///path/to.sock`, or a bare socket path. */
  host: string
  /** Which client; default 'new'. */
  cli?: CliName
  /** Written to the CLI's stdin, which is then closed. docker() closes stdin even without input. */
  input?: Buffer | string
  /** Kill the CLI after this many ms and reject; default 60 000. */
  timeoutMs?: number
  /** Extra environment variables (after the defaults, so they win). */
  env?: Record<string, string>
  /** Run under a pseudo-terminal (needed for `-it`); see the file comment. */
  tty?: boolean
}

export interface DockerResult {
  /** Exit code, or null when the CLI died from a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

/** Runs one docker CLI command to completion. Rejects on timeout or when the CLI cannot start. */
export function docker(args: readonly string[], opts: DockerOptions): Promise<DockerResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000
  return new Promise((resolve, reject) => {
    const child = spawnDocker(args, opts)
    if (opts.input === undefined) child.stdin?.end()
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout?.on('data', (c: Buffer) => out.push(c))
    child.stderr?.on('data', (c: Buffer) => err.push(c))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const stderr = Buffer.concat(err).toString()
      if (timedOut) {
        const cmd = `docker ${args.join(' ')}`
        reject(new Error(`${cmd} (${opts.cli ?? 'new'} CLI) timed out after ${timeoutMs} ms; stderr: ${stderr}`))
        return
      }
      resolve({ code, signal, stdout: Buffer.concat(out), stderr })
    })
  })
}

/**
 * Starts a docker CLI command and returns the process, for streams a test reads and stops itself
 * (`logs -f`, `events`, `attach`). The caller kills it. `input`, when given, is written and stdin
 * closed; otherwise stdin stays open for the caller.
 */
export function spawnDocker(args: readonly string[], opts: DockerOptions): ChildProcess {
  const bin = CLIS[opts.cli ?? 'new']
  const env = cliEnv(opts)
  const child = opts.tty === true
    // -q quiet, -e return the command's exit code, -f flush output at once; no typescript file.
    ? spawn('script', ['-qefc', [bin, ...args].map(shellQuote).join(' '), '/dev/null'], { env, stdio: 'pipe' })
    : spawn(bin, [...args], { env, stdio: 'pipe' })
  // A CLI that exits before reading all its input is not an error of the harness.
  child.stdin?.on('error', () => {})
  if (opts.input !== undefined) child.stdin?.end(opts.input)
  return child
}

/** `unix://` URL for a socket path; other values are returned as they are. */
export function toDockerHost(host: string): string {
  return host.startsWith('/') ? `unix://${host}` : host
}

/** Set by global-setup.ts to an empty directory it removes at teardown. */
export const CONFIG_DIR_ENV = 'DOCKGATE_TEST_DOCKER_CONFIG'

let configDir: string | undefined

/**
 * An empty DOCKER_CONFIG, so that no user config.json, credential helper or context reaches the
 * CLI. Under vitest it is the one global-setup.ts made (vitest ends its workers without an 'exit'
 * event, so a directory made here would be left behind); elsewhere one per process.
 */
function emptyConfigDir(): string {
  const fromSetup = process.env[CONFIG_DIR_ENV]
  if (fromSetup !== undefined && fromSetup !== '') return fromSetup
  if (configDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'dockgate-cli-config-'))
    configDir = dir
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return configDir
}

function cliEnv(opts: DockerOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  // DOCKER_CONTEXT, DOCKER_TLS_VERIFY, DOCKER_API_VERSION etc. of the calling shell must not leak in.
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('DOCKER_')) env[key] = value
  }
  return {
    ...env,
    DOCKER_HOST: toDockerHost(opts.host),
    DOCKER_CONFIG: emptyConfigDir(),
    DOCKER_CLI_HINTS: 'false',
    ...opts.env,
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`
}
