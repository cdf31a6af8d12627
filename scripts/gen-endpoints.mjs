#!/usr/bin/env node
// Generates src/endpoints-table.ts: every Engine API operation dockgate knows, as data.
//
//   node scripts/gen-endpoints.mjs [SPEC_DIR] [--out FILE]
//
// SPEC_DIR defaults to spec/docker-engine-api/ (vendored, see its README.md) and must hold
// v1.41.yaml and v1.56.yaml. FILE defaults to src/endpoints-table.ts. The output is
// deterministic and committed; test/unit/endpoints.test.ts fails when it drifts from the specs.
//
// The table is the union of both specs' operations plus a short hand-written list of routes the
// engine serves without documenting them (HAND_ROUTES below). Stream kinds are decided here, by
// hand, per operationId; the generator refuses to run when a spec operation carries a streaming
// media type and nobody has decided its kind yet.

import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SPEC_FILES = ['v1.41.yaml', 'v1.56.yaml']
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] // src/types.ts HttpMethod, in output order

// ---------------------------------------------------------------------------------------------
// HAND-WRITTEN: routes real clients use that the specs may not document.
// A route the specs already document (same method and template) is taken from the spec, with the
// spec's operationId; the entry here then only records that we looked for it.
// Sources are moby's routers (daemon/server/router/*, api/server/router/* before v28) and the
// registration order in cmd/dockerd/daemon.go initRouter / daemon/command/daemon.go buildRouters.
// ---------------------------------------------------------------------------------------------
const HAND_ROUTES = [
  // Clients negotiate the API version with HEAD /_ping before anything else (engine-notes.md,
  // "Routing"). Documented by both specs as SystemPingHead; kept here in case a spec drops it.
  { id: 'SystemPingHead', method: 'HEAD', template: '/_ping', why: 'API version negotiation (docker CLI, moby client)' },
  // BuildKit session (docker build with BuildKit, buildx docker driver): Upgrade: h2c.
  // router/session/session.go. Documented by both specs as Session.
  { id: 'Session', method: 'POST', template: '/session', why: 'BuildKit session, hijacked (router/session/session.go)' },
  // BuildKit's gRPC API over the engine socket (buildx "docker" driver, docker build with
  // BuildKit): POST /grpc, Upgrade: h2c, then HTTP/2 gRPC. router/grpc/grpc.go.
  { id: 'BuildKitGrpc', method: 'POST', template: '/grpc', why: 'BuildKit gRPC over h2c, hijacked (router/grpc/grpc.go)' },
  // docker CLI 18.09-23 cancels a BuildKit build with POST /build/cancel?id=... when the user
  // hits Ctrl-C (cli/command/image/build_buildkit.go: Client().BuildCancel). router/build/build.go.
  { id: 'BuildCancel', method: 'POST', template: '/build/cancel', why: 'docker CLI cancels BuildKit builds (client BuildCancel)' },
  // docker checkpoint create|ls|rm (experimental). router/checkpoint/checkpoint.go. The routes are
  // registered whether or not experimental is on (they answer an error when it is off), and the
  // checkpoint router is registered BEFORE the container router "or the DELETE gets masked"
  // (initRouter): DELETE /containers/x/checkpoints/y is CheckpointDelete, not ContainerDelete
  // of a container named "x/checkpoints/y". Leaving them out would make dockgate misname that
  // request, so they are in the table even though few clients send them.
  { id: 'CheckpointList', method: 'GET', template: '/containers/{id}/checkpoints', why: 'docker checkpoint ls (router/checkpoint/checkpoint.go)' },
  { id: 'CheckpointCreate', method: 'POST', template: '/containers/{id}/checkpoints', why: 'docker checkpoint create (router/checkpoint/checkpoint.go)' },
  { id: 'CheckpointDelete', method: 'DELETE', template: '/containers/{id}/checkpoints/{checkpoint}', why: 'docker checkpoint rm; masks DELETE /containers/{id} (router/checkpoint/checkpoint.go)' },
  // Deliberately NOT listed (dockgate refuses them as unknown):
  //  - GET /networks/ (trailing slash, NetworkList alias in router/network/network.go): the
  //    normaliser refuses empty segments, and no maintained client sends it.
  //  - POST /containers/{name:.*}/copy: removed in API 1.24; on older engines it copies files out
  //    of a container for API < 1.24 clients only.
  //  - /debug/vars, /debug/pprof/*: the engine's profiler (router/debug/debug.go), not an API.
  //  - OPTIONS /{anyroute:.*}: CORS preflight; OPTIONS is not an HttpMethod dockgate forwards.
]

