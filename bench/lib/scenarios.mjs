/**
 * The scenarios of issue 4. Each measures the direct engine socket and dockgate in one
 * interleaved run: targets take turns in short rounds, the order flipping every round, so that
 * drift on the machine (another job, the engine's caches, thermal) hits both alike.
 *
 * Peers (`--peer`: HAProxy, a bare node:http proxy, another dockgate build) take their turns in
 * the same rounds. A scenario returns `{ metrics, raw, peerErrors? }`: metrics are rows of the
 * results table (`{ name, unit, direct, dockgate, peers?: {name: value}, budget?, lowerIsBetter? }`),
 * raw goes to the JSON as is. It throws when direct or dockgate answered wrongly (bad status, lost
 * bytes): that is a failed run, not a slow one. A peer that answers wrongly (HAProxy refusing
 * exec's upgrade) is reported as failing, with the reason (`peerErrors`), and fails nothing.
 */
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { api } from './engine.mjs'
import { runLoad, percentile } from './load.mjs'
import { cpuSeconds } from './proc.mjs'
import { download, execCat, openSubscribers, uploadChunked } from './streams.mjs'

const MB = 1e6 // throughput is in MB/s (10^6 bytes), like dd and the docker CLI's progress
const round2 = (x) => Math.round(x * 100) / 100

/**
 * Goals of issue 11, as data: dockgate's ratio to direct at least HAProxy's (judged only when the
 * haproxy peer ran), a ratio, added latency, a ceiling relative to HAProxy's, or an absolute one.
 */
export const BUDGETS = Object.freeze({
  vsHaproxy: { kind: 'peer-ratio-min', peer: 'haproxy', text: '≥ HAProxy' },
  pingP50: { kind: 'added-max', value: 0.15, text: '≤ +0.15 ms' },
  pingCpu: { kind: 'peer-max', peer: 'haproxy', value: 1.2, text: '≤ 1.2× HAProxy' },
  exec: { kind: 'ratio-min', value: 0.9, text: '≥ 0.90×' },
  correct: { kind: 'true', text: 'yes' },
  eventsRss: { kind: 'max', value: 120, text: '≤ 120 MiB' },
  idleRss: { kind: 'max', value: 50, text: '≤ 50 MiB' },
})

/**
 * Runs `fn(target, round)` for `rounds` rounds, each target once per round, the order flipping
 * every round; adds the target process's CPU seconds for the round (`proxyCpuS`). A peer whose
 * `fn` throws is dropped from later rounds and its reason kept in `failed`; direct's and
 * dockgate's errors propagate.
 * @returns {Promise<Record<string, object[]> & {failed?: Record<string, string>}>} results per target name
 */
async function interleave(targets, rounds, fn, failed = {}) {
  const out = Object.fromEntries(targets.map((t) => [t.name, []]))
  Object.defineProperty(out, 'failed', { value: failed, enumerable: false })
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse()
    for (const t of order) {
      if (failed[t.name] !== undefined) continue
      const cpu0 = t.pid ? cpuSeconds(t.pid) : 0
      let res
      try {
        res = await fn(t, r)
      } catch (err) {
        if (!t.peer) throw err
        failed[t.name] = String(err.message ?? err).split('\n')[0]
        continue
      }
      res.proxyCpuS = t.pid ? cpuSeconds(t.pid) - cpu0 : 0
      out[t.name].push(res)
    }
  }
  return out
}

/** The peers' figure for each metric: `{ [peer]: f(agg of peer) }`, failed peers left out. */
function peerValues(ctx, aggs, f) {
  const out = {}
  for (const p of ctx.peers) if (aggs[p.name] !== undefined) out[p.name] = f(aggs[p.name])
  return out
}

/** Peers that failed, as `{ name: reason }`, or undefined when none did. */
const failures = (failed) => (Object.keys(failed).length > 0 ? { ...failed } : undefined)

const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0)

/** Rounds and their length for a closed-loop scenario of `durationS` per target. */
function schedule(ctx) {
  const roundS = ctx.opts.quick ? 0.5 : 2
  const rounds = Math.max(1, Math.round(ctx.opts.durationS / roundS))
  return { rounds, roundMs: (ctx.opts.durationS * 1000) / rounds, warmupMs: ctx.opts.quick ? 200 : 1000 }
}

