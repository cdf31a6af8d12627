/**
 * Peers: other proxies measured in the same interleaved rounds as the engine's socket and
 * dockgate (`--peer`), each a separate process whose CPU and RSS are read from /proc.
 *
 * - `haproxy`: Debian's HAProxy with Tecnativa's documented behaviour (haproxy.mjs);
 * - `bare`: a bare node:http proxy, no policy and no log (bare-proxy.mjs), the floor for Node;
 * - `dockgate=DIR`: another dockgate build (DIR/dist/cli.js) under the same policy and flags as
 *   the measured one, named `dockgate@<basename of DIR>`: an interleaved A/B of two builds.
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startHaproxy } from './haproxy.mjs'
import { wrapChild } from './child.mjs'
import { startDockgate } from './dockgate.mjs'

const BARE = fileURLToPath(new URL('./bare-proxy.mjs', import.meta.url))
let seq = 0

/** Parses `--peer` values (repeatable, comma lists) into specs `{ kind, name, dir? }`. */
export function parsePeers(values = []) {
  const specs = []
  for (const item of values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean)) {
    let spec
    if (item === 'haproxy' || item === 'bare') spec = { kind: item, name: item }
    else if (item.startsWith('dockgate=')) {
      const dir = resolve(item.slice('dockgate='.length))
      if (!existsSync(join(dir, 'dist/cli.js'))) throw new Error(`--peer ${item}: ${dir}/dist/cli.js is missing (build it first)`)
      spec = { kind: 'dockgate', name: `dockgate@${basename(dir)}`, dir }
    } else throw new Error(`--peer: unknown peer "${item}" (haproxy, bare, dockgate=DIR)`)
    if (specs.some((s) => s.name === spec.name)) throw new Error(`--peer: ${spec.name} given twice`)
    specs.push(spec)
  }
  return specs
}

/**
 * Starts a peer; resolves with `{ name, kind, socket, pid, version, stop(), operator? }`. A
 * dockgate peer also gets its container-operator process, like the measured dockgate.
 */
export async function startPeer(spec, { engineSocket, dir, log, nodeArgs = [], dockgateArgs = [] }) {
  if (spec.kind === 'haproxy') return { kind: 'haproxy', ...(await startHaproxy({ engineSocket, dir, log })) }
  if (spec.kind === 'bare') {
    const socket = join(dir, 'bare.sock')
    const logPath = join(dir, 'bare.log')
    const fd = openSync(logPath, 'a')
    const child = spawn(process.execPath, [BARE, socket, engineSocket], { stdio: ['ignore', fd, fd] })
    closeSync(fd)
    return { kind: 'bare', ...(await wrapChild({ child, name: 'bare', socket, logPath, version: `node ${process.version} node:http` })) }
  }
  const cli = join(spec.dir, 'dist/cli.js')
  // Two peers may be the same build (an A/B of node flags): their files must not collide.
  const tag = `${basename(spec.dir)}-${++seq}`
  const full = await startDockgate({ name: `full-${tag}`, policy: 'full', engineSocket, dir, nodeArgs, args: dockgateArgs, cli })
  let operator
  try {
    operator = await startDockgate({ name: `operator-${tag}`, policy: 'container-operator', engineSocket, dir, nodeArgs, args: dockgateArgs, cli })
  } catch (err) {
    await full.stop()
    throw err
  }
  return {
    kind: 'dockgate', name: spec.name, socket: full.socket, pid: full.pid, version: spec.dir,
    operator: { name: spec.name, socket: operator.socket, pid: operator.pid },
    stop: async () => { await Promise.all([full.stop(), operator.stop()]) },
  }
}
