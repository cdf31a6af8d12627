#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [--peer haproxy,bare] [--duration S] [--connections N] [--image-mb M] [--engine unix:///x.sock] [--out FILE]`
 *
 * Measures the engine's own socket, dockgate and any peers (HAProxy with Tecnativa's behaviour, a
 * bare node:http proxy, another dockgate build) side by side, in one interleaved run, for each
 * scenario of issues 4 and 11; prints a Markdown table and writes the raw numbers as JSON. See
 * bench/README.md for what the figures mean. Needs `npm run build` first (`npm run bench` does it).
 */
import { createHash, randomFillSync } from 'node:crypto'
import http from 'node:http'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { cpus, hostname, release, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { api, request, startEngine, waitForPing } from './lib/engine.mjs'
import { startDockgate } from './lib/dockgate.mjs'
import { parsePeers, startPeer } from './lib/peers.mjs'
import { bigImageName, ensureImages, removeImages, SMALL_IMAGE } from './lib/images.mjs'
import { memory, rssSampler } from './lib/proc.mjs'
import { markdownTable, verdict } from './lib/report.mjs'
import * as S from './lib/scenarios.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MIB = 1024 * 1024

const USAGE = `Usage: npm run bench -- [options]

  --quick              small sizes and short rounds (CI smoke test, well under a minute)
  --duration S         seconds per target for each closed-loop scenario (default 10; quick 1)
  --connections N      keep-alive connections for small requests (default 32)
  --image-mb M         size of the big image's random file, MiB (default 200; quick 16)
  --exec-mb M          bytes pushed each way through docker exec -i, MiB (default 100; quick 8)
  --log-lines N        lines (= log frames) of the logs container (default 200000; quick 20000)
  --subscribers N      concurrent GET /events streams (default 1000)
  --rounds N           rounds per target for streaming scenarios (default 3; quick 1)
  --engine ADDR        use a running engine (unix:///path.sock) instead of starting a private one
  --only IDS           comma-separated scenario ids: ping, version, containers-json, create-delete,
                       logs, image-export, image-load, exec, events
  --peer P             also measure peer P in the same rounds (repeatable, or a comma list):
                       haproxy (Debian's HAProxy, Tecnativa's behaviour; installed when missing),
                       bare (a bare node:http proxy: no policy, no log),
                       dockgate=DIR (another build, DIR/dist/cli.js: an interleaved A/B)
  --cpu-prof DIR       run dockgate under node --cpu-prof, profiles written to DIR
  --node-args=ARGS     extra node flags for the dockgate processes (e.g. --node-args=--optimize-for-size)
  --dockgate-args=ARGS extra dockgate flags for every dockgate process (e.g. --dockgate-args='--log-level warn')
  --peer-node-args=ARGS node flags for dockgate=DIR peers instead of --node-args (A/B of node flags)
  --out FILE           JSON results (default bench/results/latest.json)
`

/** The scenarios of issue 4, in the order they run. */
const SCENARIOS = [
  { id: 'ping', title: 'HEAD /_ping', run: (ctx) => S.smallRequests(ctx, 'HEAD', '/_ping', { rps: S.BUDGETS.vsHaproxy, p50: S.BUDGETS.pingP50, cpu: S.BUDGETS.pingCpu }) },
  { id: 'version', title: 'GET /version', run: (ctx) => S.smallRequests(ctx, 'GET', `${ctx.apiPrefix}/version`, { rps: S.BUDGETS.vsHaproxy }) },
  { id: 'containers-json', title: 'GET /containers/json?all=1', run: (ctx) => S.smallRequests(ctx, 'GET', `${ctx.apiPrefix}/containers/json?all=1`, { rps: S.BUDGETS.vsHaproxy }) },
  { id: 'create-delete', title: 'POST /containers/create + DELETE (container-operator)', run: S.createDelete },
  { id: 'logs', title: 'GET /containers/{id}/logs (small frames)', run: S.containerLogs },
  { id: 'image-export', title: 'GET /images/{name}/get', run: S.imageExport },
  { id: 'image-load', title: 'POST /images/load (chunked)', run: S.imageLoad },
  { id: 'exec', title: 'docker exec -i CTR cat', run: S.execRoundTrip },
  { id: 'events', title: 'GET /events × subscribers, with ping load', run: S.manyStreams },
]

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      connections: { type: 'string' },
      'image-mb': { type: 'string' },
      'exec-mb': { type: 'string' },
      'log-lines': { type: 'string' },
      subscribers: { type: 'string' },
      rounds: { type: 'string' },
      engine: { type: 'string' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'node-args': { type: 'string' },
      'dockgate-args': { type: 'string' },
      'peer-node-args': { type: 'string' },
      peer: { type: 'string', multiple: true },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    process.exit(0)
  }
  const q = values.quick
  const num = (name, dflt, min = 1) => {
    const raw = values[name]
    if (raw === undefined) return dflt
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number ≥ ${min}, got "${raw}"`)
    return n
  }
  let engine
  if (values.engine !== undefined) {
    if (!values.engine.startsWith('unix://')) throw new Error('--engine: expected unix:///path/to/docker.sock')
    engine = values.engine.slice('unix://'.length)
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean)
  for (const id of only ?? []) if (!SCENARIOS.some((s) => s.id === id)) throw new Error(`--only: unknown scenario "${id}" (${SCENARIOS.map((s) => s.id).join(', ')})`)
  return Object.freeze({
    quick: q,
    durationS: num('duration', q ? 1 : 10, 0.1),
    connections: Math.round(num('connections', 32)),
    imageMb: Math.round(num('image-mb', q ? 16 : 200)),
    execMb: num('exec-mb', q ? 8 : 100, 0.01),
    logLines: Math.round(num('log-lines', q ? 20_000 : 200_000)),
    subscribers: Math.round(num('subscribers', 1000)),
    streamRounds: Math.round(num('rounds', q ? 1 : 3)),
    /** Parallel create+delete loops: enough to keep the engine busy, few enough not to thrash it. */
    createConcurrency: 4,
    /** Containers in the engine for `containers/json` (created, not started, NetworkMode none). */
    containers: 30,
    engine,
    only,
    cpuProf: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
    nodeArgs: (values['node-args'] ?? '').split(' ').filter(Boolean),
    dockgateArgs: (values['dockgate-args'] ?? '').split(' ').filter(Boolean),
    peerNodeArgs: values['peer-node-args'] === undefined ? undefined : values['peer-node-args'].split(' ').filter(Boolean),
    peers: parsePeers(values.peer),
    out: resolve(values.out ?? join(ROOT, 'bench/results/latest.json')),
  })
}

const t0 = performance.now()
const log = (msg) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`)

/** Cleanup steps, last registered first; run once on the way out, also on SIGINT/SIGTERM. */
const cleanups = []
let cleaning
function cleanup() {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step()
      } catch (err) {
        log(`cleanup: ${err.message}`)
      }
    }
  })()
  return cleaning
}
let interrupted = false
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    interrupted = true
    log(`${sig}: cleaning up`)
    cleanup().finally(() => process.exit(130))
  })
}

