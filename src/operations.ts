/**
 * What dockgate knows about each Engine API operation, in one table: the one place to look up
 * how a request for it is read, checked and forwarded: facts as data, not as code spread over the request path.
 *
 * The route facts (method, path template, stream kind) are generated from the specs into
 * endpoints-table.ts; the facts below are written by hand, per operationId, from the engine's
 * handlers (moby daemon/server/router/*, api/server/router/* before v28). A test
 * (test/unit/operations.test.ts) fails when an operation of the route table has no entry here, and
 * states the invariants: every operation whose body the engine reads, or that reaches into an
 * existing container, has a decided guard and target treatment.
 */
import { putArchiveGuard } from './guards/archive.js'
import { buildKitGrpcGuard } from './guards/buildkit.js'
import { checkpointCreateGuard } from './guards/checkpoint.js'
import { containerCreateGuard } from './guards/container-create.js'
import { containerStartGuard } from './guards/container-start.js'
import { containerUpdateGuard } from './guards/container-update.js'
import { execCreateGuard } from './guards/exec-create.js'
import { imageBuildGuard } from './guards/image-build.js'
import { imageCreateGuard } from './guards/image-create.js'
import { networkConnectGuard, networkCreateGuard } from './guards/network-create.js'
import { pluginGuard } from './guards/plugin.js'
import { serviceGuard } from './guards/service.js'
import { swarmGuard } from './guards/swarm.js'
import type { OperationGuard } from './guards/types.js'
import { volumeCreateGuard } from './guards/volume-create.js'
import { RESPONSE_SITES as R, under, type RedactSite } from './redact/sites.js'

/**
 * How the engine reads the request body of an operation:
 * - `none`: not at all (a body is ignored, or refused by the engine);
 * - `json`: decoded with Go's encoding/json (dockgate reads it only when a guard needs it);
 * - `stream`: raw bytes, usually a tar archive (build context, image, files), never buffered.
 */
export type BodyKind = 'none' | 'json' | 'stream'

/** The kinds of engine objects a path or query names. */
export type ObjectKind = 'container' | 'exec' | 'image' | 'network' | 'volume' | 'service' | 'task' | 'node' | 'secret' | 'config' | 'plugin'

/**
 * What an operation does to the existing object it names:
 * - `read`: looks at it (inspect, logs, stats);
 * - `change`: changes or removes it (stop, kill, rename, remove, update): never dockgate's own container;
 * - `enter`: runs code or moves files inside it (exec, attach, start, archive, export, commit):
 *   never dockgate's own container, and only a container this policy could have created.
 */
export type Reach = 'read' | 'change' | 'enter'

/** The existing object a request names, in its path (`{id}`) or query (`?container=`). */
export interface TargetFact {
  readonly kind: ObjectKind
  readonly reach: Reach
  /** Where the reference is: a path parameter (`id`, `name`) or a query parameter. */
  readonly from: { readonly param: string } | { readonly query: string }
}

/**
 * What a client with a tenant (tenant/) may do with an operation, besides having the object it
 * names resolved among its tenant's own (targets of kind container, exec, network, volume; image
 * targets are shared):
 * - `label`: it creates objects, which get the tenant's label;
 * - `filter`: it lists, prunes or follows objects: the engine filters them on that label;
 * - `shared`: it touches nothing a tenant owns (the engine's version, images, registries);
 * - `refuse`: engine-wide objects a label cannot scope (swarm, plugins, `/system/df`, raw BuildKit).
 */
export type TenantUse = 'label' | 'filter' | 'shared' | 'refuse'

export interface OperationFacts {
  readonly body: BodyKind
  /** Checks on the body, query and parameters (guards/). Absent: nothing to check beyond the policy rule. */
  readonly guard?: OperationGuard
  readonly target?: TargetFact
  /**
   * True when allowing the operation without checks would hand out more than its name says
   * (host files, devices, privileges, other clients' containers): such an operation must have a
   * guard or a target treatment; the operations test holds every one of them to that.
   */
  readonly escalating?: true
  /** Every client may send it, whatever its policy says: clients negotiate the API version with it. */
  readonly alwaysAllowed?: true
  /** Under a tenant; absent only where the target's kind decides (the tenant-table test holds every operation to that). */
  readonly tenant?: TenantUse
  /**
   * Where its JSON answer carries values a policy's `redact:` can hide (redact/sites.ts). Absent:
   * the answer is streamed untouched whatever the policy says.
   */
  readonly response?: readonly RedactSite[]
}