// ---------------------------------------------------------------------------------------------
// HAND-WRITTEN: stream kinds (src/types.ts StreamKind), decided per operationId.
// ---------------------------------------------------------------------------------------------

/** The engine answers 101 and the connection becomes a raw stream both ways (engine-notes.md, "Hijacked connections"). */
const HIJACK = new Set([
  'ContainerAttach', // POST /containers/{id}/attach: hijacked, 101 if the client sent Upgrade: tcp, else 200
  'ContainerAttachWebsocket', // GET /containers/{id}/attach/ws, Upgrade: websocket
  'ExecStart', // POST /exec/{id}/start, like attach; only Detach=true answers without hijacking
  'Session', // POST /session, Upgrade: h2c
  'BuildKitGrpc', // POST /grpc, Upgrade: h2c
])

/**
 * Long-lived or unbounded responses, or request bodies that are archives (engine-notes.md,
 * "Streams"): never buffered, never given a short-request timeout.
 */
const STREAM = new Set([
  'SystemEvents', // GET /events: runs until the client hangs up
  'ContainerLogs', // follow=1 runs until the container stops
  'ContainerStats', // stream=true (the default) sends one record a second, forever
  'ContainerWait', // blocks until the container exits, hours if need be
  'ContainerExport', // tar of the whole filesystem
  'ContainerArchive', // GET: tar out of a container
  'PutContainerArchive', // PUT: tar into a container
  'ImageCreate', // pull progress; fromSrc=- uploads an image tarball
  'ImageBuild', // build context upload, then build progress
  'ImageLoad', // image tarball upload, then progress
  'ImageGet', // image tarball download
  'ImageGetAll', // image tarball download
  'ImagePush', // push progress
  'PluginPull', // pull progress
  'PluginUpgrade', // pull progress
  'PluginPush', // push progress
  'PluginCreate', // plugin rootfs tarball upload (consumes application/x-tar)
  'ServiceLogs', // follow=1 runs until the service goes
  'TaskLogs', // follow=1 runs until the task ends
])

/**
 * Operations whose spec names an archive or stream media type but that are ordinary short calls.
 * Listed so that the check below can insist every streaming-looking operation was decided.
 */
const NOT_STREAMING = new Set([
  'ContainerCreate', // spec lists application/octet-stream in consumes; the body is small JSON
  'ContainerResize', // spec lists application/octet-stream in consumes; there is no body
])

/** Media types that suggest a long or binary stream; see checkStreamDecisions. */
const STREAMING_MEDIA = [
  'application/x-tar',
  'application/octet-stream',
  'application/vnd.docker.raw-stream',
  'application/vnd.docker.multiplexed-stream',
  'application/jsonl',
  'application/x-ndjson',
  'application/json-seq',
]

// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  let specDir = resolve(repoRoot, 'spec/docker-engine-api')
  let out = join(repoRoot, 'src/endpoints-table.ts')
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--out') {
      const next = argv[++i]
      if (next === undefined) fail('--out needs a file name')
      out = resolve(next)
    } else if (arg.startsWith('-')) {
      fail(`unknown option ${arg}`)
    } else {
      specDir = resolve(arg)
    }
  }
  return { specDir, out }
}

function fail(message) {
  process.stderr.write(`gen-endpoints: ${message}\n`)
  process.exit(2)
}

/** One spec's operations: [{ id, method, template, produces, consumes }]. */
function readSpec(file) {
  const doc = parse(readFileSync(file, 'utf8'))
  const version = String(doc?.info?.version ?? '')
  if (!/^\d+\.\d+$/.test(version)) fail(`${file}: info.version ${JSON.stringify(version)} is not MAJOR.MINOR`)
  const ops = []
  for (const [template, item] of Object.entries(doc.paths ?? {})) {
    for (const [key, op] of Object.entries(item)) {
      if (key === 'parameters' || key.startsWith('x-')) continue
      const method = key.toUpperCase()
      if (!METHODS.includes(method)) fail(`${file}: ${key} ${template}: method dockgate cannot represent`)
      if (typeof op?.operationId !== 'string') fail(`${file}: ${method} ${template} has no operationId`)
      ops.push({ id: op.operationId, method, template, produces: op.produces ?? [], consumes: op.consumes ?? [] })
    }
  }
  return { version, ops }
}

/**
 * Union of the specs, keyed by method + template. An operationId that appears under two different
 * templates (a path renamed between versions) keeps both rows; the rows say so in a comment.
 */
