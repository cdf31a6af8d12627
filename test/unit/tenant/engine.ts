/**
 * An in-memory EngineClient for the tenant tables: it answers the few calls dockgate makes as
 * dockerd 20.10 does — inspect by full id, name or unique id prefix; lists filtered by label and
 * by name regex; an idempotent volume create — and records each call. The integration tests
 * (test/integration/tenants.test.ts) run the same isolation against the real engine.
 */
import type { ContainerInfo, ContainerSummary, EngineClient, ExecInfo, NetworkSummary, VolumeInfo } from '../../../src/engine-client.js'
import { defaultMaskedPaths } from '../../../src/existing.js'

const ENGINE_2010 = { version: '20.10.24+dfsg1', cgroupVersion: '1' }

/** A container as inspect shows one made by `docker run --network none` (label `tenant`, if any). */
export function container(id: string, name: string, tenant?: string): ContainerInfo {
  return {
    Id: id,
    Name: `/${name}`,
    Config: { Image: 'busybox:test', Cmd: ['sh'], Labels: tenant === undefined ? {} : { 'dockgate.tenant': tenant } },
    HostConfig: { NetworkMode: 'none', MaskedPaths: defaultMaskedPaths(ENGINE_2010.version), ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'], CgroupnsMode: 'host' },
    Mounts: [],
    AppArmorProfile: '',
  }
}

export interface FakeEngine extends EngineClient {
  readonly calls: string[]
  readonly created: VolumeInfo[]
}

function labelsMatch(labels: Record<string, string> | null | undefined, wanted: readonly string[]): boolean {
  return wanted.every((w) => {
    const [k = '', v] = w.split('=', 2)
    return v === undefined ? labels?.[k] !== undefined : labels?.[k] === v
  })
}

export function fakeEngine(objects: { containers: ContainerInfo[]; execs?: ExecInfo[]; networks?: NetworkSummary[]; volumes?: VolumeInfo[] }): FakeEngine {
  const calls: string[] = []
  const created: VolumeInfo[] = []
  const volumes = [...(objects.volumes ?? [])]
  const labelsOf = (c: ContainerInfo): Record<string, string> => (c.Config?.['Labels'] ?? {}) as Record<string, string>
  return {
    calls,
    created,
    inspectContainer: (ref) => {
      calls.push(`inspect container ${ref}`)
      const cs = objects.containers
      const byPrefix = /^[0-9a-f]+$/.test(ref) ? cs.filter((c) => c.Id.startsWith(ref)) : []
      if (byPrefix.length > 1 && !cs.some((c) => c.Id === ref || c.Name === `/${ref.replace(/^\//, '')}`)) return Promise.reject(new Error(`Multiple IDs found with provided prefix: ${ref}`))
      return Promise.resolve(cs.find((c) => c.Id === ref) ?? cs.find((c) => c.Name === `/${ref.replace(/^\//, '')}`) ?? byPrefix[0])
    },
    inspectExec: (id) => {
      calls.push(`inspect exec ${id}`)
      return Promise.resolve(objects.execs?.find((e) => e.ID === id))
    },
    inspectVolume: (name) => {
      calls.push(`inspect volume ${name}`)
      return Promise.resolve(volumes.find((v) => v.Name === name))
    },
    facts: () => Promise.resolve(ENGINE_2010),
    listContainers: (filters) => {
      calls.push(`list containers ${filters}`)
      const f = JSON.parse(filters) as { label?: Record<string, boolean>; name?: Record<string, boolean> }
      const out: ContainerSummary[] = objects.containers
        .filter((c) => labelsMatch(labelsOf(c), Object.keys(f.label ?? {})))
        .filter((c) => Object.keys(f.name ?? {}).every((re) => new RegExp(re).test(c.Name ?? '')))
        .map((c) => ({ Id: c.Id, Names: [c.Name ?? ''], Labels: labelsOf(c) }))
      return Promise.resolve(out)
    },
    listNetworks: () => {
      calls.push('list networks')
      return Promise.resolve(objects.networks ?? [])
    },
    createVolume: (body) => {
      calls.push(`create volume ${body}`)
      const spec = JSON.parse(body) as { Name: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }
      const existing = volumes.find((v) => v.Name === spec.Name)
      if (existing !== undefined) return Promise.resolve(existing)
      const vol: VolumeInfo = { Name: spec.Name, Driver: spec.Driver ?? 'local', Options: spec.DriverOpts ?? null, Labels: spec.Labels ?? null }
      volumes.push(vol)
      created.push(vol)
      return Promise.resolve(vol)
    },
  }
}