const container = (reach: Reach, param = 'id'): TargetFact => ({ kind: 'container', reach, from: { param } })
const exec = (reach: Reach): TargetFact => ({ kind: 'exec', reach, from: { param: 'id' } })
const object = (kind: ObjectKind, reach: Reach, param = 'id'): TargetFact => ({ kind, reach, from: { param } })

const SHARED: OperationFacts = { body: 'none', tenant: 'shared' }
const FILTERED: OperationFacts = { body: 'none', tenant: 'filter' }
const REFUSED: OperationFacts = { body: 'none', tenant: 'refuse' }
const REFUSED_JSON: OperationFacts = { body: 'json', tenant: 'refuse' }
/** Swarm and plugin objects are engine-wide: no tenant label scopes them. */
const engineWide = (kind: ObjectKind, reach: Reach, param = 'id', body: BodyKind = 'none'): OperationFacts => ({ body, target: object(kind, reach, param), tenant: 'refuse' })

/** Facts per operationId. Keep it in the generated table's order (by path template). */
export const OPERATION_FACTS: Readonly<Record<string, OperationFacts>> = {
  SystemPing: { body: 'none', alwaysAllowed: true, tenant: 'shared' },
  SystemPingHead: { body: 'none', alwaysAllowed: true, tenant: 'shared' },
  // Checks registry credentials with the registry: the engine calls out, but only to log in.
  SystemAuth: { body: 'json', tenant: 'shared' },
  // The context is the body (a tar); the query carries remote=, networkmode=, cgroupparent=…
  ImageBuild: { body: 'stream', guard: imageBuildGuard, escalating: true, tenant: 'label' },
  BuildCancel: SHARED,
  // The build cache holds every client's layers, and its filters know no labels: a tenant's
  // prune would empty the others' cache.
  BuildPrune: REFUSED,
  // The body is a container.Config applied to the image; `container=` names the container
  // whose whole filesystem becomes an image (like export).
  ImageCommit: { body: 'json', target: { kind: 'container', reach: 'enter', from: { query: 'container' } }, escalating: true, tenant: 'label' },
  ConfigList: { ...REFUSED, response: under('[]', R.config) },
  ConfigCreate: REFUSED_JSON,
  ConfigInspect: { ...engineWide('config', 'read'), response: R.config },
  ConfigDelete: engineWide('config', 'change'),
  ConfigUpdate: engineWide('config', 'change', 'id', 'json'),
  ContainerCreate: { body: 'json', guard: containerCreateGuard, escalating: true, tenant: 'label' },
  ContainerList: FILTERED,
  ContainerPrune: FILTERED,
  ContainerDelete: { body: 'none', target: container('change') },
  ContainerArchive: { body: 'none', target: container('enter') },
  ContainerArchiveInfo: { body: 'none', target: container('enter') },
  PutContainerArchive: { body: 'stream', guard: putArchiveGuard, target: container('enter'), escalating: true },
  ContainerAttach: { body: 'none', target: container('enter'), escalating: true },
  ContainerAttachWebsocket: { body: 'none', target: container('enter'), escalating: true },
  ContainerChanges: { body: 'none', target: container('read') },
  CheckpointList: { body: 'none', target: container('read') },
  // The body's CheckpointDir makes the engine write a checkpoint to any host directory.
  CheckpointCreate: { body: 'json', guard: checkpointCreateGuard, target: container('change'), escalating: true },
  CheckpointDelete: { body: 'none', target: container('change') },
  ContainerExec: { body: 'json', guard: execCreateGuard, target: container('enter'), escalating: true },
  ContainerExport: { body: 'none', target: container('enter') },
  ContainerInspect: { body: 'none', target: container('read'), response: R.container },
  ContainerKill: { body: 'none', target: container('change') },
  ContainerLogs: { body: 'none', target: container('read') },
  ContainerPause: { body: 'none', target: container('change') },
  ContainerRename: { body: 'none', target: container('change') },
  ContainerResize: { body: 'none', target: container('change') },
  // Starting runs the container's command: the container must be one the policy could create.
  // Below API 1.24 the engine applies a HostConfig sent in the body; `checkpoint-dir=` restores
  // from any host directory.
  ContainerRestart: { body: 'none', target: container('enter') },
  ContainerStart: { body: 'json', guard: containerStartGuard, target: container('enter'), escalating: true },
  ContainerStats: { body: 'none', target: container('read') },
  ContainerStop: { body: 'none', target: container('change') },
  ContainerTop: { body: 'none', target: container('read') },
  ContainerUnpause: { body: 'none', target: container('change') },
  ContainerUpdate: { body: 'json', guard: containerUpdateGuard, target: container('change'), escalating: true },
  ContainerWait: { body: 'none', target: container('read') },
  // Asks a registry about an image: the engine calls out.
  DistributionInspect: SHARED,
  SystemEvents: FILTERED,
  ExecInspect: { body: 'none', target: exec('read') },
  ExecResize: { body: 'none', target: exec('change') },
  // Starting an exec runs its command (as created, maybe privileged) in its container.
  ExecStart: { body: 'json', target: exec('enter'), escalating: true },
  // Raw BuildKit control API over h2c: nothing in it can be inspected; refused unless
  // guards.build.grpc says otherwise (buildkit.ts).
  BuildKitGrpc: { body: 'stream', guard: buildKitGrpcGuard, escalating: true, tenant: 'refuse' },
  // Pull (fromImage=) or import (fromSrc=: a URL the engine fetches, or `-`, the body).
  ImageCreate: { body: 'stream', guard: imageCreateGuard, escalating: true, tenant: 'label' },
  ImageGetAll: SHARED,
  ImageList: SHARED,
  ImageLoad: { body: 'stream', tenant: 'shared' },
  ImagePrune: FILTERED,
  ImageSearch: SHARED,
  ImageDelete: { body: 'none', target: object('image', 'change', 'name') },
  ImageAttestations: { body: 'none', target: object('image', 'read', 'name') },
  ImageGet: { body: 'none', target: object('image', 'read', 'name') },
  ImageHistory: { body: 'none', target: object('image', 'read', 'name') },
  ImageInspect: { body: 'none', target: object('image', 'read', 'name'), response: R.image },
  ImagePush: { body: 'none', target: object('image', 'read', 'name') },
  ImageTag: { body: 'none', target: object('image', 'change', 'name') },
  SystemInfo: { ...SHARED, response: R.info },
  NetworkList: FILTERED,
  NetworkCreate: { body: 'json', guard: networkCreateGuard, escalating: true, tenant: 'label' },
  NetworkPrune: FILTERED,
  NetworkInspect: { body: 'none', target: object('network', 'read') },
  NetworkDelete: { body: 'none', target: object('network', 'change') },
  // The body names a container (never dockgate's own) and its endpoint settings.
  NetworkConnect: { body: 'json', guard: networkConnectGuard, target: object('network', 'change'), escalating: true },
  NetworkDisconnect: { body: 'json', guard: networkConnectGuard, target: object('network', 'change'), escalating: true },
  NodeList: REFUSED,
  NodeInspect: engineWide('node', 'read'),
  NodeDelete: engineWide('node', 'change'),
  NodeUpdate: engineWide('node', 'change', 'id', 'json'),
  PluginList: { ...REFUSED, response: under('[]', R.plugin) },
  // Plugins run as root with the mounts, devices and capabilities they ask for.
  PluginCreate: { body: 'stream', guard: pluginGuard, escalating: true, tenant: 'refuse' },
  GetPluginPrivileges: REFUSED,
  PluginPull: { body: 'json', guard: pluginGuard, escalating: true, tenant: 'refuse' },
  // Answers with the removed plugin, its settings included.
  PluginDelete: { ...engineWide('plugin', 'change', 'name'), response: R.plugin },
  PluginDisable: engineWide('plugin', 'change', 'name'),
  PluginEnable: { ...engineWide('plugin', 'change', 'name'), guard: pluginGuard, escalating: true },
  PluginInspect: { ...engineWide('plugin', 'read', 'name'), response: R.plugin },
  PluginPush: engineWide('plugin', 'read', 'name'),
  PluginSet: { ...engineWide('plugin', 'change', 'name', 'json'), guard: pluginGuard, escalating: true },
  PluginUpgrade: { ...engineWide('plugin', 'change', 'name', 'json'), guard: pluginGuard, escalating: true },
  SecretList: { ...REFUSED, response: under('[]', R.secret) },
  SecretCreate: REFUSED_JSON,
  SecretInspect: { ...engineWide('secret', 'read'), response: R.secret },
  SecretDelete: engineWide('secret', 'change'),
  SecretUpdate: engineWide('secret', 'change', 'id', 'json'),
  ServiceList: { ...REFUSED, response: under('[]', R.service) },
  ServiceCreate: { body: 'json', guard: serviceGuard, escalating: true, tenant: 'refuse' },
  ServiceInspect: { ...engineWide('service', 'read'), response: R.service },
  ServiceDelete: engineWide('service', 'change'),
  ServiceLogs: engineWide('service', 'read'),
  ServiceUpdate: { ...engineWide('service', 'change', 'id', 'json'), guard: serviceGuard, escalating: true },
  // BuildKit session: h2c carrying the build's files, secrets and SSH agent. A policy may allow
  // it only together with a build it allows (policy/session-rule.ts, at load).
  Session: { body: 'stream', tenant: 'shared' },
  SwarmInspect: { ...REFUSED, response: R.swarm },
  SwarmInit: { body: 'json', guard: swarmGuard, escalating: true, tenant: 'refuse' },
  SwarmJoin: { body: 'json', guard: swarmGuard, escalating: true, tenant: 'refuse' },
  SwarmLeave: REFUSED,
  SwarmUnlock: REFUSED_JSON,
  SwarmUnlockkey: { ...REFUSED, response: R.unlockKey },
  SwarmUpdate: REFUSED_JSON,
  // Sizes every container and volume by name and id, and takes no filters.
  SystemDataUsage: { ...REFUSED, response: R.volumes },
  TaskList: { ...REFUSED, response: under('[]', R.task) },
  TaskInspect: { ...engineWide('task', 'read'), response: R.task },
  TaskLogs: engineWide('task', 'read'),
  SystemVersion: SHARED,
  VolumeList: { ...FILTERED, response: R.volumes },
  VolumeCreate: { body: 'json', guard: volumeCreateGuard, escalating: true, tenant: 'label' },
  VolumePrune: FILTERED,
  VolumeInspect: { body: 'none', target: object('volume', 'read', 'name'), response: R.volume },
  VolumeUpdate: { body: 'json', target: object('volume', 'change', 'name') },
  VolumeDelete: { body: 'none', target: object('volume', 'change', 'name') },
}

