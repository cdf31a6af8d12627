/**
 * The scenarios of issue 4. Each measures the direct engine socket and dockgate in one
 * interleaved run: targets take turns in short rounds, the order flipping every round, so that
 * drift on the machine (another job, the engine's caches, thermal) hits both alike.
 *
 * A scenario returns `{ metrics, raw }`: metrics are rows of the results table
 * (`{ name, unit, direct, dockgate, budget?, lowerIsBetter? }`), raw goes to the JSON as is.
 * It throws when the target answered wrongly (bad status, lost bytes): that is a failed run, not a
 * slow one.
 */
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { api } from './engine.mjs'
import { runLoad, percentile } from './load.mjs'
import { cpuSeconds } from './proc.mjs'
import { download, execCat, openSubscribers, uploadChunked } from './streams.mjs'

const MB = 1e6 // throughput is in MB/s (10^6 bytes), like dd and the docker CLI's progress
const round2 = (x) => Math.round(x * 100) / 100

/** Budgets of issue 4, as data: ratio to direct, added latency, or an absolute ceiling. */
export const BUDGETS = Object.freeze({
  pingRps: { kind: 'ratio-min', value: 0.4, text: '≥ 0.40×' },
  pingP50: { kind: 'added-max', value: 1.5, text: '≤ +1.5 ms' },
  passThrough: { kind: 'ratio-min', value: 0.95, text: '≥ 0.95×' },
  upload: { kind: 'ratio-min', value: 0.9, text: '≥ 0.90×' },
  exec: { kind: 'ratio-min', value: 0.85, text: '≥ 0.85×' },
  correct: { kind: 'true', text: 'yes' },
  eventsRss: { kind: 'max', value: 150, text: '≤ 150 MiB' },
  idleRss: { kind: 'max', value: 60, text: '≤ 60 MiB' },
})

/**
 * Runs `fn(target, round)` for `rounds` rounds, each target once per round, the order flipping
 * every round; adds the target process's CPU seconds for the round (`proxyCpuS`).
 * @returns {Promise<Record<string, object[]>>} results per target name
 */
