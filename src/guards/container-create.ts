/**
 * ContainerCreate (`POST /containers/create`): giving a client this endpoint is giving it root on
 * the host unless the body is guarded (docs/engine-notes.md, "Escalation paths").
 *
 * Legacy top level: on Linux, dockerd decodes the create body into runconfig's
 * ContainerConfigWrapper, which embeds `*container.HostConfig` next to the `HostConfig` field, and
 * `getHostConfig()` uses those top-level fields when `HostConfig` is absent (and copies some of
 * them in otherwise). So `{"Image":"x","Privileged":true}` can be privileged. Rather than guard two
 * copies, any top-level key that names a HostConfig field is refused.
 */
import { containerCreateReferences } from './references.js'
import { foldKey, isObject, type JsonValue } from '../body/json-value.js'
import {
  checkCapabilities,
  checkGroups,
  checkImage,
  checkLogDriver,
  checkOomScoreAdj,
  checkResources,
  checkSecurityOpts,
  checkSysctls,
  checkSystemPaths,
  mapKey,
  type Check,
} from './checks.js'
import { checkBinds, checkMounts, checkTmpfsMap, checkVolumeDriver } from './mounts.js'
import type { NamespaceRules } from './rules.js'
import { checkSelfRef, isSelf, SELF_DETAIL, SELF_GUARD } from './self.js'
import { CONTAINER_CREATE } from './shapes.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { bodyFields, Fields, Findings } from './values.js'

/** Every HostConfig field name any API version has had (v1.41 + v1.56 specs, plus the Go struct's legacy fields). */
const HOST_CONFIG_FIELDS = [
  'Annotations', 'AutoRemove', 'Binds', 'BlkioDeviceReadBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteBps',
  'BlkioDeviceWriteIOps', 'BlkioWeight', 'BlkioWeightDevice', 'CapAdd', 'CapDrop', 'Capabilities', 'Cgroup',
  'CgroupParent', 'CgroupnsMode', 'ConsoleSize', 'ContainerIDFile', 'CpuCount', 'CpuPercent', 'CpuPeriod',
  'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpuShares', 'CpusetCpus', 'CpusetMems',
  'DeviceCgroupRules', 'DeviceRequests', 'Devices', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd',
  'IOMaximumBandwidth', 'IOMaximumIOps', 'Init', 'IpcMode', 'Isolation', 'KernelMemory', 'KernelMemoryTCP',
  'Links', 'LogConfig', 'MaskedPaths', 'Memory', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'Mounts',
  'NanoCpus', 'NetworkMode', 'OomKillDisable', 'OomScoreAdj', 'PidMode', 'PidsLimit', 'PortBindings', 'Privileged',
  'PublishAllPorts', 'ReadonlyPaths', 'ReadonlyRootfs', 'RestartPolicy', 'Runtime', 'SecurityOpt', 'ShmSize',
  'StorageOpt', 'Sysctls', 'Tmpfs', 'UTSMode', 'Ulimits', 'UsernsMode', 'VolumeDriver', 'VolumesFrom',
]

/** container.Config field names (v1.41 + v1.56). */
const CONFIG_FIELDS = [
  'ArgsEscaped', 'AttachStderr', 'AttachStdin', 'AttachStdout', 'Cmd', 'Domainname', 'Entrypoint', 'Env',
  'ExposedPorts', 'Healthcheck', 'Hostname', 'Image', 'Labels', 'MacAddress', 'NetworkDisabled', 'OnBuild',
  'OpenStdin', 'Shell', 'StdinOnce', 'StopSignal', 'StopTimeout', 'Tty', 'User', 'Volumes', 'WorkingDir',
]

const LEGACY_TOP_LEVEL: ReadonlySet<string> = new Set(
  HOST_CONFIG_FIELDS.map(foldKey).filter((f) => !CONFIG_FIELDS.map(foldKey).includes(f)),
)

/** A namespace-mode field, what is safe without a rule, and which rule loosens it. */
interface NamespaceField {
  readonly field: string
  readonly rule: keyof NamespaceRules
  safe(value: string): boolean
}

const isHostOrContainer = (v: string): boolean => {
  const lower = v.toLowerCase()
  return lower === 'host' || lower.startsWith('container:')
}

/** moby `api/types/container/hostconfig.go` modes; anything not listed as safe needs a rule. */
const NAMESPACE_FIELDS: readonly NamespaceField[] = [
  // `default`, `bridge`, `none` and user-defined network names are fine; `host` and joining another
  // container's network stack (`container:<id>`, e.g. dockgate's own) are not.
  { field: 'NetworkMode', rule: 'network', safe: (v) => !isHostOrContainer(v) },
  { field: 'PidMode', rule: 'pid', safe: (v) => v === '' },
  { field: 'IpcMode', rule: 'ipc', safe: (v) => ['', 'private', 'shareable', 'none'].includes(v) },
  { field: 'UTSMode', rule: 'uts', safe: (v) => v === '' },
  { field: 'UsernsMode', rule: 'userns', safe: (v) => v === '' || v === 'private' },
  { field: 'CgroupnsMode', rule: 'cgroupns', safe: (v) => v === '' || v === 'private' },
  { field: 'Cgroup', rule: 'cgroup', safe: (v) => v === '' },
]

/** `container:<ref>` → ref, else undefined. */
function joinedContainer(mode: string): string | undefined {
  return mode.toLowerCase().startsWith('container:') ? mode.slice('container:'.length) : undefined
}