async function writeRandomFile(path, bytes) {
  const hash = createHash('sha256')
  const fh = await open(path, 'w')
  try {
    const chunk = Buffer.alloc(4 * MIB)
    for (let left = bytes; left > 0; left -= chunk.length) {
      const part = randomFillSync(chunk).subarray(0, Math.min(chunk.length, left))
      hash.update(part)
      await fh.write(part)
    }
  } finally {
    await fh.close()
  }
  return hash.digest('hex')
}

/** Creates a container (NetworkMode none only: no network but loopback here) and returns its id. */
async function createContainer(ctx, cmd) {
  const { Id } = await api(ctx.engine.socket, 'POST', `${ctx.apiPrefix}/containers/create`, { Image: ctx.images.small, Cmd: cmd, Labels: { 'dockgate.bench': String(process.pid) }, HostConfig: { NetworkMode: 'none' } })
  ctx.created.push(Id)
  return Id
}

async function setup(opts) {
  const work = await mkdtemp(join(tmpdir(), 'dockgate-bench-'))
  cleanups.push(() => rm(work, { recursive: true, force: true }))
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` (npm run bench does)')

  let engine
  if (opts.engine) {
    await waitForPing(opts.engine, 5_000)
    engine = { socket: opts.engine, own: false }
    log(`using the engine at ${opts.engine}`)
  } else {
    const e = await startEngine()
    cleanups.push(() => e.stop())
    engine = { socket: e.socket, own: true }
    log(`private engine up (${e.dir})`)
  }
  const ver = await api(engine.socket, 'GET', '/version')
  const ctx = {
    opts, work, engine, created: [],
    apiPrefix: `/v${ver.ApiVersion}`,
    engineVersion: ver.Version,
    images: { small: SMALL_IMAGE, big: bigImageName(opts.imageMb) },
    totals: { requests: 0, requestCpuS: 0, streamedGB: 0, streamCpuS: 0 },
    dockerConfig: join(work, 'docker-config'),
  }

  const made = await ensureImages(engine.socket, { bigMb: opts.imageMb, workDir: join(work, 'images') })
  if (!engine.own) {
    // Leave a borrowed engine as it was: containers first, or their image would only be untagged.
    cleanups.push(async () => {
      await Promise.all(ctx.created.map((id) => request(engine.socket, 'DELETE', `/containers/${id}?force=1`).catch(() => {})))
      await removeImages(engine.socket, made)
    })
  }
  await rm(join(work, 'images'), { recursive: true, force: true })
  log(`images ready (${made.length ? `made ${made.join(', ')}` : 'already there'})`)

  // Two dockgate processes: `full` for the pass-through scenarios, `container-operator` (body
  // guards on) for create + delete. Separate processes, so /proc tells their costs apart.
  const nodeArgs = [...opts.nodeArgs, ...(opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : [])]
  const args = opts.dockgateArgs
  const full = await startDockgate({ name: 'full', policy: 'full', engineSocket: engine.socket, dir: work, nodeArgs, args })
  cleanups.push(() => full.stop())
  const operator = await startDockgate({ name: 'operator', policy: 'container-operator', engineSocket: engine.socket, dir: work, nodeArgs, args })
  cleanups.push(() => operator.stop())
  ctx.targets = {
    direct: { name: 'direct', socket: engine.socket },
    dockgate: { name: 'dockgate', socket: full.socket, pid: full.pid },
    operator: { name: 'dockgate', socket: operator.socket, pid: operator.pid },
  }
  ctx.samplers = { dockgate: rssSampler(full.pid) }
  cleanups.push(() => ctx.samplers.dockgate.stop())
  ctx.peers = []
  for (const spec of opts.peers) {
    const peerNodeArgs = opts.peerNodeArgs === undefined ? nodeArgs : [...opts.peerNodeArgs, ...(opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : [])]
    const p = await startPeer(spec, { engineSocket: engine.socket, dir: work, log, nodeArgs: peerNodeArgs, dockgateArgs: args })
    cleanups.push(() => p.stop())
    ctx.peers.push({ name: p.name, kind: p.kind, socket: p.socket, pid: p.pid, version: p.version, peer: true, ...(p.operator ? { operator: { ...p.operator, peer: true } } : {}) })
    ctx.samplers[p.name] = rssSampler(p.pid)
    cleanups.push(() => ctx.samplers[p.name].stop())
    log(`peer ${p.name} up: pid ${p.pid} (${p.version})`)
  }
  await sleep(1000) // let start-up garbage settle before calling it idle
  ctx.idle = { fullRssMiB: memory(full.pid)?.rssMiB, operatorRssMiB: memory(operator.pid)?.rssMiB, peers: Object.fromEntries(ctx.peers.map((p) => [p.name, memory(p.pid)?.rssMiB])) }
  ctx.dockgatePid = full.pid
  log(`dockgate up: full pid ${full.pid}, container-operator pid ${operator.pid}; idle RSS ${ctx.idle.fullRssMiB?.toFixed(1)} MiB${ctx.peers.map((p) => `, ${p.name} ${ctx.idle.peers[p.name]?.toFixed(1)} MiB`).join('')}`)

  // Containers: ~30 for the list, one running `sleep` for exec, one that printed the log lines.
  for (let i = 0; i < opts.containers - 2; i++) await createContainer(ctx, ['sleep', '3600'])
  const exec = await createContainer(ctx, ['sleep', '3600'])
  await api(engine.socket, 'POST', `${ctx.apiPrefix}/containers/${exec}/start`)
  const logs = await createContainer(ctx, ['seq', '1', String(opts.logLines)])
  await api(engine.socket, 'POST', `${ctx.apiPrefix}/containers/${logs}/start`)
  await api(engine.socket, 'POST', `${ctx.apiPrefix}/containers/${logs}/wait`, undefined, { timeoutMs: 120_000 })
  ctx.containers = { exec, logs }

  // The image as `docker save` gets it: the upload scenario sends this file back.
  const tarFile = join(work, 'image.tar')
  const fh = await open(tarFile, 'w')
  const saved = await new Promise((res, rej) => {
    const req = http.request({ socketPath: engine.socket, path: `${ctx.apiPrefix}/images/${ctx.images.big}/get`, agent: false }, (r) => {
      if (r.statusCode !== 200) return rej(new Error(`save ${ctx.images.big}: HTTP ${r.statusCode}`))
      let bytes = 0
      r.on('data', (c) => { bytes += c.length })
      r.pipe(fh.createWriteStream()).on('finish', () => res(bytes)).on('error', rej)
    })
    req.on('error', rej)
    req.end()
  })
  ctx.tar = { file: tarFile, bytes: saved }

  const execBytes = Math.round(opts.execMb * MIB)
  const execFile = join(work, 'exec-input.bin')
  ctx.execInput = { file: execFile, bytes: execBytes, sha256: await writeRandomFile(execFile, execBytes) }
  await mkdir(ctx.dockerConfig, { recursive: true })
  log(`${opts.containers} containers, image tar ${(saved / 1e6).toFixed(0)} MB, exec input ${(execBytes / 1e6).toFixed(0)} MB`)
  return ctx
}

function summary(ctx) {
  const t = ctx.totals
  const hwm = memory(ctx.dockgatePid)?.hwmMiB
  const peers = (f) => Object.fromEntries(ctx.peers.map((p) => [p.name, f(p)]))
  const metrics = [
    { name: 'idle RSS after start', unit: 'MiB', direct: undefined, dockgate: ctx.idle.fullRssMiB, peers: peers((p) => ctx.idle.peers[p.name]), budget: S.BUDGETS.idleRss, lowerIsBetter: true },
    { name: 'idle RSS after the run', unit: 'MiB', direct: undefined, dockgate: ctx.idleEnd, peers: peers((p) => ctx.idleEndPeers?.[p.name]) },
    { name: 'peak RSS (VmHWM, whole run)', unit: 'MiB', direct: undefined, dockgate: hwm, peers: peers((p) => memory(p.pid)?.hwmMiB) },
  ]
  if (t.requests > 0) metrics.push({ name: 'CPU per 1k small requests', unit: 'ms', direct: undefined, dockgate: (t.requestCpuS / t.requests) * 1e6 })
  if (t.streamedGB > 0) metrics.push({ name: 'CPU per GB streamed', unit: 's', direct: undefined, dockgate: t.streamCpuS / t.streamedGB })
  return { id: 'process', title: 'proxy process (full policy)', metrics, raw: { ...ctx.idle, idleEndMiB: ctx.idleEnd, hwmMiB: hwm, ...t } }
}

async function main() {
  const opts = parseOptions(process.argv.slice(2))
  log(`${opts.quick ? 'quick' : 'full'} run: ${JSON.stringify({ ...opts, out: undefined })}`)
  const results = []
  let failed = 0
  let ctx
  try {
    ctx = await setup(opts)
    for (const sc of SCENARIOS) {
      if (interrupted) return
      if (opts.only && !opts.only.includes(sc.id)) continue
      const started = performance.now()
      log(`${sc.id} …`)
      try {
        const r = await sc.run(ctx)
        results.push({ id: sc.id, title: sc.title, seconds: Math.round((performance.now() - started) / 100) / 10, ...r })
      } catch (err) {
        if (interrupted) return // cleanup pulled the engine away; the signal handler exits
        failed++
        log(`${sc.id} FAILED: ${err.stack ?? err}`)
        results.push({ id: sc.id, title: sc.title, error: String(err.message ?? err) })
      }
    }
    await sleep(2000)
    ctx.idleEnd = memory(ctx.dockgatePid)?.rssMiB
    ctx.idleEndPeers = Object.fromEntries(ctx.peers.map((p) => [p.name, memory(p.pid)?.rssMiB]))
    results.push(summary(ctx))
  } finally {
    log('cleaning up')
    await cleanup()
  }

  for (const r of results) for (const m of r.metrics ?? []) {
    m.ratio = typeof m.direct === 'number' && typeof m.dockgate === 'number' && m.direct !== 0 ? m.dockgate / m.direct : undefined
    if (m.peers && typeof m.direct === 'number' && m.direct !== 0) m.peerRatios = Object.fromEntries(Object.entries(m.peers).filter(([, v]) => typeof v === 'number').map(([k, v]) => [k, v / m.direct]))
    m.withinBudget = m.budget ? verdict(m) === '✓' : undefined
  }
  const runtimeS = Math.round((performance.now() - t0) / 100) / 10
  const table = markdownTable(results)
  const cpu = cpus()
  const json = {
    date: new Date().toISOString(),
    machine: { host: hostname(), cpus: cpu.length, cpuModel: cpu[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version, engine: ctx?.engineVersion },
    peers: (ctx?.peers ?? []).map((p) => ({ name: p.name, kind: p.kind, version: p.version })),
    options: opts,
    runtimeS,
    scenarios: results,
    table,
  }
  await mkdir(dirname(opts.out), { recursive: true })
  await writeFile(opts.out, JSON.stringify(json, null, 2) + '\n')
  process.stdout.write(`\n${table}\n\n${opts.quick ? 'quick' : 'full'} run, ${json.date}, ${cpu.length}× ${cpu[0]?.model}, node ${process.version}, engine ${ctx?.engineVersion}; ${runtimeS} s in all. JSON: ${opts.out}\n`)
  if (failed > 0) {
    process.stderr.write(`bench: ${failed} scenario(s) failed\n`)
    process.exitCode = 1
  }
}

main().catch(async (err) => {
  if (interrupted) return
  log(`FAILED: ${err.stack ?? err}`)
  await cleanup()
  process.exit(1)
})