async function interleave(targets, rounds, fn) {
  const out = Object.fromEntries(targets.map((t) => [t.name, []]))
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse()
    for (const t of order) {
      const cpu0 = t.pid ? cpuSeconds(t.pid) : 0
      const res = await fn(t, r)
      res.proxyCpuS = t.pid ? cpuSeconds(t.pid) - cpu0 : 0
      out[t.name].push(res)
    }
  }
  return out
}

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
  const { rounds, roundMs, warmupMs } = schedule(ctx)
  const load = (t, ms) => runLoad({ socket: t.socket, method, path, connections: ctx.opts.connections, durationMs: ms })
  for (const t of [direct, dockgate]) await load(t, warmupMs) // fill pools and JIT; not counted
  const res = await interleave([direct, dockgate], rounds, (t) => load(t, roundMs))
  const agg = {}
  for (const [name, rs] of Object.entries(res)) {
    const errors = sum(rs, (r) => r.errors)
    const bad = Object.assign({}, ...rs.map((r) => r.badStatus))
    if (errors > 0 || Object.keys(bad).length > 0) throw new Error(`${name}: ${errors} connection errors, unexpected statuses ${JSON.stringify(bad)}`)
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
  const metrics = [
    { name: 'req/s', unit: 'req/s', direct: d.rps, dockgate: g.rps, budget: budgets?.rps },
    { name: `p50 (${c} conns)`, unit: 'ms', direct: d.p50, dockgate: g.p50, lowerIsBetter: true },
    { name: `p99 (${c} conns)`, unit: 'ms', direct: d.p99, dockgate: g.p99, lowerIsBetter: true },
  ]
  const raw = { connections: c, rounds, roundMs, ...agg }
  if (budgets?.p50) {
    // With 32 busy connections p50 is mostly queueing (Little's law: 32 / throughput). The latency
    // dockgate adds to one request is measured alone: one connection, one request at a time.
    const one = await interleave([direct, dockgate], rounds, (t) =>
      runLoad({ socket: t.socket, method, path, connections: 1, durationMs: roundMs / 2 }))
    const p50 = (rs) => percentile(new Float64Array(rs.flatMap((r) => r.latenciesMs)).sort(), 50)
    raw.oneConnection = { directP50: p50(one.direct), dockgateP50: p50(one.dockgate) }
    metrics.push({ name: 'p50 (1 conn)', unit: 'ms', direct: raw.oneConnection.directP50, dockgate: raw.oneConnection.dockgateP50, budget: budgets.p50, lowerIsBetter: true })
  }
  metrics.push({ name: 'dockgate CPU per 1k req', unit: 'ms', direct: undefined, dockgate: (g.proxyCpuS / g.requests) * 1e6 })
  return { metrics, raw }
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
  const { rounds, roundMs, warmupMs } = schedule(ctx)
  const concurrency = ctx.opts.createConcurrency
  for (const t of [direct, operator]) await createDeleteRound(ctx, t, warmupMs, concurrency)
  const res = await interleave([direct, operator], rounds, (t) => createDeleteRound(ctx, t, roundMs, concurrency))
  const agg = (rs) => {
    const lat = new Float64Array(rs.flatMap((r) => r.lat)).sort()
    const cycles = sum(rs, (r) => r.cycles)
    const secs = sum(rs, (r) => r.elapsedS)
    return { cycles, seconds: round2(secs), rps: (2 * cycles) / secs, cycleP50: percentile(lat, 50), proxyCpuS: sum(rs, (r) => r.proxyCpuS) }
  }
  const d = agg(res.direct)
  const g = agg(res.dockgate)
  return {
    metrics: [
      { name: 'req/s (create+delete)', unit: 'req/s', direct: d.rps, dockgate: g.rps },
      { name: 'cycle p50', unit: 'ms', direct: d.cycleP50, dockgate: g.cycleP50, lowerIsBetter: true },
    ],
    raw: { concurrency, rounds, roundMs, policy: 'container-operator', direct: d, dockgate: g },
  }
}

/** A streamed transfer per round and target: MB/s, plus proxy CPU per GB. */
async function streamed(ctx, rounds, once, { budget, bytesFactor = 1 } = {}) {
  const { direct, dockgate } = ctx.targets
  const res = await interleave([direct, dockgate], rounds, once)
  const agg = (rs) => {
    const bytes = sum(rs, (r) => r.bytes)
    const secs = sum(rs, (r) => r.seconds)
    return { bytes, seconds: round2(secs), mbps: bytes / MB / secs, roundsMbps: rs.map((r) => round2(r.bytes / MB / r.seconds)), proxyCpuS: sum(rs, (r) => r.proxyCpuS) }
  }
  const d = agg(res.direct)
  const g = agg(res.dockgate)
  if (d.bytes !== g.bytes) throw new Error(`byte counts differ: direct ${d.bytes}, dockgate ${g.bytes}`)
  const gb = (g.bytes * bytesFactor) / 1e9
  ctx.totals.streamedGB += gb
  ctx.totals.streamCpuS += g.proxyCpuS
  return {
    metrics: [
      { name: 'MB/s', unit: 'MB/s', direct: d.mbps, dockgate: g.mbps, budget },
      { name: 'dockgate CPU per GB', unit: 's', direct: undefined, dockgate: g.proxyCpuS / gb },
    ],
    raw: { rounds, direct: d, dockgate: g, extra: res },
  }
}

/** `GET /images/{name}/get` of the big image. */
export async function imageExport(ctx) {
  const path = `${ctx.apiPrefix}/images/${ctx.images.big}/get`
  const r = await streamed(ctx, ctx.opts.streamRounds, (t) => download(t.socket, path), { budget: BUDGETS.passThrough })
  r.raw.tarBytes = ctx.tar.bytes
  return r
}