function checkNamespaces(c: Check, hc: Fields): void {
  for (const ns of NAMESPACE_FIELDS) {
    const value = hc.string(ns.field, 'container.namespaces')
    if (value === undefined || ns.safe(value)) continue
    const joined = joinedContainer(value)
    if (joined !== undefined && isSelf(joined, c.self)) {
      c.findings.add(SELF_GUARD, hc.at(ns.field), value, `joins the namespace of a container that ${SELF_DETAIL}`)
    } else if (!c.rules.container.namespaces[ns.rule].matches(value)) {
      c.findings.add('container.namespaces', hc.at(ns.field), value, `is not in guards.container.namespaces.${ns.rule}`)
    }
  }
}

/** `VolumesFrom`: `name[:ro|rw]`; inherits every mount (host binds included) of that container. */
function checkVolumesFrom(c: Check, hc: Fields): void {
  for (const [i, spec] of hc.strings('VolumesFrom', 'container.volumes_from')) {
    const field = `${hc.at('VolumesFrom')}[${i}]`
    const name = spec.split(':')[0] ?? ''
    if (isSelf(name, c.self)) c.findings.add(SELF_GUARD, field, spec, `inherits the mounts of a container that ${SELF_DETAIL}`)
    else if (!c.rules.container.volumesFrom.matches(name)) c.findings.add('container.volumes_from', field, spec, 'is not in guards.container.volumes_from')
  }
}

/** Legacy `Links` (`name:alias`) hand the linked container's environment over: never to dockgate. */
function checkLinks(c: Check, fields: Fields, guard: string): void {
  for (const [i, link] of fields.strings('Links', guard)) {
    checkSelfRef(c.findings, `${fields.at('Links')}[${i}]`, link.split(':')[0] ?? '', c.self)
  }
}

/** The HostConfig checks of ContainerCreate. */
export function checkHostConfig(c: Check, hc: Fields): void {
  const r = c.rules.container
  if (hc.bool('Privileged', 'container.privileged') === true && !r.privileged) {
    c.findings.add('container.privileged', hc.at('Privileged'), true, 'needs guards.container.privileged')
  }
  checkCapabilities(c, hc, 'CapAdd')
  checkCapabilities(c, hc, 'Capabilities')
  checkNamespaces(c, hc)
  checkBinds(c, hc)
  checkMounts(c, hc)
  checkTmpfsMap(c, hc)
  checkVolumesFrom(c, hc)
  checkVolumeDriver(c, hc.at('VolumeDriver'), hc.string('VolumeDriver', 'volume.driver') ?? '')
  checkLinks(c, hc, 'container.links')
  checkSecurityOpts(c, hc)
  checkSystemPaths(c, hc)
  checkSysctls(c, hc, 'Sysctls')
  checkGroups(c, hc, 'GroupAdd')
  checkOomScoreAdj(c, hc)
  checkResources(c, hc)
  const runtime = hc.string('Runtime', 'container.runtime')
  if (runtime !== undefined && runtime !== '' && !r.runtimes.includes(runtime)) {
    c.findings.add('container.runtime', hc.at('Runtime'), runtime, 'is not in guards.container.runtimes')
  }
  const log = hc.struct('LogConfig', 'container.log_driver')
  if (log !== undefined) checkLogDriver(c, log.at('Type'), log.string('Type', 'container.log_driver') ?? '')
  for (const [key, value] of hc.map('Annotations', 'container.annotations') ?? []) {
    if (!r.annotations.matches(key)) c.findings.add('container.annotations', mapKey(hc.at('Annotations'), key), value, 'is not in guards.container.annotations')
  }
}

/** `NetworkingConfig.EndpointsConfig`: keys are network names (a Go map: case-sensitive). */
function checkEndpoints(c: Check, top: Fields): void {
  const nc = top.struct('NetworkingConfig', 'container.namespaces')
  const endpoints = nc?.struct('EndpointsConfig', 'container.namespaces')
  if (nc === undefined || endpoints === undefined) return
  for (const [network, settings] of endpoints.obj.entries) {
    const field = mapKey(endpoints.path, network)
    if (isHostOrContainer(network) && !c.rules.container.namespaces.network.matches(network)) {
      c.findings.add('container.namespaces', field, network, 'is not in guards.container.namespaces.network')
    }
    if (isObject(settings)) checkLinks(c, new Fields(settings, field, c.findings), 'container.links')
    else if (settings !== null) c.findings.wrongType('container.namespaces', field, settings, 'an object')
  }
}

function checkLegacyTopLevel(c: Check, top: Fields): void {
  for (const [key, value] of top.obj.entries) {
    if (LEGACY_TOP_LEVEL.has(foldKey(key))) {
      c.findings.add('container.legacy_hostconfig', key, value, 'is a HostConfig field at the top level of the body, which the engine applies; send it inside HostConfig')
    }
  }
}

/** Checks a decoded ContainerCreate body; every violation, not just the first. */
export function checkContainerCreate(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const c: Check = { findings, rules: ctx.rules, self: ctx.self }
  const top = bodyFields(body, findings, 'container.body')
  if (top === undefined) return findings.list
  checkLegacyTopLevel(c, top)
  const image = top.string('Image', 'container.image')
  if (image !== undefined) checkImage(c, 'Image', image)
  const hc = top.struct('HostConfig', 'container.body')
  if (hc !== undefined) checkHostConfig(c, hc)
  checkEndpoints(c, top)
  return findings.list
}

export const containerCreateGuard: OperationGuard = {
  shape: CONTAINER_CREATE,
  body: 'json',
  check: checkContainerCreate,
  references: containerCreateReferences,
}
