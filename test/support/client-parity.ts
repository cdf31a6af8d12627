/**
 * Helpers for running real clients against the direct engine socket and against dockgate, and
 * comparing what they see (the parity idea of cetusguard, github.com/hectorm/cetusguard): the same
 * command on both sockets must give the same exit code and, after normalising what legitimately
 * differs between two runs (ids of things each run created, "3 seconds ago"), the same output.
 */
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Registry } from 'prom-client'
import { docker, type DockerOptions, type DockerResult } from './cli.js'
import { engineRequest } from './engine.js'

/** Where a command is sent: the engine's own socket, or dockgate's. */
export type Target = 'direct' | 'dockgate'
export const TARGETS: readonly Target[] = ['direct', 'dockgate']

/** `unix://` hosts of both targets. */
export type Hosts = Readonly<Record<Target, string>>

/** A command's arguments, the same on both targets or made per target (e.g. its own container). */
export type Args = readonly string[] | ((target: Target) => readonly string[])

export type Pair = Readonly<Record<Target, DockerResult>>

export interface BothOptions extends Omit<DockerOptions, 'host'> {
  /** Run both at once (for slow, read-only commands such as `stats --no-stream`). */
  parallel?: boolean
}

/** Runs the command on the direct socket, then through dockgate (or both at once). */
export async function onBoth(hosts: Hosts, args: Args, opts: BothOptions = {}): Promise<Pair> {
  const { parallel = false, ...rest } = opts
  const run = (t: Target): Promise<DockerResult> => docker(typeof args === 'function' ? args(t) : args, { ...rest, host: hosts[t] })
  if (parallel) {
    const [direct, dockgate] = await Promise.all([run('direct'), run('dockgate')])
    return { direct, dockgate }
  }
  const direct = await run('direct')
  const dockgate = await run('dockgate')
  return { direct, dockgate }
}

/** What a test compares: exit code and normalised output. */
export interface Seen {
  code: number | null
  stdout: string
  stderr: string
}

export type Normalizer = (text: string) => string

export function seen(r: DockerResult, normalize: Normalizer = (s) => s): Seen {
  return { code: r.code, stdout: normalize(r.stdout.toString('utf8')), stderr: normalize(r.stderr) }
}

/** Applies normalisers left to right. */
export function compose(...fns: Normalizer[]): Normalizer {
  return (s) => fns.reduce((acc, f) => f(acc), s)
}

/** Full (64) and short (12) hex ids → placeholders. */
export const ids: Normalizer = (s) => s.replace(/\b[0-9a-f]{64}\b/g, '<id64>').replace(/\b[0-9a-f]{12}\b/g, '<id12>')

/**
 * Relative times as the CLI prints them ("Less than a second", "3 seconds ago", "About a minute
 * ago") → `<t>`, and table columns (whose widths follow those texts) → one tab.
 */
export const times: Normalizer = (s) =>
  s
    .replace(/\b(?:Less than a second|About an? (?:minute|hour)|(?:\d+|an?) (?:seconds?|minutes?|hours?))(?: ago)?/g, '<t>')
    .split('\n')
    .map((line) => line.trimEnd().replace(/ {2,}/g, '\t'))
    .join('\n')

/** Replaces each given literal (e.g. per-target container names) by its placeholder. */
export function literals(map: Readonly<Record<string, string>>): Normalizer {
  return (s) => Object.entries(map).reduce((acc, [from, to]) => acc.split(from).join(to), s)
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Polls `probe` until it returns something other than undefined, null or false. The timeout only
 * turns a hang into a readable failure; it is not a timing assertion.
 */
export async function until<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== null && v !== false) return v
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} (${timeoutMs} ms)`)
    await sleep(25)
  }
}

/** A child process whose output is collected as it arrives. */
export interface Watched {
  readonly child: ChildProcess
  stdout(): Buffer
  stderr(): string
  /** Resolves when the process has exited and its pipes are closed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** True once the process has exited. */
  hasExited(): boolean
  /** Waits until `test(stdout)` holds; fails early, with the output, if the process exits first. */
  waitForStdout(test: (stdout: string) => boolean, what: string, timeoutMs?: number): Promise<string>
}

export function watch(child: ChildProcess): Watched {
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout?.on('data', (c: Buffer) => out.push(c))
  child.stderr?.on('data', (c: Buffer) => err.push(c))
  let done = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      done = true
      resolve({ code, signal })
    })
  })
  const stdout = (): Buffer => Buffer.concat(out)
  const stderr = (): string => Buffer.concat(err).toString('utf8')
  return {
    child,
    stdout,
    stderr,
    exited,
    hasExited: () => done,
    async waitForStdout(test, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const text = stdout().toString('utf8')
        if (test(text)) return text
        if (done) throw new Error(`${what}: the CLI exited first (stdout ${JSON.stringify(text)}, stderr ${JSON.stringify(stderr())})`)
        if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms (stdout ${JSON.stringify(text)}, stderr ${JSON.stringify(stderr())})`)
        await sleep(20)
      }
    },
  }
}

/** Current value of one series of a gauge or counter in a proxy's own registry (0 when absent). */
export async function metricValue(registry: Registry, name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) throw new Error(`no metric ${name}`)
  const { values } = await metric.get()
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
  return match?.value ?? 0
}

/** Force-removes every container carrying `label` (`key=value`), straight on the engine socket. */
export async function removeContainersLabelled(engineSocket: string, label: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }))
  const res = await engineRequest(engineSocket, 'GET', `/containers/json?all=1&filters=${filters}`)
  const list = JSON.parse(res.body.toString()) as Array<{ Id: string }>
  await Promise.all(list.map((c) => engineRequest(engineSocket, 'DELETE', `/containers/${c.Id}?force=1&v=1`)))
}

/** Removes images by reference, ignoring those already gone. */
export async function removeImages(engineSocket: string, refs: readonly string[]): Promise<void> {
  for (const ref of refs) await engineRequest(engineSocket, 'DELETE', `/images/${encodeURIComponent(ref)}?force=1`)
}