/** `GET /containers/{id}/logs` of a container that printed many short lines (one frame each). */
export async function containerLogs(ctx) {
  const path = `${ctx.apiPrefix}/containers/${ctx.containers.logs}/logs?stdout=1&stderr=1`
  const r = await streamed(ctx, ctx.opts.streamRounds, (t) => download(t.socket, path), { budget: BUDGETS.passThrough })
  r.raw.lines = ctx.opts.logLines
  return r
}

/** `POST /images/load` of the saved big image, chunked like `docker load`. */
export async function imageLoad(ctx) {
  const path = `${ctx.apiPrefix}/images/load?quiet=1`
  return streamed(ctx, ctx.opts.streamRounds, (t) => uploadChunked(t.socket, path, ctx.tar.file), { budget: BUDGETS.upload })
}

/** `docker exec -i CTR cat` through the docker CLI: MB/s each way, bytes verified, session ended. */
export async function execRoundTrip(ctx) {
  const { direct, dockgate } = ctx.targets
  const once = async (t) => {
    const r = await execCat({ socket: t.socket, container: ctx.containers.exec, inputFile: ctx.execInput.file, inputSha256: ctx.execInput.sha256, configDir: ctx.dockerConfig })
    if (!r.ended || !r.verified) throw new Error(`${t.name}: docker exec -i cat: exit ${r.exit}, ${r.bytes} of ${ctx.execInput.bytes} bytes back, verified ${r.verified}${r.stderr ? `, stderr: ${r.stderr}` : ''}`)
    return r
  }
  // One unmeasured session per target first: the CLI's first start pays for page cache.
  await once(direct)
  await once(dockgate)
  const res = await interleave([direct, dockgate], ctx.opts.streamRounds, once)
  const agg = (rs) => {
    const bytes = sum(rs, (r) => r.bytes)
    const secs = sum(rs, (r) => r.seconds)
    return { bytes, seconds: round2(secs), mbps: bytes / MB / secs, verified: rs.every((r) => r.verified), ended: rs.every((r) => r.ended), proxyCpuS: sum(rs, (r) => r.proxyCpuS) }
  }
  const d = agg(res.direct)
  const g = agg(res.dockgate)
  const gb = (2 * g.bytes) / 1e9 // bytes crossed dockgate both ways
  ctx.totals.streamedGB += gb
  ctx.totals.streamCpuS += g.proxyCpuS
  return {
    metrics: [
      { name: 'MB/s each way', unit: 'MB/s', direct: d.mbps, dockgate: g.mbps, budget: BUDGETS.exec },
      { name: 'bytes verified, session ended', unit: 'bool', direct: d.verified && d.ended, dockgate: g.verified && g.ended, budget: BUDGETS.correct },
      { name: 'dockgate CPU per GB', unit: 's', direct: undefined, dockgate: g.proxyCpuS / gb },
    ],
    raw: { rounds: ctx.opts.streamRounds, inputBytes: ctx.execInput.bytes, direct: d, dockgate: g },
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
  const res = await interleave([direct, dockgate], 1, once)
  const d = res.direct[0]
  const g = res.dockgate[0]
  ctx.events = g
  return {
    metrics: [
      { name: `all ${n} received the start event`, unit: 'bool', direct: d.delivered === n, dockgate: g.delivered === n, budget: BUDGETS.correct },
      { name: 'HEAD /_ping req/s meanwhile', unit: 'req/s', direct: d.pingRps, dockgate: g.pingRps },
      { name: 'dockgate peak RSS', unit: 'MiB', direct: undefined, dockgate: g.peakRssMiB, budget: BUDGETS.eventsRss, lowerIsBetter: true },
    ],
    raw: { subscribers: n, loadMs, direct: d, dockgate: g },
  }
}
