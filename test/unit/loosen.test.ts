/**
 * loosen/: every guard id the guards emit has a row, and each row gives the narrowest `guards:`
 * entry that lets exactly the refused value through. Each case runs the real guard, loosens what it
 * refused, compiles the result over the policy's rules, runs the guard again (nothing refused), and
 * then its near misses (still refused). Rows that cannot loosen say why.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { decodeBody } from '../../src/body/gojson.js'
import { effectiveCreateBody } from '../../src/existing.js'
import { containerCreateGuard } from '../../src/guards/container-create.js'
import { guardFor } from '../../src/guards/index.js'
import { compileGuardRules, type GuardRules } from '../../src/guards/rules.js'
import type { SelfIdentity, Violation } from '../../src/guards/types.js'
import { GuardsSection } from '../../src/loosen/section.js'
import { LOOSENINGS, loosen, loosenings } from '../../src/loosen/table.js'
import { cliCreate, NO_SELF, rules, SELF } from './guards/helpers.js'

interface Request {
  readonly op?: string
  readonly body?: string
  readonly query?: string
  readonly params?: Record<string, string>
  readonly self?: SelfIdentity
}

interface Case extends Request {
  readonly name: string
  /** The policy's own `guards:` (compiled over the defaults) before loosening. */
  readonly base?: Record<string, unknown>
  /** The section learn writes. */
  readonly want: Record<string, unknown>
  /** Requests (the case's, with these changes) still refused after loosening. */
  readonly near?: readonly Request[]
}

function run(r: Request, compiled: GuardRules): Violation[] {
  const op = r.op ?? 'ContainerCreate'
  const guard = guardFor(op)!
  const body = r.body === undefined ? undefined : decodeBody(Buffer.from(r.body, 'utf8'), guard.shape)
  return guard.check(body, { operationId: op, query: new URLSearchParams(r.query ?? ''), params: r.params ?? {}, version: undefined, rules: compiled, self: r.self ?? NO_SELF })
}

const hc = (hostConfig: Record<string, unknown>, top: Record<string, unknown> = {}): string => cliCreate(hostConfig, top)
const bindMount = (source: string, readOnly: boolean): Record<string, unknown> => ({ Mounts: [{ Type: 'bind', Source: source, Target: '/m', ReadOnly: readOnly }] })
const DEFAULT_LOG_DRIVERS = ['json-file', 'local', 'journald', 'none']

