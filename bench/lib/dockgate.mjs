/**
 * dockgate as a separate process (`node dist/cli.js`), so that its RSS and CPU can be read from
 * /proc/<pid> apart from the load generator's.
 */
import { spawn } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { wrapChild } from './child.mjs'

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

/**
 * Starts `node dist/cli.js --listen unix://<dir>/<name>.sock --upstream unix://<engine> --policy <policy>`,
 * its output (the audit log) appended to `<dir>/<name>.log`. `nodeArgs` go before the script
 * (e.g. `--cpu-prof`), `args` after it; `cli` is another build's dist/cli.js (an A/B peer).
 * @returns {Promise<{socket: string, pid: number, name: string, stop(): Promise<void>}>}
 */
export async function startDockgate({ name, policy, engineSocket, dir, nodeArgs = [], args = [], cli = CLI }) {
  const socket = join(dir, `${name}.sock`)
  const logPath = join(dir, `${name}.log`)
  const fd = openSync(logPath, 'a')
  // The audit log stays at its default level (info: one record per request) and goes to a file,
  // as a deployment writes it: what issue 11's goals are measured with. `args` may change it
  // (e.g. `--log-level warn` for an A/B of the log's cost).
  const child = spawn(process.execPath, [
    ...nodeArgs, cli,
    '--listen', `unix://${socket}`,
    '--upstream', `unix://${engineSocket}`,
    '--policy', policy,
    ...args,
  ], { stdio: ['ignore', fd, fd] })
  closeSync(fd)
  const { pid, stop } = await wrapChild({ child, name: `dockgate (${name})`, socket, logPath })
  return { socket, pid, name, logPath, stop }
}
