import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { allOperations, matchEndpoint, operationIds } from '../../src/endpoints.js'
import type { HttpMethod, StreamKind } from '../../src/types.js'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const specDir = join(repoRoot, 'spec/docker-engine-api')
const SPECS = ['v1.41.yaml', 'v1.56.yaml']
const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']

interface SpecOp {
  readonly spec: string
  readonly id: string
  readonly method: HttpMethod
  readonly template: string
}

function readSpecOps(): SpecOp[] {
  const ops: SpecOp[] = []
  for (const spec of SPECS) {
    const doc = parse(readFileSync(join(specDir, spec), 'utf8')) as { paths: Record<string, Record<string, { operationId?: string }>> }
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [key, op] of Object.entries(item)) {
        if (key === 'parameters') continue
        ops.push({ spec, id: op.operationId ?? '(none)', method: key.toUpperCase() as HttpMethod, template })
      }
    }
  }
  return ops
}

const DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const EXEC_ID = 'a'.repeat(64)

/** Sample values for a template's parameter: references with `/`, `:` and `@` where the engine allows them. */
function samples(template: string, param: string): readonly string[] {
  const resource = template.split('/')[1]
  if (resource === 'images' || resource === 'distribution') {
    return ['alpine', 'alpine:3.19', 'ghcr.io/org/app:1.2', `localhost:5000/team/app@${DIGEST}`, `library/json@${DIGEST}`, 'json']
  }
  if (resource === 'plugins') return ['vieux/sshfs:latest', 'localhost:5000/org/plugin:1.0', 'sshfs']
  if (resource === 'exec') return [EXEC_ID]
  if (resource === 'containers') return param === 'checkpoint' ? ['cp1'] : ['abc123', 'web_1.2', 'json']
  if (resource === 'volumes') return ['data', 'json']
  if (resource === 'networks') return ['bridge', 'my-net']
  return ['abc123']
}

/** Every way to fill a template's parameters with samples (cross product). */
function fill(template: string): Array<{ path: string; params: Record<string, string> }> {
  let acc: Array<{ path: string; params: Record<string, string> }> = [{ path: '', params: {} }]
  for (const seg of template.slice(1).split('/')) {
    const m = /^\{(\w+)\}$/.exec(seg)
    const name = m?.[1]
    acc = name === undefined
      ? acc.map((a) => ({ path: `${a.path}/${seg}`, params: a.params }))
      : acc.flatMap((a) => samples(template, name).map((v) => ({ path: `${a.path}/${v}`, params: { ...a.params, [name]: v } })))
  }
  return acc
}

// ---------------------------------------------------------------------------------------------
// (a) Every operation of both specs is found under its own operationId.
// ---------------------------------------------------------------------------------------------
describe('every spec operation maps to its operationId', () => {
  const cases = readSpecOps().flatMap((op) =>
    fill(op.template).map((f) => ({ name: `${op.spec} ${op.id}: ${op.method} ${f.path}`, op, ...f })),
  )

  test('both specs were read', () => {
    expect(cases.length).toBeGreaterThan(400)
  })

  test.each(cases)('$name', ({ op, path, params }) => {
    const hit = matchEndpoint(op.method, path)
    expect(hit?.operation.id).toBe(op.id)
    expect(hit?.operation.method).toBe(op.method)
    expect(hit?.operation.template).toBe(op.template)
    expect(hit?.params).toEqual(params)
  })
})