/** Small requests over `connections` keep-alive connections: req/s, p50, p99, proxy CPU per 1k. */
export async function smallRequests(ctx, method, path, budgets) {
  const { direct, dockgate } = ctx.targets
  const targets = [direct, dockgate, ...ctx.peers]
  const { rounds, roundMs, warmupMs } = schedule(ctx)
  const failed = {}
  const load = async (t, ms) => {
    const r = await runLoad({ socket: t.socket, method, path, connections: ctx.opts.connections, durationMs: ms })
    const bad = Object.keys(r.badStatus)
    if (r.errors > 0 || bad.length > 0) throw new Error(`${t.name}: ${r.errors} connection errors, unexpected statuses ${JSON.stringify(r.badStatus)}`)
    return r
  }
  // Fill pools and JIT; not counted.
  await interleave(targets, 1, (t) => load(t, warmupMs), failed)
  const res = await interleave(targets, rounds, (t) => load(t, roundMs), failed)
  const agg = {}
  for (const [name, rs] of Object.entries(res)) {
    if (rs.length === 0) continue
    const lat = new Float64Array(rs.flatMap((r) => r.latenciesMs)).sort()
    const requests = sum(rs, (r) => r.requests)
    agg[name] = {
      requests,
      seconds: round2(sum(rs, (r) => r.elapsedS)),
      rps: requests / sum(rs, (r) => r.elapsedS),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      proxyCpuS: sum(rs, (r) => r.proxyCpuS),
      roundsRps: rs.map((r) => Math.round(r.requests / r.elapsedS)),
    }
  }
  const d = agg.direct
  const g = agg.dockgate
  ctx.totals.requests += g.requests
  ctx.totals.requestCpuS += g.proxyCpuS
  const c = ctx.opts.connections
  const pv = (f) => peerValues(ctx, agg, f)
  const metrics = [
    { name: 'req/s', unit: 'req/s', direct: d.rps, dockgate: g.rps, peers: pv((a) => a.rps), budget: budgets?.rps },
    { name: `p50 (${c} conns)`, unit: 'ms', direct: d.p50, dockgate: g.p50, peers: pv((a) => a.p50), lowerIsBetter: true },
    { name: `p99 (${c} conns)`, unit: 'ms', direct: d.p99, dockgate: g.p99, peers: pv((a) => a.p99), lowerIsBetter: true },
  ]
  const raw = { connections: c, rounds, roundMs, ...agg }
  if (budgets?.p50) {
    // With 32 busy connections p50 is mostly queueing (Little's law: 32 / throughput). The latency
    // dockgate adds to one request is measured alone: one connection, one request at a time.
    const one = await interleave(targets, rounds, (t) => runLoad({ socket: t.socket, method, path, connections: 1, durationMs: roundMs / 2 }), failed)
    const p50 = (rs) => percentile(new Float64Array(rs.flatMap((r) => r.latenciesMs)).sort(), 50)
    raw.oneConnection = Object.fromEntries(Object.entries(one).filter(([, rs]) => rs.length > 0).map(([name, rs]) => [name, p50(rs)]))
    metrics.push({ name: 'p50 (1 conn)', unit: 'ms', direct: raw.oneConnection.direct, dockgate: raw.oneConnection.dockgate, peers: peerValues(ctx, raw.oneConnection, (x) => x), budget: budgets.p50, lowerIsBetter: true })
  }
  metrics.push({ name: 'proxy CPU per 1k req', unit: 'ms', direct: undefined, dockgate: (g.proxyCpuS / g.requests) * 1e6, peers: pv((a) => (a.proxyCpuS / a.requests) * 1e6), budget: budgets?.cpu })
  return { metrics, raw, peerErrors: failures(failed) }
}

