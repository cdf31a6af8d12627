/**
 * What exists for a client with a tenant: the containers, networks and volumes labelled
 * `dockgate.tenant=<its tenant>`, the execs in those containers, and — to use, not to look at —
 * the engine's built-in networks. Anything else, another tenant's or an admin's unlabelled
 * object, does not exist for it: a reference to one is answered exactly as a reference to nothing
 * (the same DG_TARGET_NOT_FOUND, byte for byte), however it is written.
 *
 * References are resolved as the engine resolves them, but among the tenant's objects only —
 * containers by full id, then name (`/name` too), then id prefix (moby daemon/container.go
 * GetContainer); networks by full id, then name, then id prefix (daemon/network.go FindNetwork);
 * volumes and execs by exact name or id — and then named to the engine by full id. So an id
 * prefix that also starts another tenant's id is no oracle: the engine never sees it, nor answers
 * "Multiple IDs found with provided prefix". Every lookup asks the engine at the time of the
 * request: nothing is kept that another client's action could make stale.
 *
 * Names are the one thing tenants share: the engine holds one namespace of container, volume and
 * network names. A name another tenant holds cannot be taken, and saying so (DG_TARGET_NAME_TAKEN)
 * tells that it is held — never by what.
 */
import type { ContainerInfo, ContainerSummary, EngineClient, ExecInfo, NetworkSummary, VolumeInfo } from '../engine-client.js'
import { DockgateError } from '../errors.js'
import { TENANT_LABEL } from './labels.js'

/** The engine's own networks (moby runconfig IsPreDefinedNetwork): no client can create one of these names. */
const BUILT_IN_NETWORKS: ReadonlySet<string> = new Set(['bridge', 'host', 'none'])
/** moby daemon/names.go RestrictedNamePattern: the engine refuses other container names itself. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/

export function notFound(kind: string, ref: string): DockgateError {
  return new DockgateError('DG_TARGET_NOT_FOUND', `No such ${kind}: ${ref}`)
}

function nameTaken(kind: string, name: string): DockgateError {
  return new DockgateError('DG_TARGET_NAME_TAKEN', `the ${kind} name ${JSON.stringify(name)} is taken by an object this client cannot see (another tenant's, or the engine administrator's); choose another name`)
}

/** Full id first, then exact name, then id prefix; more than one by name or prefix is ambiguous. */
function resolve<T>(items: readonly T[], ref: string, id: (t: T) => string, named: (t: T) => boolean): T | 'ambiguous' | undefined {
  const byId = items.find((i) => id(i) === ref)
  if (byId !== undefined) return byId
  const byName = items.filter(named)
  if (byName.length > 0) return byName.length === 1 ? byName[0] : 'ambiguous'
  const byPrefix = ref === '' ? [] : items.filter((i) => id(i).startsWith(ref))
  return byPrefix.length > 1 ? 'ambiguous' : byPrefix[0]
}

export class TenantView {
  readonly filter: string

  constructor(readonly tenant: string, private readonly engine: EngineClient) {
    this.filter = JSON.stringify({ label: { [`${TENANT_LABEL}=${tenant}`]: true } })
  }

  owns(labels: Readonly<Record<string, unknown>> | null | undefined): boolean {
    return labels?.[TENANT_LABEL] === this.tenant
  }

  private found<T>(got: T | 'ambiguous' | undefined, kind: string, ref: string): T {
    if (got === 'ambiguous') throw new DockgateError('DG_TARGET_AMBIGUOUS', `${JSON.stringify(ref)} names more than one ${kind} of this client's; give more of the id`)
    if (got === undefined) throw notFound(kind, ref)
    return got
  }

  /** The full id of the tenant's container that `ref` names. */
  async containerId(ref: string): Promise<string> {
    const mine: ContainerSummary[] = await this.engine.listContainers(this.filter)
    const name = ref.startsWith('/') ? ref : `/${ref}`
    return this.found(resolve(mine, ref, (c) => c.Id, (c) => (c.Names ?? []).includes(name)), 'container', ref).Id
  }

  /** The tenant's container that `ref` names, as inspect shows it. */
  async container(ref: string): Promise<ContainerInfo> {
    const info = await this.engine.inspectContainer(await this.containerId(ref))
    // Gone in between (or relabelled, which the engine cannot do): the same answer as never there.
    if (info === undefined || !this.owns(info.Config?.['Labels'] as Record<string, unknown> | undefined)) throw notFound('container', ref)
    return info
  }

  /** An exec in one of the tenant's containers, with that container. */
  async exec(ref: string): Promise<{ exec: ExecInfo; info: ContainerInfo }> {
    const exec = await this.engine.inspectExec(ref)
    const info = exec === undefined ? undefined : await this.engine.inspectContainer(exec.ContainerID)
    if (exec === undefined || info === undefined || !this.owns(info.Config?.['Labels'] as Record<string, unknown> | undefined)) throw notFound('exec instance', ref)
    return { exec, info }
  }

  /**
   * The network `ref` names among the tenant's, and the built-in ones when the request uses the
   * network rather than looks at it (an inspect of `none` would list every tenant's containers).
   * `unique`: no other network in the engine has its name, so the name names it for the engine too.
   */
  async network(ref: string, use: 'read' | 'use'): Promise<{ network: NetworkSummary; unique: boolean }> {
    const all = await this.engine.listNetworks()
    const mine = all.filter((n) => this.owns(n.Labels) || (use === 'use' && BUILT_IN_NETWORKS.has(n.Name)))
    const network = this.found(resolve(mine, ref, (n) => n.Id, (n) => n.Name === ref), 'network', ref)
    return { network, unique: all.filter((n) => n.Name === network.Name).length === 1 }
  }

  /** The tenant's volume `name`. */
  async volume(name: string): Promise<VolumeInfo> {
    const vol = await this.engine.inspectVolume(name)
    if (vol === undefined || !this.owns(vol.Labels)) throw notFound('volume', name)
    return vol
  }

  /** A volume a container would mount: the tenant's, or none yet (undefined); another's name is taken. */
  async mountable(name: string): Promise<VolumeInfo | undefined> {
    const vol = await this.engine.inspectVolume(name)
    if (vol !== undefined && !this.owns(vol.Labels)) throw nameTaken('volume', name)
    return vol
  }

  /** Creates a named volume with the tenant's label; one of that name that someone else made in between is taken. */
  async createVolume(spec: { readonly Name: string; readonly Driver?: string; readonly DriverOpts?: Readonly<Record<string, string>>; readonly Labels: Readonly<Record<string, string>> }): Promise<void> {
    const vol = await this.engine.createVolume(JSON.stringify(spec))
    if (!this.owns(vol.Labels)) throw nameTaken('volume', spec.Name)
  }

  /** Refuses a container name held by a container the tenant cannot see (the engine's own conflict answer names its id). */
  async containerNameFree(ref: string): Promise<void> {
    const name = ref.replace(/^\//, '')
    if (!CONTAINER_NAME.test(name)) return
    const holders = await this.engine.listContainers(JSON.stringify({ name: { [`^/${name.replaceAll('.', '\\.')}$`]: true } }))
    const holder = holders.find((c) => (c.Names ?? []).includes(`/${name}`))
    if (holder !== undefined && !this.owns(holder.Labels)) throw nameTaken('container', name)
  }

  /** Refuses a volume name held by a volume the tenant cannot see (the engine would answer with that volume). */
  async volumeNameFree(name: string): Promise<void> {
    await this.mountable(name)
  }
}
