#!/usr/bin/env node
/**
 * What reading a unix-socket peer's credentials costs (src/peercred.ts, native/peercred.c).
 *
 *   npm run build && node bench/peercred.mjs [--calls N] [--connections N] [--rounds N]
 *
 * 1. µs per call: the reader (fd lookup, getsockopt SO_PEERCRED, checks; and with SO_PEERGROUPS,
 *    which dockgate reads only for listeners with gid entries) called N times on one connection.
 * 2. connections/s with and without: a unix server that reads the credentials of each connection
 *    (or not) and closes it, and a client in this process that opens N connections, 16 at a time.
 *    Rounds alternate off/on so that machine noise falls on both. Reports; asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { peerCredentialReader } from '../dist/peercred.js'

const { values } = parseArgs({ options: { calls: { type: 'string', default: '200000' }, connections: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } } })
const CALLS = Number(values.calls)
const CONNECTIONS = Number(values.connections)
const ROUNDS = Number(values.rounds)
const PARALLEL = 16

const reader = peerCredentialReader()
if (!reader.available) {
  process.stderr.write(`peer credentials unavailable: ${reader.reason}\n`)
  process.exit(1)
}
const dir = mkdtempSync(join(tmpdir(), 'dockgate-bench-peercred-'))

/** A server on a fresh socket; `onConnection` runs for every accepted connection. */
async function serve(name, onConnection) {
  const path = join(dir, `${name}.sock`)
  const server = net.createServer(onConnection)
  await new Promise((r) => server.listen({ path, backlog: 511 }, r))
  return { path, close: () => new Promise((r) => server.close(r)) }
}

async function perCall(groups) {
  let accepted
  const got = new Promise((r) => (accepted = r))
  const srv = await serve('calls', (s) => accepted(s))
  const client = net.connect(srv.path)
  const socket = await got
  const opts = { groups }
  for (let i = 0; i < 1000; i++) reader.read(socket, opts) // warm up
  const t0 = process.hrtime.bigint()
  let last
  for (let i = 0; i < CALLS; i++) last = reader.read(socket, opts)
  const ns = Number(process.hrtime.bigint() - t0)
  if ('error' in last) throw new Error(last.error)
  socket.destroy()
  client.destroy()
  await srv.close()
  return ns / CALLS / 1000
}

async function connectionsPerSecond(withCred) {
  let bad = 0
  const srv = await serve(withCred ? 'on' : 'off', (s) => {
    if (withCred && 'error' in reader.read(s)) bad++
    s.end()
  })
  let started = 0
  const one = () => new Promise((resolve, reject) => {
    const c = net.connect(srv.path)
    c.once('error', reject)
    c.once('close', resolve)
    c.resume()
  })
  const worker = async () => {
    while (started < CONNECTIONS) {
      started++
      await one()
    }
  }
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: PARALLEL }, worker))
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  await srv.close()
  if (bad > 0) throw new Error(`${bad} connections without credentials`)
  return CONNECTIONS / s
}

try {
  const us = await perCall(false)
  const usGroups = await perCall(true)
  const off = []
  const on = []
  for (let r = 0; r < ROUNDS; r++) {
    off.push(await connectionsPerSecond(false))
    on.push(await connectionsPerSecond(true))
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
  const fmt = (a) => a.map((x) => Math.round(x)).join(', ')
  process.stdout.write([
    `node ${process.version}, ${CALLS} calls, ${CONNECTIONS} connections × ${ROUNDS} rounds, ${PARALLEL} at a time`,
    `peer credentials per call: ${us.toFixed(2)} µs (with supplementary groups: ${usGroups.toFixed(2)} µs)`,
    `connections/s without: median ${Math.round(median(off))} (${fmt(off)})`,
    `connections/s with:    median ${Math.round(median(on))} (${fmt(on)})`,
    `ratio with/without: ${(median(on) / median(off)).toFixed(3)}`,
    '',
  ].join('\n'))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