/**
 * Media types (RFC 9110 §8.3.1, lower case, without parameters) a request body of each kind may
 * be sent with. The engine's handlers call Go's Request.ParseForm, which reads parameters out of an
 * `application/x-www-form-urlencoded` body ahead of the query string: such bodies are never on
 * these lists, nor `multipart/form-data` (read by Request.FormValue). JSON bodies that dockgate
 * re-encodes are forwarded as application/json whatever the client said; for the others the
 * client's header is forwarded as it was checked.
 */
export const CONTENT_TYPES: Readonly<Record<BodyKind, readonly string[]>> = {
  // The engine ignores bodies here; Go clients send an empty text/plain one with each POST
  // (moby client/request.go), other clients `{}` as JSON.
  none: ['application/json', 'text/plain'],
  // moby httputils.CheckForJSON accepts application/json, with any parameters.
  json: ['application/json'],
  // Archives and images: what the docker CLI, docker-py, dockerode and curl send.
  stream: [
    'application/x-tar', 'application/tar', 'application/octet-stream', 'application/gzip', 'application/x-gzip',
    'application/x-bzip2', 'application/x-xz', 'application/json', 'text/plain',
  ],
}

/** The facts for an operationId; throws for an id the table does not know (a bug). */
export function operationFacts(id: string): OperationFacts {
  const facts = OPERATION_FACTS[id]
  if (facts === undefined) throw new Error(`no operation facts for ${id}`)
  return facts
}