/** One HTTP call on a keep-alive agent; resolves with status and body. */
function call(agent, socket, method, path, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers = payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}
    const req = http.request({ socketPath: socket, method, path, host: 'docker', agent, headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** Workers creating a container (NetworkMode none) and deleting it, in a loop, for `ms`. */
async function createDeleteRound(ctx, target, ms, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const v = ctx.apiPrefix
  // A plain busybox body, as `docker create` sends it; container-operator's guards must pass it.
  const body = { Image: ctx.images.small, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }
  let cycles = 0
  const lat = []
  const start = performance.now()
  const deadline = start + ms
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      const created = await call(agent, target.socket, 'POST', `${v}/containers/create`, body)
      if (created.status !== 201) throw new Error(`${target.name}: create: HTTP ${created.status} ${created.body.trim()}`)
      const id = JSON.parse(created.body).Id
      const deleted = await call(agent, target.socket, 'DELETE', `${v}/containers/${id}?force=1`)
      if (deleted.status !== 204) throw new Error(`${target.name}: delete ${id}: HTTP ${deleted.status} ${deleted.body.trim()}`)
      cycles++
      lat.push(performance.now() - t0)
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    agent.destroy()
  }
  return { cycles, elapsedS: (performance.now() - start) / 1000, lat }
}

/** Guarded `POST /containers/create` + `DELETE`, dockgate under container-operator. */
export async function createDelete(ctx) {
  const { direct, operator } = ctx.targets
  // A dockgate peer runs its own container-operator process; other peers forward as they are.
  const targets = [direct, operator, ...ctx.peers.map((p) => p.operator ?? p)]
  const { rounds, roundMs, warmupMs } = schedule(ctx)
  const concurrency = ctx.opts.createConcurrency
  const failed = {}
  await interleave(targets, 1, (t) => createDeleteRound(ctx, t, warmupMs, concurrency), failed)
  const res = await interleave(targets, rounds, (t) => createDeleteRound(ctx, t, roundMs, concurrency), failed)
  const aggs = {}
  for (const [name, rs] of Object.entries(res)) {
    if (rs.length === 0) continue
    const lat = new Float64Array(rs.flatMap((r) => r.lat)).sort()
    const cycles = sum(rs, (r) => r.cycles)
    const secs = sum(rs, (r) => r.elapsedS)
    aggs[name] = { cycles, seconds: round2(secs), rps: (2 * cycles) / secs, cycleP50: percentile(lat, 50), proxyCpuS: sum(rs, (r) => r.proxyCpuS) }
  }
  const d = aggs.direct
  const g = aggs.dockgate
  return {
    metrics: [
      { name: 'req/s (create+delete)', unit: 'req/s', direct: d.rps, dockgate: g.rps, peers: peerValues(ctx, aggs, (a) => a.rps) },
      { name: 'cycle p50', unit: 'ms', direct: d.cycleP50, dockgate: g.cycleP50, peers: peerValues(ctx, aggs, (a) => a.cycleP50), lowerIsBetter: true },
    ],
    raw: { concurrency, rounds, roundMs, policy: 'container-operator', ...aggs },
    peerErrors: failures(failed),
  }
}

/** A streamed transfer per round and target: MB/s, plus proxy CPU per GB. */
async function streamed(ctx, rounds, once, { budget, bytesFactor = 1 } = {}) {
  const { direct, dockgate } = ctx.targets
  const failed = {}
  const res = await interleave([direct, dockgate, ...ctx.peers], rounds, once, failed)
  const aggs = {}
  for (const [name, rs] of Object.entries(res)) {
    if (rs.length === 0) continue
    const bytes = sum(rs, (r) => r.bytes)
    const secs = sum(rs, (r) => r.seconds)
    aggs[name] = { bytes, seconds: round2(secs), mbps: bytes / MB / secs, roundsMbps: rs.map((r) => round2(r.bytes / MB / r.seconds)), proxyCpuS: sum(rs, (r) => r.proxyCpuS) }
  }
  const d = aggs.direct
  const g = aggs.dockgate
  if (d.bytes !== g.bytes) throw new Error(`byte counts differ: direct ${d.bytes}, dockgate ${g.bytes}`)
  for (const p of ctx.peers) {
    const a = aggs[p.name]
    if (a !== undefined && a.bytes !== d.bytes) {
      failed[p.name] = `byte counts differ: direct ${d.bytes}, ${p.name} ${a.bytes}`
      delete aggs[p.name]
    }
  }
  const gb = (g.bytes * bytesFactor) / 1e9
  ctx.totals.streamedGB += gb
  ctx.totals.streamCpuS += g.proxyCpuS
  return {
    metrics: [
      { name: 'MB/s', unit: 'MB/s', direct: d.mbps, dockgate: g.mbps, peers: peerValues(ctx, aggs, (a) => a.mbps), budget },
      { name: 'proxy CPU per GB', unit: 's', direct: undefined, dockgate: g.proxyCpuS / gb, peers: peerValues(ctx, aggs, (a) => a.proxyCpuS / ((a.bytes * bytesFactor) / 1e9)) },
    ],
    raw: { rounds, ...aggs, extra: res },
    peerErrors: failures(failed),
  }
}

/** `GET /images/{name}/get` of the big image. */
export async function imageExport(ctx) {
  const path = `${ctx.apiPrefix}/images/${ctx.images.big}/get`
  const r = await streamed(ctx, ctx.opts.streamRounds, (t) => download(t.socket, path), { budget: BUDGETS.vsHaproxy })
  r.raw.tarBytes = ctx.tar.bytes
  return r
}

/** `GET /containers/{id}/logs` of a container that printed many short lines (one frame each). */
export async function containerLogs(ctx) {
  const path = `${ctx.apiPrefix}/containers/${ctx.containers.logs}/logs?stdout=1&stderr=1`
  const r = await streamed(ctx, ctx.opts.streamRounds, (t) => download(t.socket, path), { budget: BUDGETS.vsHaproxy })
  r.raw.lines = ctx.opts.logLines
  return r
}

/** `POST /images/load` of the saved big image, chunked like `docker load`. */
export async function imageLoad(ctx) {
  const path = `${ctx.apiPrefix}/images/load?quiet=1`
  return streamed(ctx, ctx.opts.streamRounds, (t) => uploadChunked(t.socket, path, ctx.tar.file), { budget: BUDGETS.vsHaproxy })
}

/** `docker exec -i CTR cat` through the docker CLI: MB/s each way, bytes verified, session ended. */
export async function execRoundTrip(ctx) {
  const { direct, dockgate } = ctx.targets
  const targets = [direct, dockgate, ...ctx.peers]
  const once = async (t) => {
    const r = await execCat({ socket: t.socket, container: ctx.containers.exec, inputFile: ctx.execInput.file, inputSha256: ctx.execInput.sha256, configDir: ctx.dockerConfig })
    if (!r.ended || !r.verified) throw new Error(`${t.name}: docker exec -i cat: exit ${r.exit}, ${r.bytes} of ${ctx.execInput.bytes} bytes back, verified ${r.verified}${r.stderr ? `, stderr: ${r.stderr}` : ''}`)
    return r
  }
  // One unmeasured session per target first: the CLI's first start pays for page cache.
  const failed = {}
  await interleave(targets, 1, once, failed)
  const res = await interleave(targets, ctx.opts.streamRounds, once, failed)
  const aggs = {}
  for (const [name, rs] of Object.entries(res)) {
    if (rs.length === 0) continue
    const bytes = sum(rs, (r) => r.bytes)
    const secs = sum(rs, (r) => r.seconds)
    aggs[name] = { bytes, seconds: round2(secs), mbps: bytes / MB / secs, verified: rs.every((r) => r.verified), ended: rs.every((r) => r.ended), proxyCpuS: sum(rs, (r) => r.proxyCpuS) }
  }
  const d = aggs.direct
  const g = aggs.dockgate
  const gb = (2 * g.bytes) / 1e9 // bytes crossed dockgate both ways
  ctx.totals.streamedGB += gb
  ctx.totals.streamCpuS += g.proxyCpuS
  const pv = (f) => peerValues(ctx, aggs, f)
  return {
    metrics: [
      { name: 'MB/s each way', unit: 'MB/s', direct: d.mbps, dockgate: g.mbps, peers: pv((a) => a.mbps), budget: BUDGETS.exec },
      { name: 'bytes verified, session ended', unit: 'bool', direct: d.verified && d.ended, dockgate: g.verified && g.ended, peers: pv((a) => a.verified && a.ended), budget: BUDGETS.correct },
      { name: 'proxy CPU per GB', unit: 's', direct: undefined, dockgate: g.proxyCpuS / gb, peers: pv((a) => a.proxyCpuS / ((2 * a.bytes) / 1e9)) },
    ],
    raw: { rounds: ctx.opts.streamRounds, inputBytes: ctx.execInput.bytes, ...aggs },
    peerErrors: failures(failed),
  }
}

/**
 * `subscribers` open `GET /events` streams while `HEAD /_ping` load runs; one container is
 * started meanwhile and every subscriber must see its start event.
 */
export async function manyStreams(ctx) {
  const { direct, dockgate } = ctx.targets
  const n = ctx.opts.subscribers
  const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start'] }))
  const path = `${ctx.apiPrefix}/events?filters=${filters}`
  const loadMs = ctx.opts.quick ? 1500 : Math.max(4000, ctx.opts.durationS * 1000)
  const once = async (t) => {
    const sampler = t.pid ? ctx.samplers[t.name] : undefined
    sampler?.resetPeak()
    const opened = performance.now()
    const subs = await openSubscribers(t.socket, path, n)
    const openS = (performance.now() - opened) / 1000
    const rssOpen = sampler?.peak()
    let containerId
    try {
      const load = runLoad({ socket: t.socket, method: 'HEAD', path: '/_ping', connections: ctx.opts.connections, durationMs: loadMs })
      await sleep(Math.min(1000, loadMs / 3))
      // Started on the engine's own socket, so that both targets see the same event source.
      containerId = (await api(ctx.engine.socket, 'POST', `${ctx.apiPrefix}/containers/create`, { Image: ctx.images.small, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } })).Id
      const t0 = performance.now()
      await api(ctx.engine.socket, 'POST', `${ctx.apiPrefix}/containers/${containerId}/start`)
      const deadline = t0 + 15_000
      let got = subs.received(containerId)
      while (got < n && performance.now() < deadline) {
        await sleep(20)
        got = subs.received(containerId)
      }
      const deliveredS = (performance.now() - t0) / 1000
      const l = await load
      if (l.errors > 0 || Object.keys(l.badStatus).length > 0) throw new Error(`${t.name}: ping load under ${n} streams: ${l.errors} errors, statuses ${JSON.stringify(l.badStatus)}`)
      return { subscribers: n, delivered: got, deliveredS: round2(deliveredS), openS: round2(openS), pingRps: l.requests / l.elapsedS, rssOpenMiB: rssOpen, peakRssMiB: sampler?.peak() }
    } finally {
      subs.close()
      if (containerId) await api(ctx.engine.socket, 'DELETE', `${ctx.apiPrefix}/containers/${containerId}?force=1`, undefined, { ok: [204, 404] }).catch(() => {})
    }
  }
  const failed = {}
  const res = await interleave([direct, dockgate, ...ctx.peers], 1, once, failed)
  const aggs = Object.fromEntries(Object.entries(res).filter(([, rs]) => rs.length > 0).map(([name, rs]) => [name, rs[0]]))
  const d = aggs.direct
  const g = aggs.dockgate
  ctx.events = g
  const pv = (f) => peerValues(ctx, aggs, f)
  return {
    metrics: [
      { name: `all ${n} received the start event`, unit: 'bool', direct: d.delivered === n, dockgate: g.delivered === n, peers: pv((a) => a.delivered === n), budget: BUDGETS.correct },
      { name: 'HEAD /_ping req/s meanwhile', unit: 'req/s', direct: d.pingRps, dockgate: g.pingRps, peers: pv((a) => a.pingRps) },
      { name: 'proxy peak RSS', unit: 'MiB', direct: undefined, dockgate: g.peakRssMiB, peers: pv((a) => a.peakRssMiB), budget: BUDGETS.eventsRss, lowerIsBetter: true },
    ],
    raw: { subscribers: n, loadMs, ...aggs },
    peerErrors: failures(failed),
  }
}
