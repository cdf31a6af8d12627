/**
 * Commands run as another uid (setpriv(1), util-linux; no supplementary groups), for tests where
 * who is calling decides what happens: dockgate reads the peer's uid from its unix socket.
 * The environment is this process's minus every DOCKER_* variable, plus what the caller gives.
 */
import { spawn } from 'node:child_process'

export interface RanAs {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `argv` as `uid` (and gid `uid`) in `cwd`; `input` is written to its stdin, which is then closed. */
export function runAs(uid: number, argv: readonly string[], opts: { cwd: string; env?: Record<string, string>; input?: string; timeoutMs?: number }): Promise<RanAs> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DOCKER_')) env[k] = v
  Object.assign(env, opts.env)
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv], { env, cwd: opts.cwd, stdio: 'pipe' })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
  })
}