describe('the table', () => {
  test('has one row per method and template, and ids match operationIds()', () => {
    const ops = allOperations()
    expect(new Set(ops.map((o) => `${o.method} ${o.template}`)).size).toBe(ops.length)
    expect(operationIds()).toEqual(new Set(ops.map((o) => o.id)))
  })

  test('holds the hand-written routes, with the specs\' ids where the specs have them', () => {
    const has = (id: string, method: HttpMethod, template: string) =>
      allOperations().some((o) => o.id === id && o.method === method && o.template === template)
    expect(has('SystemPingHead', 'HEAD', '/_ping')).toBe(true)
    expect(has('Session', 'POST', '/session')).toBe(true)
    expect(has('BuildKitGrpc', 'POST', '/grpc')).toBe(true)
    expect(has('BuildCancel', 'POST', '/build/cancel')).toBe(true)
    expect(has('CheckpointDelete', 'DELETE', '/containers/{id}/checkpoints/{checkpoint}')).toBe(true)
  })

  test('is frozen', () => {
    expect(Object.isFrozen(allOperations())).toBe(true)
    expect(Object.isFrozen(allOperations()[0])).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// (b) Near misses: literal routes against `{name:.*}`, trailing slashes, wrong methods.
// ---------------------------------------------------------------------------------------------
type Expect = readonly [id: string, params?: Record<string, string>] | undefined

const NEAR_MISSES: ReadonlyArray<{ name: string; method: HttpMethod; path: string; expect: Expect }> = [
  // images: the literal routes are registered first (router/image/image.go)
  { name: 'image list', method: 'GET', path: '/images/json', expect: ['ImageList', {}] },
  { name: 'image named "json"', method: 'GET', path: '/images/json/json', expect: ['ImageInspect', { name: 'json' }] },
  { name: 'image search', method: 'GET', path: '/images/search', expect: ['ImageSearch', {}] },
  { name: 'image named "search"', method: 'GET', path: '/images/search/json', expect: ['ImageInspect', { name: 'search' }] },
  { name: 'export all images', method: 'GET', path: '/images/get', expect: ['ImageGetAll', {}] },
  { name: 'image named "get", export', method: 'GET', path: '/images/get/get', expect: ['ImageGet', { name: 'get' }] },
  { name: 'name ending in /json, export', method: 'GET', path: '/images/x/json/get', expect: ['ImageGet', { name: 'x/json' }] },
  { name: 'name ending in /get, inspect', method: 'GET', path: '/images/x/get/json', expect: ['ImageInspect', { name: 'x/get' }] },
  { name: 'name with json in it', method: 'GET', path: '/images/json:latest/json', expect: ['ImageInspect', { name: 'json:latest' }] },
  { name: 'repository path with json', method: 'GET', path: '/images/org/json/json', expect: ['ImageInspect', { name: 'org/json' }] },
  { name: 'digest reference', method: 'GET', path: `/images/ghcr.io/org/app@${DIGEST}/json`, expect: ['ImageInspect', { name: `ghcr.io/org/app@${DIGEST}` }] },
  { name: 'image list with extra segment', method: 'GET', path: '/images/json/x', expect: undefined },
  { name: 'image without action', method: 'GET', path: '/images/alpine', expect: undefined },
  { name: 'image list, trailing slash', method: 'GET', path: '/images/json/', expect: undefined },
  { name: 'image inspect, trailing slash', method: 'GET', path: '/images/alpine/json/', expect: undefined },
  { name: 'image inspect, empty name', method: 'GET', path: '/images//json', expect: undefined },
  { name: 'image name with a newline (Go `.` stops at \\n)', method: 'GET', path: '/images/a\nb/json', expect: undefined },
  { name: 'image delete named "json"', method: 'DELETE', path: '/images/json', expect: ['ImageDelete', { name: 'json' }] },
  { name: 'image delete with registry and tag', method: 'DELETE', path: '/images/ghcr.io/org/app:1.2', expect: ['ImageDelete', { name: 'ghcr.io/org/app:1.2' }] },
  { name: 'image create', method: 'POST', path: '/images/create', expect: ['ImageCreate', {}] },
  { name: 'image named "create", push', method: 'POST', path: '/images/create/push', expect: ['ImagePush', { name: 'create' }] },
  { name: 'image inspect by POST', method: 'POST', path: '/images/alpine/json', expect: undefined },
  // containers
  { name: 'container list', method: 'GET', path: '/containers/json', expect: ['ContainerList', {}] },
  { name: 'container named "json"', method: 'GET', path: '/containers/json/json', expect: ['ContainerInspect', { id: 'json' }] },
  { name: 'container name with json in it', method: 'GET', path: '/containers/jsonx/json', expect: ['ContainerInspect', { id: 'jsonx' }] },
  { name: 'container list, trailing slash', method: 'GET', path: '/containers/json/', expect: undefined },
  { name: 'container inspect, trailing slash', method: 'GET', path: '/containers/abc/json/', expect: undefined },
  { name: 'container inspect, extra segment', method: 'GET', path: '/containers/abc/json/extra', expect: undefined },
  { name: 'container without action (GET)', method: 'GET', path: '/containers/abc', expect: undefined },
  { name: 'containers root', method: 'GET', path: '/containers', expect: undefined },
  { name: 'container list by POST', method: 'POST', path: '/containers/json', expect: undefined },
  { name: 'attach by GET', method: 'GET', path: '/containers/abc/attach', expect: undefined },
  { name: 'attach websocket by POST', method: 'POST', path: '/containers/abc/attach/ws', expect: undefined },
  { name: 'inspect by PUT', method: 'PUT', path: '/containers/abc/json', expect: undefined },
  { name: 'container delete', method: 'DELETE', path: '/containers/abc', expect: ['ContainerDelete', { id: 'abc' }] },
  // `docker rm --link /web/db` sends DELETE /containers/web/db?link=1; the engine's {name:.*}
  { name: 'legacy link name (docker rm --link)', method: 'DELETE', path: '/containers/web/db', expect: ['ContainerDelete', { id: 'web/db' }] },
  { name: 'checkpoint delete masks container delete', method: 'DELETE', path: '/containers/abc/checkpoints/cp1', expect: ['CheckpointDelete', { id: 'abc', checkpoint: 'cp1' }] },
  { name: 'checkpoint delete takes one segment each', method: 'DELETE', path: '/containers/abc/checkpoints/cp1/x', expect: ['ContainerDelete', { id: 'abc/checkpoints/cp1/x' }] },
  { name: 'checkpoint list', method: 'GET', path: '/containers/abc/checkpoints', expect: ['CheckpointList', { id: 'abc' }] },
  { name: 'exec start', method: 'POST', path: `/exec/${EXEC_ID}/start`, expect: ['ExecStart', { id: EXEC_ID }] },
  { name: 'exec start below a container is a container start', method: 'POST', path: '/containers/abc/exec/start', expect: ['ContainerStart', { id: 'abc/exec' }] },
  // HEAD is served only where a HEAD route is registered
  { name: 'HEAD ping', method: 'HEAD', path: '/_ping', expect: ['SystemPingHead', {}] },
  { name: 'HEAD archive', method: 'HEAD', path: '/containers/abc/archive', expect: ['ContainerArchiveInfo', { id: 'abc' }] },
  { name: 'HEAD on a GET route', method: 'HEAD', path: '/containers/json', expect: undefined },
  { name: 'HEAD on image inspect', method: 'HEAD', path: '/images/alpine/json', expect: undefined },
  { name: 'HEAD version', method: 'HEAD', path: '/version', expect: undefined },
  // plugins
  { name: 'plugin privileges', method: 'GET', path: '/plugins/privileges', expect: ['GetPluginPrivileges', {}] },
  { name: 'plugin named "privileges"', method: 'GET', path: '/plugins/privileges/json', expect: ['PluginInspect', { name: 'privileges' }] },
  { name: 'plugin pull', method: 'POST', path: '/plugins/pull', expect: ['PluginPull', {}] },
  { name: 'plugin named "pull", enable', method: 'POST', path: '/plugins/pull/enable', expect: ['PluginEnable', { name: 'pull' }] },
  { name: 'plugin delete with slash and tag', method: 'DELETE', path: '/plugins/vieux/sshfs:latest', expect: ['PluginDelete', { name: 'vieux/sshfs:latest' }] },
  // networks and volumes take `/` too; swarm objects do not
  { name: 'network name with slash', method: 'GET', path: '/networks/a/b', expect: ['NetworkInspect', { id: 'a/b' }] },
  { name: 'network list, trailing slash', method: 'GET', path: '/networks/', expect: undefined },
  { name: 'volume name with slash', method: 'DELETE', path: '/volumes/pool/vol', expect: ['VolumeDelete', { name: 'pool/vol' }] },
  { name: 'service id with slash', method: 'GET', path: '/services/a/b', expect: undefined },
  { name: 'service logs', method: 'GET', path: '/services/abc/logs', expect: ['ServiceLogs', { id: 'abc' }] },
  { name: 'secret named "create" (DELETE)', method: 'DELETE', path: '/secrets/create', expect: ['SecretDelete', { id: 'create' }] },
  // hijacked and undocumented routes
  { name: 'BuildKit gRPC', method: 'POST', path: '/grpc', expect: ['BuildKitGrpc', {}] },
  { name: 'session', method: 'POST', path: '/session', expect: ['Session', {}] },
  { name: 'session by GET', method: 'GET', path: '/session', expect: undefined },
  { name: 'build cancel', method: 'POST', path: '/build/cancel', expect: ['BuildCancel', {}] },
  // not paths the router accepts
  { name: 'removed copy route', method: 'POST', path: '/containers/abc/copy', expect: undefined },
  { name: 'profiler', method: 'GET', path: '/debug/pprof/heap', expect: undefined },
  { name: 'version prefix not stripped', method: 'GET', path: '/v1.41/containers/json', expect: undefined },
  { name: 'case differs', method: 'GET', path: '/Containers/json', expect: undefined },
  { name: 'ping, trailing slash', method: 'GET', path: '/_ping/', expect: undefined },
  { name: 'root', method: 'GET', path: '/', expect: undefined },
  { name: 'empty path', method: 'GET', path: '', expect: undefined },
  { name: 'relative path', method: 'GET', path: 'containers/json', expect: undefined },
  { name: 'unknown resource', method: 'GET', path: '/secrets2', expect: undefined },
]

describe('near misses', () => {
  test.each(NEAR_MISSES)('$method $path: $name', ({ method, path, expect: want }) => {
    const hit = matchEndpoint(method, path)
    if (want === undefined) {
      expect(hit).toBeUndefined()
    } else {
      expect(hit?.operation.id).toBe(want[0])
      expect(hit?.params).toEqual(want[1])
    }
  })
})

// ---------------------------------------------------------------------------------------------
// The engine's own router as an oracle: its routes in registration order, read the way gorilla/mux
// reads them ({x} is [^/]+, {x:re} is re, first match wins). Sources: moby cmd/dockerd/daemon.go
// initRouter (router order: checkpoint before container "or the DELETE gets masked") and the
// route lists in daemon/server/router/*/ (api/server/router/* in 20.10-23). null marks a route
// the engine has that dockgate deliberately does not know: it must stay unmatched.
// ---------------------------------------------------------------------------------------------
const ENGINE_ROUTES: ReadonlyArray<readonly [HttpMethod, string, string | null]> = [
  // checkpoint/checkpoint.go
  ['GET', '/containers/{name:.*}/checkpoints', 'CheckpointList'],
  ['POST', '/containers/{name:.*}/checkpoints', 'CheckpointCreate'],
  ['DELETE', '/containers/{name}/checkpoints/{checkpoint}', 'CheckpointDelete'],
  // container/container.go
  ['HEAD', '/containers/{name:.*}/archive', 'ContainerArchiveInfo'],
  ['GET', '/containers/json', 'ContainerList'],
  ['GET', '/containers/{name:.*}/export', 'ContainerExport'],
  ['GET', '/containers/{name:.*}/changes', 'ContainerChanges'],
  ['GET', '/containers/{name:.*}/json', 'ContainerInspect'],
  ['GET', '/containers/{name:.*}/top', 'ContainerTop'],
  ['GET', '/containers/{name:.*}/logs', 'ContainerLogs'],
  ['GET', '/containers/{name:.*}/stats', 'ContainerStats'],
  ['GET', '/containers/{name:.*}/attach/ws', 'ContainerAttachWebsocket'],
  ['GET', '/exec/{id:.*}/json', 'ExecInspect'],
  ['GET', '/containers/{name:.*}/archive', 'ContainerArchive'],
  ['POST', '/containers/create', 'ContainerCreate'],
  ['POST', '/containers/{name:.*}/kill', 'ContainerKill'],
  ['POST', '/containers/{name:.*}/pause', 'ContainerPause'],
  ['POST', '/containers/{name:.*}/unpause', 'ContainerUnpause'],
  ['POST', '/containers/{name:.*}/restart', 'ContainerRestart'],
  ['POST', '/containers/{name:.*}/start', 'ContainerStart'],
  ['POST', '/containers/{name:.*}/stop', 'ContainerStop'],
  ['POST', '/containers/{name:.*}/wait', 'ContainerWait'],
  ['POST', '/containers/{name:.*}/resize', 'ContainerResize'],
  ['POST', '/containers/{name:.*}/attach', 'ContainerAttach'],
  ['POST', '/containers/{name:.*}/copy', null], // API < 1.24 only, gone in recent engines
  ['POST', '/containers/{name:.*}/exec', 'ContainerExec'],
  ['POST', '/exec/{name:.*}/start', 'ExecStart'],
  ['POST', '/exec/{name:.*}/resize', 'ExecResize'],
  ['POST', '/containers/{name:.*}/rename', 'ContainerRename'],
  ['POST', '/containers/{name:.*}/update', 'ContainerUpdate'],
  ['POST', '/containers/prune', 'ContainerPrune'],
  ['POST', '/commit', 'ImageCommit'],
  ['PUT', '/containers/{name:.*}/archive', 'PutContainerArchive'],
  ['DELETE', '/containers/{name:.*}', 'ContainerDelete'],
  // image/image.go
  ['GET', '/images/json', 'ImageList'],
  ['GET', '/images/search', 'ImageSearch'],
  ['GET', '/images/get', 'ImageGetAll'],
  ['GET', '/images/{name:.*}/get', 'ImageGet'],
  ['GET', '/images/{name:.*}/history', 'ImageHistory'],
  ['GET', '/images/{name:.*}/json', 'ImageInspect'],
  ['GET', '/images/{name:.*}/attestations', 'ImageAttestations'],
  ['POST', '/images/load', 'ImageLoad'],
  ['POST', '/images/create', 'ImageCreate'],
  ['POST', '/images/{name:.*}/push', 'ImagePush'],
  ['POST', '/images/{name:.*}/tag', 'ImageTag'],
  ['POST', '/images/prune', 'ImagePrune'],
  ['DELETE', '/images/{name:.*}', 'ImageDelete'],
  // system/system.go
  ['GET', '/_ping', 'SystemPing'],
  ['HEAD', '/_ping', 'SystemPingHead'],
  ['GET', '/events', 'SystemEvents'],
  ['GET', '/info', 'SystemInfo'],
  ['GET', '/version', 'SystemVersion'],
  ['GET', '/system/df', 'SystemDataUsage'],
  ['POST', '/auth', 'SystemAuth'],
  // volume/volume.go
  ['GET', '/volumes', 'VolumeList'],
  ['GET', '/volumes/{name:.*}', 'VolumeInspect'],
  ['POST', '/volumes/create', 'VolumeCreate'],
  ['POST', '/volumes/prune', 'VolumePrune'],
  ['PUT', '/volumes/{name:.*}', 'VolumeUpdate'],
  ['DELETE', '/volumes/{name:.*}', 'VolumeDelete'],
  // build/build.go, session/session.go
  ['POST', '/build', 'ImageBuild'],
  ['POST', '/build/prune', 'BuildPrune'],
  ['POST', '/build/cancel', 'BuildCancel'],
  ['POST', '/session', 'Session'],
  // swarm/cluster.go
  ['POST', '/swarm/init', 'SwarmInit'],
  ['POST', '/swarm/join', 'SwarmJoin'],
  ['POST', '/swarm/leave', 'SwarmLeave'],
  ['GET', '/swarm', 'SwarmInspect'],
  ['GET', '/swarm/unlockkey', 'SwarmUnlockkey'],
  ['POST', '/swarm/update', 'SwarmUpdate'],
  ['POST', '/swarm/unlock', 'SwarmUnlock'],
  ['GET', '/services', 'ServiceList'],
  ['GET', '/services/{id}', 'ServiceInspect'],
  ['POST', '/services/create', 'ServiceCreate'],
  ['POST', '/services/{id}/update', 'ServiceUpdate'],
  ['DELETE', '/services/{id}', 'ServiceDelete'],
  ['GET', '/services/{id}/logs', 'ServiceLogs'],
  ['GET', '/nodes', 'NodeList'],
  ['GET', '/nodes/{id}', 'NodeInspect'],
  ['DELETE', '/nodes/{id}', 'NodeDelete'],
  ['POST', '/nodes/{id}/update', 'NodeUpdate'],
  ['GET', '/tasks', 'TaskList'],
  ['GET', '/tasks/{id}', 'TaskInspect'],
  ['GET', '/tasks/{id}/logs', 'TaskLogs'],
  ['GET', '/secrets', 'SecretList'],
  ['POST', '/secrets/create', 'SecretCreate'],
  ['DELETE', '/secrets/{id}', 'SecretDelete'],
  ['GET', '/secrets/{id}', 'SecretInspect'],
  ['POST', '/secrets/{id}/update', 'SecretUpdate'],
  ['GET', '/configs', 'ConfigList'],
  ['POST', '/configs/create', 'ConfigCreate'],
  ['DELETE', '/configs/{id}', 'ConfigDelete'],
  ['GET', '/configs/{id}', 'ConfigInspect'],
  ['POST', '/configs/{id}/update', 'ConfigUpdate'],
  // plugin/plugin.go
  ['GET', '/plugins', 'PluginList'],
  ['GET', '/plugins/{name:.*}/json', 'PluginInspect'],
  ['GET', '/plugins/privileges', 'GetPluginPrivileges'],
  ['DELETE', '/plugins/{name:.*}', 'PluginDelete'],
  ['POST', '/plugins/{name:.*}/enable', 'PluginEnable'],
  ['POST', '/plugins/{name:.*}/disable', 'PluginDisable'],
  ['POST', '/plugins/pull', 'PluginPull'],
  ['POST', '/plugins/{name:.*}/push', 'PluginPush'],
  ['POST', '/plugins/{name:.*}/upgrade', 'PluginUpgrade'],
  ['POST', '/plugins/{name:.*}/set', 'PluginSet'],
  ['POST', '/plugins/create', 'PluginCreate'],
  // distribution/distribution.go, grpc/grpc.go
  ['GET', '/distribution/{name:.*}/json', 'DistributionInspect'],
  ['POST', '/grpc', 'BuildKitGrpc'],
  // network/network.go ("/networks/" is NetworkList too; dockgate refuses empty segments)
  ['GET', '/networks', 'NetworkList'],
  ['GET', '/networks/', null],
  ['GET', '/networks/{id:.+}', 'NetworkInspect'],
  ['POST', '/networks/create', 'NetworkCreate'],
  ['POST', '/networks/{id:.*}/connect', 'NetworkConnect'],
  ['POST', '/networks/{id:.*}/disconnect', 'NetworkDisconnect'],
  ['POST', '/networks/prune', 'NetworkPrune'],
  ['DELETE', '/networks/{id:.*}', 'NetworkDelete'],
]

/** A gorilla/mux path template as a JS regex. Go's `.` matches anything but "\n". */
function gorillaRegex(template: string): RegExp {
  let src = ''
  for (const part of template.split(/(\{[^}]+\})/)) {
    const m = /^\{(\w+)(?::(.*))?\}$/.exec(part)
    if (m === null) src += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    else src += `(${m[2] === undefined ? '[^/]+' : m[2].replace(/\./g, '[^\\n]')})`
  }
  return new RegExp(`^${src}$`)
}

const ORACLE = ENGINE_ROUTES.map(([method, template, id]) => ({ method, id, re: gorillaRegex(template) }))

function engineRoute(method: HttpMethod, path: string): { id: string | null; values: string[] } | undefined {
  for (const r of ORACLE) {
    if (r.method !== method) continue
    const m = r.re.exec(path)
    if (m !== null) return { id: r.id, values: m.slice(1) }
  }
  return undefined
}

/**
 * Paths below each resource, up to four segments: every literal the engine uses below that
 * resource, a few that matter elsewhere, and plain names.
 */
function oraclePaths(): string[] {
  const common = ['x', 'a:1', `b@${DIGEST}`, 'json', 'get', 'create', 'checkpoints']
  const tokens = new Map<string, Set<string>>()
  for (const [, template] of ENGINE_ROUTES) {
    const [top, ...rest] = template.slice(1).split('/')
    const set = tokens.get(top!) ?? new Set(common)
    for (const s of rest) if (s !== '' && !s.startsWith('{')) set.add(s)
    tokens.set(top!, set)
  }
  const paths: string[] = []
  const grow = (prefix: string, words: ReadonlySet<string>, depth: number): void => {
    paths.push(prefix)
    if (depth > 0) for (const w of words) grow(`${prefix}/${w}`, words, depth - 1)
  }
  for (const [top, words] of tokens) grow(`/${top}`, words, 3)
  return paths
}

describe('agrees with the engine router', () => {
  test('every engine route names an operation in the table (or is marked unknown)', () => {
    const ids = operationIds()
    const missing = ENGINE_ROUTES.filter(([, , id]) => id !== null && !ids.has(id)).map(([m, t, id]) => `${m} ${t} ${id}`)
    expect(missing).toEqual([])
  })

  test('every table operation is an engine route', () => {
    const engine = new Set(ENGINE_ROUTES.map(([, , id]) => id))
    expect(allOperations().filter((o) => !engine.has(o.id)).map((o) => o.id)).toEqual([])
  })

  test('same operation and values for every generated path and method', () => {
    const paths = oraclePaths()
    expect(paths.length).toBeGreaterThan(10_000)
    const diffs: string[] = []
    for (const method of METHODS) {
      for (const path of paths) {
        const want = engineRoute(method, path)
        const got = matchEndpoint(method, path)
        const wantText = want === undefined || want.id === null ? 'none' : `${want.id} ${JSON.stringify(want.values)}`
        const gotText = got === undefined ? 'none' : `${got.operation.id} ${JSON.stringify(Object.values(got.params))}`
        if (wantText !== gotText) diffs.push(`${method} ${path}: engine ${wantText}, dockgate ${gotText}`)
      }
    }
    expect(diffs.slice(0, 20)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// (c) The committed table is what the generator makes from the specs today.
// ---------------------------------------------------------------------------------------------
describe('generated table', () => {
  test('src/endpoints-table.ts is up to date (npm run gen:endpoints)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dockgate-endpoints-'))
    try {
      const out = join(dir, 'endpoints-table.ts')
      execFileSync(process.execPath, [join(repoRoot, 'scripts/gen-endpoints.mjs'), specDir, '--out', out], { stdio: 'pipe' })
      expect(readFileSync(join(repoRoot, 'src/endpoints-table.ts'), 'utf8')).toBe(readFileSync(out, 'utf8'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------------
// (d) Stream kinds of the operations whose transport matters.
// ---------------------------------------------------------------------------------------------
const STREAM_KINDS: ReadonlyArray<readonly [string, StreamKind]> = [
  ['ContainerAttach', 'hijack'],
  ['ContainerAttachWebsocket', 'hijack'],
  ['ExecStart', 'hijack'],
  ['Session', 'hijack'],
  ['BuildKitGrpc', 'hijack'],
  ['SystemEvents', 'stream'],
  ['ContainerLogs', 'stream'],
  ['ContainerStats', 'stream'],
  ['ContainerWait', 'stream'],
  ['ContainerExport', 'stream'],
  ['ContainerArchive', 'stream'],
  ['PutContainerArchive', 'stream'],
  ['ImageCreate', 'stream'],
  ['ImageBuild', 'stream'],
  ['ImageLoad', 'stream'],
  ['ImageGet', 'stream'],
  ['ImageGetAll', 'stream'],
  ['ImagePush', 'stream'],
  ['PluginPull', 'stream'],
  ['PluginUpgrade', 'stream'],
  ['PluginPush', 'stream'],
  ['PluginCreate', 'stream'],
  ['ServiceLogs', 'stream'],
  ['TaskLogs', 'stream'],
  ['SystemPing', 'none'],
  ['SystemPingHead', 'none'],
  ['ContainerCreate', 'none'],
  ['ContainerInspect', 'none'],
  ['ContainerArchiveInfo', 'none'],
  ['ContainerResize', 'none'],
  ['ExecInspect', 'none'],
  ['ImageInspect', 'none'],
  ['BuildCancel', 'none'],
]

describe('stream kinds', () => {
  test.each(STREAM_KINDS)('%s is %s', (id, kind) => {
    const ops = allOperations().filter((o) => o.id === id)
    expect(ops.length).toBeGreaterThan(0)
    for (const op of ops) expect(op.stream).toBe(kind)
  })

  test('only the listed operations hijack', () => {
    const hijack = STREAM_KINDS.filter(([, k]) => k === 'hijack').map(([id]) => id)
    expect(allOperations().filter((o) => o.stream === 'hijack').map((o) => o.id).sort()).toEqual(hijack.sort())
  })
})
