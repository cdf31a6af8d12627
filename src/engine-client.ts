/**
 * The few questions dockgate itself asks the engine while it admits a request: what a container,
 * an exec or a volume really is, and which engine this is. Every lookup has a deadline: an engine
 * that hangs must not hold a request (and its body) forever.
 *
 * Nothing is cached that a client could make stale: containers, execs, networks and volumes are
 * looked up for each request. Only the engine's version and cgroup version are kept for a minute.
 * One call writes: a tenant's implicit named volume is created, labelled, before the container
 * that names it (tenant/view.ts).
 */
import http from 'node:http'
import { DockgateError } from './errors.js'
import { formatAddress, upstreamError, type Upstream } from './upstream.js'

/** What `GET /containers/{id}/json` tells dockgate (moby api/types/container ContainerJSON). */
export interface ContainerInfo {
  readonly Id: string
  readonly Name?: string
  readonly Config?: Record<string, unknown> | null
  readonly HostConfig?: Record<string, unknown> | null
  readonly Mounts?: ReadonlyArray<ContainerMount> | null
  readonly AppArmorProfile?: string
}

/** One effective mount of a container (binds, volumes, tmpfs; inherited ones included). */
export interface ContainerMount {
  readonly Type?: string
  readonly Name?: string
  readonly Source?: string
  readonly Destination?: string
  readonly RW?: boolean
  readonly Driver?: string
}

/** What `GET /exec/{id}/json` tells dockgate (moby api/types/container ExecInspect). */
export interface ExecInfo {
  readonly ID: string
  readonly ContainerID: string
  readonly ProcessConfig?: { readonly privileged?: boolean; readonly user?: string } | null
}

/** What `GET /volumes/{name}` (and `POST /volumes/create`) tells dockgate. */
export interface VolumeInfo {
  readonly Name: string
  readonly Driver?: string
  readonly Options?: Record<string, string> | null
  readonly Labels?: Record<string, string> | null
}

/** One entry of `GET /containers/json` (moby api/types/container Summary). */
export interface ContainerSummary {
  readonly Id: string
  /** `/name`, and `/parent/alias` for each link to it. */
  readonly Names?: readonly string[] | null
  readonly Labels?: Record<string, string> | null
}

/** One entry of `GET /networks` (moby api/types/network Summary). */
export interface NetworkSummary {
  readonly Id: string
  readonly Name: string
  readonly Labels?: Record<string, string> | null
}

/** The engine itself, for defaults that differ between versions and hosts. */
export interface EngineFacts {
  /** `Version` of GET /version, e.g. `20.10.24+dfsg1`, `26.1.5`. */
  readonly version: string
  /** `CgroupVersion` of GET /info: "1" or "2" ("" when the engine does not say). */
  readonly cgroupVersion: string
}

export interface EngineClient {
  inspectContainer(ref: string): Promise<ContainerInfo | undefined>
  inspectExec(id: string): Promise<ExecInfo | undefined>
  inspectVolume(name: string): Promise<VolumeInfo | undefined>
  facts(): Promise<EngineFacts>
  /** Every container (running or not) that matches `filters` (the engine's filters JSON). */
  listContainers(filters: string): Promise<ContainerSummary[]>
  /** Every network. */
  listNetworks(): Promise<NetworkSummary[]>
  /** Creates a volume, or answers the one of that name that exists (the engine's create is idempotent). */
  createVolume(body: string): Promise<VolumeInfo>
}

/** How long engine facts are kept (ms): an engine can be upgraded under a running dockgate. */
const FACTS_TTL_MS = 60_000

export function createEngineClient(upstream: Upstream, timeoutMs: number): EngineClient {
  const engine = formatAddress(upstream.address)

  /** GET `path` on the engine, parsed; undefined on 404. */
  function get<T>(path: string, what: string): Promise<T | undefined> {
    return call<T>('GET', path, what, undefined)
  }

  /** GET or POST (with a JSON body) on the engine, parsed; undefined on 404. */
  function call<T>(method: 'GET' | 'POST', path: string, what: string, body: string | undefined): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      // A timer, not the socket timeout: pooled sockets keep their timeout into the next request,
      // which may be a stream that must never time out.
      const timer = setTimeout(() => {
        req.destroy()
        reject(new DockgateError('DG_UPSTREAM_TIMEOUT', `the Docker engine at ${engine} did not answer dockgate's lookup of ${what} within ${timeoutMs} ms; nothing was forwarded`))
      }, timeoutMs)
      const headers = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }
      const req = http.request({ ...upstream.target, agent: upstream.agent, method, path, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          clearTimeout(timer)
          if (res.statusCode === 404) return resolve(undefined)
          if (res.statusCode !== 200 && res.statusCode !== 201) return reject(new DockgateError('DG_UPSTREAM_FAILED', `the Docker engine at ${engine} answered ${res.statusCode} to dockgate's lookup of ${what}`))
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T)
          } catch {
            reject(new DockgateError('DG_UPSTREAM_FAILED', `the Docker engine at ${engine} sent an unreadable answer to dockgate's lookup of ${what}`))
          }
        })
        res.on('error', reject)
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(upstreamError(err, upstream.address))
      })
      req.end(body)
    })
  }

  async function found<T>(value: Promise<T | undefined>, what: string): Promise<T> {
    const v = await value
    if (v === undefined) throw new DockgateError('DG_UPSTREAM_FAILED', `the Docker engine at ${engine} answered 404 to dockgate's ${what}`)
    return v
  }

  let facts: { readonly value: Promise<EngineFacts>; readonly at: number } | undefined
  async function readFacts(): Promise<EngineFacts> {
    const [version, info] = await Promise.all([
      get<{ Version?: string }>('/version', 'the engine version'),
      get<{ CgroupVersion?: string }>('/info', 'the engine info'),
    ])
    return { version: version?.Version ?? '', cgroupVersion: info?.CgroupVersion ?? '' }
  }

  return {
    // `/name` names the container `name` (moby daemon/names); in a path the slash would make an
    // empty segment, which the engine answers with a redirect.
    inspectContainer: (ref) => get<ContainerInfo>(`/containers/${encodeURIComponent(ref.replace(/^\//, ''))}/json`, `container ${ref}`),
    inspectExec: (id) => get<ExecInfo>(`/exec/${encodeURIComponent(id)}/json`, `exec ${id}`),
    inspectVolume: (name) => get<VolumeInfo>(`/volumes/${encodeURIComponent(name)}`, `volume ${name}`),
    listContainers: (filters) => found(get<ContainerSummary[]>(`/containers/json?all=1&filters=${encodeURIComponent(filters)}`, 'list of containers'), 'list of containers'),
    listNetworks: () => found(get<NetworkSummary[]>('/networks', 'list of networks'), 'list of networks'),
    createVolume: (body) => found(call<VolumeInfo>('POST', '/volumes/create', 'volume create', body), 'volume create'),
    facts: () => {
      if (facts === undefined || Date.now() - facts.at > FACTS_TTL_MS) {
        const value = readFacts()
        facts = { value, at: Date.now() }
        // A failed read is not kept: the next request asks again.
        value.catch(() => {
          if (facts?.value === value) facts = undefined
        })
      }
      return facts.value
    },
  }
}