function unionSpecs(specs) {
  const rows = new Map()
  for (const spec of specs) {
    for (const op of spec.ops) {
      const key = `${op.method} ${op.template}`
      const row = rows.get(key)
      if (row === undefined) {
        rows.set(key, { id: op.id, method: op.method, template: op.template, versions: [spec.version], media: [...op.produces, ...op.consumes], notes: [] })
      } else if (row.id !== op.id) {
        // One route cannot be two operations: a person has to decide which name policies use.
        fail(`${key} is ${row.id} in v${row.versions.join(', v')} but ${op.id} in v${spec.version}`)
      } else {
        row.versions.push(spec.version)
        row.media.push(...op.produces, ...op.consumes)
      }
    }
  }
  const all = specs.map((s) => s.version)
  for (const row of rows.values()) {
    if (row.versions.length < all.length) row.notes.push(`only in the v${row.versions.join(', v')} spec`)
  }
  const byId = new Map()
  for (const row of rows.values()) byId.set(row.id, [...(byId.get(row.id) ?? []), row])
  for (const [id, same] of byId) {
    if (same.length < 2) continue
    const where = same.map((r) => `${r.method} ${r.template} (v${r.versions.join(', v')})`).join('; ')
    for (const row of same) row.notes.push(`specs disagree on ${id}: ${where}`)
  }
  return rows
}

function addHandRoutes(rows) {
  const documented = []
  for (const hand of HAND_ROUTES) {
    const key = `${hand.method} ${hand.template}`
    const row = rows.get(key)
    if (row !== undefined) {
      documented.push(`${key} (${row.id})`)
      continue
    }
    rows.set(key, { id: hand.id, method: hand.method, template: hand.template, versions: [], media: [], notes: [`not in the specs: ${hand.why}`] })
  }
  return documented
}

function streamKind(id) {
  if (HIJACK.has(id)) return 'hijack'
  if (STREAM.has(id)) return 'stream'
  return 'none'
}

/** Every operation whose spec media types look like a stream must have been decided by hand. */
function checkStreamDecisions(rows) {
  const ids = new Set([...rows.values()].map((r) => r.id))
  for (const set of [HIJACK, STREAM, NOT_STREAMING]) {
    for (const id of set) if (!ids.has(id)) fail(`stream list names ${id}, which is not in the table`)
  }
  const undecided = [...rows.values()]
    .filter((r) => r.media.some((m) => STREAMING_MEDIA.includes(m)))
    .filter((r) => !HIJACK.has(r.id) && !STREAM.has(r.id) && !NOT_STREAMING.has(r.id))
    .map((r) => `${r.id} (${r.method} ${r.template})`)
  if (undecided.length > 0) fail(`decide the stream kind of: ${undecided.join(', ')}`)
}

function compareRows(a, b) {
  if (a.template !== b.template) return a.template < b.template ? -1 : 1
  if (a.method !== b.method) return METHODS.indexOf(a.method) - METHODS.indexOf(b.method)
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

function render(rows, specs, documented) {
  const q = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  const lines = [
    '// GENERATED by scripts/gen-endpoints.mjs: do not edit. Regenerate with `npm run gen:endpoints`.',
    `// Sources: docker-engine-api ${specs.map((s) => `v${s.version}`).join(' and ')} (operationIds, methods, templates),`,
    '// the hand-written routes and stream kinds in the generator, which cite their sources.',
    `// Hand-written routes the specs already document: ${documented.length > 0 ? documented.join(', ') : 'none'}.`,
    '',
    "import type { Route } from './types.js'",
    '',
    '/** Every Engine API operation dockgate knows, sorted by template then method. */',
    'export const ENDPOINT_TABLE: readonly Route[] = [',
  ]
  for (const row of [...rows.values()].sort(compareRows)) {
    const entry = `  { id: ${q(row.id)}, method: ${q(row.method)}, template: ${q(row.template)}, stream: ${q(streamKind(row.id))} },`
    lines.push(row.notes.length > 0 ? `${entry} // ${row.notes.join('; ')}` : entry)
  }
  lines.push(']', '')
  return lines.join('\n')
}

const { specDir, out } = parseArgs(process.argv.slice(2))
const specs = SPEC_FILES.map((f) => readSpec(join(specDir, f)))
const rows = unionSpecs(specs)
const documented = addHandRoutes(rows)
checkStreamDecisions(rows)
writeFileSync(out, render(rows, specs, documented))
process.stdout.write(`gen-endpoints: ${rows.size} operations -> ${relative(process.cwd(), out) || out}\n`)