const CASES: readonly Case[] = [
  { name: 'Binds read-only', body: hc({ Binds: ['/srv/data:/data:ro'] }), want: { container: { binds: [{ path: '/srv/data', read_only: true }] } },
    near: [{ body: hc({ Binds: ['/srv/data:/data'] }) }, { body: hc({ Binds: ['/srv/data2:/data:ro'] }) }, { body: hc({ Binds: ['/srv:/data:ro'] }) }, { body: hc({ Binds: ['/srv/data/x:/data:ro'] }) }] },
  { name: 'Binds writable', body: hc({ Binds: ['/srv/data:/data:rw'] }), want: { container: { binds: [{ path: '/srv/data', read_only: false }] } },
    near: [{ body: hc({ Binds: ['/srv/datax:/data'] }) }] },
  { name: 'Binds with glob characters in the path', body: hc({ Binds: ['/srv/a*b[1]:/x'] }), want: { container: { binds: [{ path: '/srv/a\\*b\\[1\\]', read_only: false }] } },
    near: [{ body: hc({ Binds: ['/srv/aXb1:/x'] }) }, { body: hc({ Binds: ['/srv/ab1:/x'] }) }] },
  { name: 'the same path read-only and writable: writable', body: hc({ Binds: ['/srv/d:/a:ro', '//srv/./d:/b'] }), want: { container: { binds: [{ path: '/srv/d', read_only: false }] } } },
  { name: 'Mounts bind, read-only', body: hc(bindMount('/srv/m', true)), want: { container: { binds: [{ path: '/srv/m', read_only: true }] } },
    near: [{ body: hc(bindMount('/srv/m', false)) }] },
  { name: 'Mounts bind, writable', body: hc(bindMount('/srv/m', false)), want: { container: { binds: [{ path: '/srv/m', read_only: false }] } } },
  { name: 'a writable bind under a read-only rule keeps the rule', base: { container: { binds: [{ path: '/srv/**', read_only: true }] } }, body: hc({ Binds: ['/srv/a:/a'] }),
    want: { container: { binds: [{ path: '/srv/**', read_only: true }, { path: '/srv/a', read_only: false }] } }, near: [{ body: hc({ Binds: ['/srv/b:/b'] }) }] },
  { name: 'CapAdd in any spelling', body: hc({ CapAdd: ['net_admin'] }), want: { container: { capabilities: ['NET_ADMIN'] } },
    near: [{ body: hc({ CapAdd: ['SYS_ADMIN'] }) }, { body: hc({ CapAdd: ['ALL'] }) }] },
  { name: 'CapAdd ALL', body: hc({ CapAdd: ['ALL'] }), want: { container: { capabilities: ['ALL'] } } },
  { name: 'legacy Capabilities, added to what the policy has', base: { container: { capabilities: ['CHOWN'] } }, body: hc({ Capabilities: ['CAP_NET_RAW'] }),
    want: { container: { capabilities: ['CHOWN', 'NET_RAW'] } }, near: [{ body: hc({ Capabilities: ['CAP_SYS_ADMIN'] }) }] },
  { name: 'Privileged', body: hc({ Privileged: true }), want: { container: { privileged: true } }, near: [{ body: hc({ Privileged: true, CapAdd: ['SYS_ADMIN'] }) }] },
  { name: 'NetworkMode host', body: hc({ NetworkMode: 'host' }), want: { container: { namespaces: { network: ['host'] } } },
    near: [{ body: hc({ PidMode: 'host' }) }, { body: hc({ NetworkMode: 'container:x' }) }] },
  { name: 'PidMode host', body: hc({ PidMode: 'host' }), want: { container: { namespaces: { pid: ['host'] } } }, near: [{ body: hc({ IpcMode: 'host' }) }] },
  { name: 'IpcMode, UTSMode, UsernsMode, CgroupnsMode host', body: hc({ IpcMode: 'host', UTSMode: 'host', UsernsMode: 'host', CgroupnsMode: 'host' }),
    want: { container: { namespaces: { ipc: ['host'], uts: ['host'], userns: ['host'], cgroupns: ['host'] } } }, near: [{ body: hc({ PidMode: 'host' }) }] },
  { name: 'joining a named container\'s network and cgroup', body: hc({ NetworkMode: 'container:web', Cgroup: 'container:web' }),
    want: { container: { namespaces: { network: ['container:web'], cgroup: ['container:web'] } } }, near: [{ body: hc({ NetworkMode: 'container:web2' }) }] },
  { name: 'the host network by endpoint', body: hc({}, { NetworkingConfig: { EndpointsConfig: { host: {} } } }), want: { container: { namespaces: { network: ['host'] } } } },
  { name: 'VolumesFrom', body: hc({ VolumesFrom: ['data:ro'] }), want: { container: { volumes_from: ['data'] } }, near: [{ body: hc({ VolumesFrom: ['data2'] }) }] },
  { name: 'Devices', body: hc({ Devices: [{ PathOnHost: '/dev//sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'rwm' }] }), want: { container: { devices: ['/dev/sda'] } },
    near: [{ body: hc({ Devices: [{ PathOnHost: '/dev/sdb', PathInContainer: '/dev/xvda', CgroupPermissions: 'rwm' }] }) }] },
  { name: 'DeviceCgroupRules', body: hc({ DeviceCgroupRules: ['c 189:*  rmw'] }), want: { container: { device_cgroup_rules: ['c 189:* rmw'] } },
    near: [{ body: hc({ DeviceCgroupRules: ['b 8:* rmw'] }) }] },
  { name: 'DeviceRequests', body: hc({ DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }] }), want: { container: { device_requests: true } } },
  { name: 'SecurityOpt seccomp=unconfined', body: hc({ SecurityOpt: ['seccomp:unconfined'] }), want: { container: { security_opt: ['seccomp=unconfined'] } },
    near: [{ body: hc({ SecurityOpt: ['apparmor=unconfined'] }) }, { body: hc({ SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'] }) }] },
  { name: 'SecurityOpt inline seccomp profile (long: the value is cut, the canonical form is not)', body: hc({ SecurityOpt: [`seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: Array.from({ length: 20 }, (_, i) => ({ names: [`s${i}`], action: 'SCMP_ACT_ALLOW' })) })}`] }),
    want: { container: { security_opt: ['seccomp=custom'] } }, near: [{ body: hc({ SecurityOpt: ['seccomp=unconfined'] }) }] },
  { name: 'SecurityOpt label disable (bare word)', body: hc({ SecurityOpt: ['disable'] }), want: { container: { security_opt: ['label=disable'] } } },
  { name: 'MaskedPaths', body: hc({ MaskedPaths: [] }), want: { container: { security_opt: ['systempaths=unconfined'] } } },
  { name: 'Sysctls', body: hc({ Sysctls: { 'net.ipv4.ip_forward': '1' } }), want: { container: { sysctls: ['net.ipv4.ip_forward'] } },
    near: [{ body: hc({ Sysctls: { 'net.ipv4.conf.all.forwarding': '1' } }) }] },
  { name: 'CgroupParent', body: hc({ CgroupParent: '/custom' }), want: { container: { cgroup_parents: ['/custom'] } }, near: [{ body: hc({ CgroupParent: '/custom2' }) }] },
  { name: 'Runtime', body: hc({ Runtime: 'kata' }), want: { container: { runtimes: ['runc', 'kata'] } }, near: [{ body: hc({ Runtime: 'runsc' }) }] },
  { name: 'GroupAdd', body: hc({ GroupAdd: ['0044'] }), want: { container: { group_add: ['44'] } }, near: [{ body: hc({ GroupAdd: ['45'] }) }] },
  { name: 'OomScoreAdj', body: hc({ OomScoreAdj: -500 }), want: { container: { oom_score_adj_min: -500 } }, near: [{ body: hc({ OomScoreAdj: -501 }) }] },
  { name: 'OomKillDisable and PidsLimit -1', body: hc({ OomKillDisable: true, PidsLimit: -1 }), want: { container: { oom_kill_disable: true, unlimited_pids: true } } },
  { name: 'Ulimits', body: hc({ Ulimits: [{ Name: 'rtprio', Soft: 1, Hard: 1 }] }), want: { container: { ulimits: ['rtprio'] } },
    near: [{ body: hc({ Ulimits: [{ Name: 'memlock', Soft: 1, Hard: 1 }] }) }] },
  { name: 'Annotations', body: hc({ Annotations: { 'io.kata.x': '1' } }), want: { container: { annotations: ['io.kata.x'] } }, near: [{ body: hc({ Annotations: { 'io.kata.y': '1' } }) }] },
  { name: 'a remote log driver', body: hc({ LogConfig: { Type: 'syslog', Config: {} } }), want: { container: { log_drivers: [...DEFAULT_LOG_DRIVERS, 'syslog'] } },
    near: [{ body: hc({ LogConfig: { Type: 'gelf', Config: {} } }) }] },
  { name: 'an image outside the allowlist', base: { container: { images: ['alpine:*'] } }, body: hc({}, { Image: 'busybox' }), want: { container: { images: ['alpine:*', 'busybox:latest'] } },
    near: [{ body: hc({}, { Image: 'busybox:1' }) }] },
  { name: 'VolumeDriver', body: hc({ VolumeDriver: 'convoy' }), want: { volumes: { drivers: ['local', 'convoy'] } }, near: [{ body: hc({ VolumeDriver: 'flocker' }) }] },
  { name: 'a volume mount that binds a host path', body: hc({ Mounts: [{ Type: 'volume', Source: 'v', Target: '/v', VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: '/srv' } } } }] }),
    want: { volumes: { bind_options: true } } },
  { name: 'a volume of another local type', op: 'VolumeCreate', body: JSON.stringify({ Name: 'n', DriverOpts: { type: 'nfs', o: 'addr=10.0.0.1', device: ':/export' } }),
    want: { volumes: { local_types: ['tmpfs', 'nfs'] } }, near: [{ body: JSON.stringify({ Name: 'n', DriverOpts: { type: 'cifs' } }) }] },
  { name: 'VolumeCreate with another driver', op: 'VolumeCreate', body: JSON.stringify({ Name: 'n', Driver: 'sshfs' }), want: { volumes: { drivers: ['local', 'sshfs'] } } },
  { name: 'a privileged exec', op: 'ContainerExec', body: JSON.stringify({ Cmd: ['sh'], Privileged: true }), want: { exec: { privileged: true } } },
  { name: 'an exec user outside the allowlist', op: 'ContainerExec', base: { exec: { users: ['1000'] } }, body: JSON.stringify({ Cmd: ['sh'], User: 'root' }),
    want: { exec: { users: ['1000', '0'] } }, near: [{ body: JSON.stringify({ Cmd: ['sh'], User: '1' }) }] },
  { name: 'a macvlan network on a parent', op: 'NetworkCreate', body: JSON.stringify({ Name: 'lan', Driver: 'macvlan', Options: { parent: 'eth0' } }),
    want: { networks: { drivers: ['bridge', 'overlay', 'macvlan'], parent: ['eth0'] } },
    near: [{ body: JSON.stringify({ Name: 'lan', Driver: 'macvlan', Options: { parent: 'eth1' } }) }, { body: JSON.stringify({ Name: 'lan', Driver: 'ipvlan' }) }] },
  { name: 'a network ConfigFrom', op: 'NetworkCreate', body: JSON.stringify({ Name: 'n', ConfigFrom: { Network: 'cfg' } }), want: { networks: { config_from: true } } },
  { name: 'an import', op: 'ImageCreate', query: 'fromSrc=-&repo=x', want: { images: { import: true } } },
  { name: 'a URL import', op: 'ImageCreate', query: 'fromSrc=http://192.0.2.1/x.tar', want: { images: { from_src: true } } },
  { name: 'a pull outside the allowlist', op: 'ImageCreate', base: { images: { pull: ['alpine:*'] } }, query: 'fromImage=busybox&tag=1.36', want: { images: { pull: ['alpine:*', 'busybox:1.36'] } },
    near: [{ query: 'fromImage=busybox&tag=1.37' }] },
  { name: 'a remote build context (its Dockerfile cannot be checked for URL fetches either)', op: 'ImageBuild', query: 'remote=https://example.invalid/x.git', want: { build: { remote: true, fetch_urls: true } } },
  { name: 'a BuildKit build with its context in the body', op: 'ImageBuild', query: 'version=2', want: { build: { fetch_urls: true } } },
  { name: 'a build on the host network', op: 'ImageBuild', query: 'networkmode=host', want: { build: { network_host: true } } },
  { name: 'a build output and a push', op: 'ImageBuild', query: `outputs=${encodeURIComponent('[{"Type":"image","Attrs":{"push":"true"}}]')}`,
    want: { build: { outputs: ['moby', 'local', 'tar', 'cacheonly', 'image'], push: true } } },
  { name: 'a build cgroup parent and ulimits', op: 'ImageBuild', query: `cgroupparent=/x&ulimits=${encodeURIComponent('[{"Name":"rtprio","Soft":1,"Hard":1}]')}`,
    want: { container: { cgroup_parents: ['/x'], ulimits: ['rtprio'] } } },
  { name: 'BuildKit gRPC', op: 'BuildKitGrpc', want: { build: { grpc: true } } },
  { name: 'writing into a container', op: 'PutContainerArchive', query: 'path=/tmp', want: { archive: { write: true } } },
  { name: 'a swarm init', op: 'SwarmInit', body: '{}', want: { swarm: { allow: true } } },
  { name: 'a plugin pull', op: 'PluginPull', query: 'remote=vieux/sshfs&name=sshfs', want: { plugins: { allow: ['vieux/sshfs:latest', 'sshfs:latest'] } },
    near: [{ query: 'remote=vieux/sshfs&name=other' }] },
  { name: 'a service with a capability and a bind', op: 'ServiceCreate',
    body: JSON.stringify({ Name: 's', TaskTemplate: { ContainerSpec: { Image: 'busybox', CapabilityAdd: ['NET_ADMIN'], Mounts: [{ Type: 'bind', Source: '/srv/s', Target: '/s', ReadOnly: true }] } } }),
    want: { container: { binds: [{ path: '/srv/s', read_only: true }], capabilities: ['NET_ADMIN'] } } },
]

/** Refusals no `guards:` entry changes, with a word of the reason each gives. */
const CANNOT: ReadonlyArray<Request & { readonly name: string; readonly guard: string; readonly why: RegExp }> = [
  { name: 'a HostConfig field at the top level', guard: 'container.legacy_hostconfig', body: JSON.stringify({ Image: 'busybox', Privileged: true }), why: /inside HostConfig/ },
  { name: 'HostConfig of the wrong type', guard: 'container.body', body: JSON.stringify({ Image: 'busybox', HostConfig: 'x' }), why: /JSON the engine expects/ },
  { name: 'Links of the wrong type', guard: 'container.links', body: hc({ Links: 'x' }), why: /JSON the engine expects/ },
  { name: 'a mount of an unknown type', guard: 'container.mounts', body: hc({ Mounts: [{ Type: 'npipe', Source: 'x', Target: '/x' }] }), why: /cannot read/ },
  { name: 'a tmpfs that is a bind', guard: 'container.tmpfs', body: hc({ Tmpfs: { '/x': 'bind' } }), why: /never allowed/ },
  { name: 'a bind with ..', guard: 'container.binds', body: hc({ Binds: ['/srv/../etc:/x'] }), why: /not a host path dockgate can read exactly/ },
  { name: 'a capability dockgate cannot read', guard: 'container.capabilities', body: hc({ CapAdd: ['sys admin'] }), why: /exactly/ },
  { name: 'a sysctl in slash form', guard: 'container.sysctls', body: hc({ Sysctls: { 'net/ipv4/ip_forward': '1' } }), why: /exactly/ },
  { name: 'a cut value (longer than a violation shows)', guard: 'container.cgroup_parent', body: hc({ CgroupParent: `/${'x'.repeat(200)}` }), why: /exactly/ },
  { name: 'an image id under an allowlist', guard: 'container.image', body: hc({}, { Image: 'sha256:' + 'a'.repeat(64) }), why: /exactly/ },
  { name: 'a start body', guard: 'container.start_body', op: 'ContainerStart', body: JSON.stringify({ Binds: ['/:/x'] }), why: /never carries a body/ },
  { name: 'a checkpoint directory', guard: 'checkpoint.dir', op: 'CheckpointCreate', body: JSON.stringify({ CheckpointID: 'c', CheckpointDir: '/tmp' }), why: /never allowed/ },
  { name: 'an exec body that is not an object', guard: 'exec.body', op: 'ContainerExec', body: '"x"', why: /JSON the engine expects/ },
  { name: 'an exec as the image default user under an allowlist', guard: 'exec.user', op: 'ContainerExec', body: JSON.stringify({ Cmd: ['sh'] }), why: /exactly/ },
  { name: 'a network body that is not an object', guard: 'network.body', op: 'NetworkCreate', body: '[1]', why: /JSON the engine expects/ },
  { name: 'a volume body that is not an object', guard: 'volume.body', op: 'VolumeCreate', body: '"v"', why: /JSON the engine expects/ },
  { name: 'a local volume option that is no option', guard: 'volume.options', op: 'VolumeCreate', body: JSON.stringify({ Name: 'n', DriverOpts: { foo: 'bar' } }), why: /nothing to loosen/ },
  { name: 'a service body that is not an object', guard: 'service.body', op: 'ServiceCreate', body: '"s"', why: /JSON the engine expects/ },
  { name: 'a service credential spec', guard: 'service.credential_spec', op: 'ServiceCreate', body: JSON.stringify({ TaskTemplate: { ContainerSpec: { Image: 'b', Privileges: { CredentialSpec: { File: 'x' } } } } }), why: /never allowed/ },
  { name: 'a service attachment task', guard: 'service.runtime', op: 'ServiceCreate', body: JSON.stringify({ TaskTemplate: { Runtime: 'attachment' } }), why: /made by the engine/ },
  { name: 'a build joining a container\'s network', guard: 'build.network_mode', op: 'ImageBuild', query: 'networkmode=container:x', why: /never allowed/ },
  { name: 'build outputs that are not JSON', guard: 'build.outputs', op: 'ImageBuild', query: 'outputs=nope', why: /exactly/ },
  { name: 'a plugin create without a name', guard: 'plugin.allow', op: 'PluginCreate', why: /names no plugin/ },
  { name: 'dockgate\'s own network namespace', guard: 'self', body: hc({ NetworkMode: 'container:dockgate' }), self: SELF, why: /no policy can allow/ },
]

/** Violations only target.ts and the re-create allowance make (run here as they make them). */
const DIRECT: ReadonlyArray<{ readonly name: string; readonly v: Violation; readonly want?: Record<string, unknown>; readonly why?: RegExp }> = [
  { name: 'an existing container dockgate cannot read', v: { guard: 'target', field: 'container', value: 'web', detail: 'dockgate cannot read its definition (x)' }, why: /cannot read/ },
  { name: 'a re-create that is no re-create', v: { guard: 'container.recreate', field: 'query.name', value: '"web"', detail: 'no container of that name was removed' }, why: /removed through the same policy/ },
]

/** Guard ids in the sources: every guard, the target step (target*.ts), the re-create allowance. */
function sourceGuardIds(): Set<string> {
  const root = new URL('../../src/', import.meta.url).pathname
  const inDir = (dir: string): string[] => readdirSync(join(root, dir)).map((f) => join(root, dir, f))
  const files = [...inDir('guards'), ...readdirSync(root).filter((f) => /^target.*\.ts$/.test(f)).map((f) => join(root, f)), ...inDir('recreate')]
  const ids = new Set<string>()
  for (const f of files) {
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(/'((?:archive|build|checkpoint|container|exec|image|network|plugin|service|swarm|volume)\.[a-z_]+)'/g)) ids.add(m[1]!)
    for (const m of text.matchAll(/(?:SELF_GUARD = |guard: )'([a-z_.]+)'/g)) ids.add(m[1]!)
  }
  return ids
}

describe('loosening table', () => {
  test('has a row for every guard id the sources emit, and none for an id they do not', () => {
    expect(Object.keys(LOOSENINGS).sort()).toEqual([...sourceGuardIds()].sort())
  })

  test('every guard id is exercised by a case below', () => {
    const seen = new Set<string>()
    for (const c of CASES) for (const v of run(c, rules(c.base))) seen.add(v.guard)
    for (const c of CANNOT) seen.add(c.guard)
    for (const d of DIRECT) seen.add(d.v.guard)
    expect([...seen].sort()).toEqual(Object.keys(LOOSENINGS).sort())
  })

  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const base = rules(c.base)
    const found = run(c, base)
    expect(found.length).toBeGreaterThan(0)
    const section = new GuardsSection<Violation>(base)
    for (const v of found) {
      const outcome = loosen(v)
      if ('cannot' in outcome) throw new Error(`${v.guard} ${v.field}=${v.value}: ${outcome.cannot}`)
      for (const l of loosenings(outcome)) section.add(l, v)
    }
    expect(section.toRaw()).toEqual(c.want)
    const compiled = compileGuardRules(section.toRaw(), base)
    expect(compiled.problems).toEqual([])
    expect(run(c, compiled.rules)).toEqual([])
    for (const near of c.near ?? []) expect(run({ ...c, ...near }, compiled.rules), JSON.stringify(near)).not.toEqual([])
  })

  /** Allowlists in force, so that the refusals below happen at all. */
  const CANNOT_BASE: Readonly<Record<string, Record<string, unknown>>> = { 'container.image': { container: { images: ['busybox:*'] } }, 'exec.user': { exec: { users: ['1000'] } } }

  test.each(CANNOT.map((c) => [c.name, c] as const))('cannot: %s', (_name, c) => {
    const found = run(c, rules(CANNOT_BASE[c.guard])).filter((v) => v.guard === c.guard)
    expect(found.length).toBeGreaterThan(0)
    for (const v of found) expect(loosen(v)).toEqual({ cannot: expect.stringMatching(c.why) })
  })

  test.each(DIRECT.map((d) => [d.name, d] as const))('direct: %s', (_name, d) => {
    expect(loosen(d.v)).toEqual({ cannot: expect.stringMatching(d.why!) })
  })

  test('an existing container\'s mounts, as the target step reports them, keep their read-only flag', () => {
    const info = {
      Id: 'a'.repeat(64), Name: '/web', Config: { Image: 'busybox:test' },
      HostConfig: { NetworkMode: 'none', CapAdd: ['NET_ADMIN'] },
      Mounts: [{ Type: 'bind', Source: '/srv/ro', Destination: '/ro', RW: false }, { Type: 'bind', Source: '/srv/rw', Destination: '/rw', RW: true }],
    }
    const body = decodeBody(Buffer.from(effectiveCreateBody(info, { version: '26.1.5', cgroupVersion: '2' })), containerCreateGuard.shape)
    const base = rules()
    const section = new GuardsSection<Violation>(base)
    for (const v of containerCreateGuard.check(body, { operationId: 'ContainerCreate', query: new URLSearchParams(), params: {}, version: undefined, rules: base, self: NO_SELF })) {
      const outcome = loosen(v)
      for (const l of loosenings(outcome)) section.add(l, v)
    }
    expect(section.toRaw()).toEqual({ container: { capabilities: ['NET_ADMIN'], binds: [{ path: '/srv/ro', read_only: true }, { path: '/srv/rw', read_only: false }] } })
  })
})
