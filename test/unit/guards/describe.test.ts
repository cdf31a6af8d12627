import { describe, expect, test } from 'vitest'
import { allowedNow, describeViolation } from '../../../src/guards/describe.js'
import { check, cliCreate, rules } from './helpers.js'

/** Every violation of one ContainerCreate body, as the refusal words them, under `guards`. */
function sentences(hostConfig: Record<string, unknown>, guards?: Record<string, unknown>, top: Record<string, unknown> = {}): string[] {
  return check('ContainerCreate', cliCreate(hostConfig, top), guards === undefined ? {} : { guards }).map((v) => describeViolation(v, rules(guards)))
}

describe('a guard violation as a sentence: subject, value, what is wrong, guard, what is allowed now', () => {
  test.each([
    ['a host network namespace (the subject and value are named)', { NetworkMode: 'host' }, undefined,
      ['HostConfig.NetworkMode="host" is not in guards.container.namespaces.network (guard container.namespaces; allowed now: none)']],
    ['a pid namespace with others allowed', { PidMode: 'host' }, { container: { namespaces: { pid: ['container:sidecar-*'] } } },
      ['HostConfig.PidMode="host" is not in guards.container.namespaces.pid (guard container.namespaces; allowed now: container:sidecar-*)']],
    ['a bind when none is allowed', { Binds: ['/etc:/x'] }, undefined,
      ['HostConfig.Binds[0]="/etc:/x" mounts host path /etc, which is not in guards.container.binds (guard container.binds; allowed now: no host paths)']],
    ['a bind outside the allowed ones', { Binds: ['/etc:/x:ro'] }, { container: { binds: [{ path: '/srv/**', read_only: true }, { path: '/data' }] } },
      ['HostConfig.Binds[0]="/etc:/x:ro" mounts host path /etc, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: /srv/** read-only, /data)']],
    ['a writable bind of a read-only path', { Binds: ['/srv/a:/x'] }, { container: { binds: [{ path: '/srv/**', read_only: true }] } },
      ['HostConfig.Binds[0]="/srv/a:/x" mounts host path /srv/a writable, which guards.container.binds allows only read-only (guard container.binds; allowed now: /srv/** read-only)']],
    ['a bind path with ..', { Binds: ['/srv/../etc:/x'] }, undefined,
      ['HostConfig.Binds[0]="/srv/../etc:/x" names a host path that contains a ".." segment (guard container.binds)']],
    ['privileged: a switch', { Privileged: true }, undefined,
      ['HostConfig.Privileged=true needs guards.container.privileged (guard container.privileged; it is false in this policy)']],
    ['a capability beyond the allowed ones', { CapAdd: ['SYS_ADMIN'] }, { container: { capabilities: ['NET_BIND_SERVICE'] } },
      ['HostConfig.CapAdd[0]="SYS_ADMIN" adds CAP_SYS_ADMIN, which is not in guards.container.capabilities (guard container.capabilities; allowed now: CAP_NET_BIND_SERVICE)']],
    ['a sysctl in slash form', { Sysctls: { 'net/ipv4/ip_forward': '1' } }, undefined,
      ['HostConfig.Sysctls["net/ipv4/ip_forward"]="1" names the sysctl with slashes; write it in dotted form (net.ipv4.ip_forward) (guard container.sysctls)']],
    ['a runtime', { Runtime: 'kata' }, undefined,
      ['HostConfig.Runtime="kata" is not in guards.container.runtimes (guard container.runtime; allowed now: runc)']],
    ['an OOM score below the floor', { OomScoreAdj: -500 }, undefined,
      ['HostConfig.OomScoreAdj=-500 is below guards.container.oom_score_adj_min (0) (guard container.oom_score_adj; it is 0 in this policy)']],
    ['a tmpfs that is a bind', { Tmpfs: { '/run': 'bind' } }, undefined,
      ['HostConfig.Tmpfs["/run"]="bind" makes a tmpfs mount a bind mount, which is never allowed (guard container.tmpfs)']],
    ['a local volume that bind-mounts', { Mounts: [{ Type: 'volume', Target: '/x', VolumeOptions: { DriverConfig: { Name: 'local', Options: { o: 'bind' } } } }] }, undefined,
      [
        'HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["o"]="bind" has option "bind", which bind-mounts a host path (needs guards.volumes.bind_options) (guard volume.options; it is false in this policy)',
        'HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["type"]=null is missing, and local driver options without a type are refused (guard volume.options)',
      ]],
    ['a mount without a type', { Mounts: [{ Target: '/x' }] }, undefined,
      ['HostConfig.Mounts[0].Type=null is missing, and a mount needs a type (guard container.mounts)']],
  ])('%s', (_name, hostConfig, guards, expected) => {
    expect(sentences(hostConfig, guards)).toEqual(expected)
  })

  test('a top-level HostConfig field says where it belongs', () => {
    expect(sentences({}, undefined, { Privileged: true })).toEqual([
      'Privileged=true is a HostConfig field at the top level of the body, which the engine applies; send it inside HostConfig (guard container.legacy_hostconfig)',
    ])
  })

  test('archive writes and plugins name the switch and its value now', () => {
    const [archive] = check('PutContainerArchive', undefined, { query: 'path=/etc', params: { id: 'web' } })
    expect(describeViolation(archive!, rules())).toBe('query.path="/etc" writes into a container, which needs guards.archive.write (guard archive.write; it is false in this policy)')
    const [plugin] = check('PluginPull', '[]', { query: 'remote=vieux/sshfs' })
    expect(describeViolation(plugin!, rules())).toBe('query.remote="vieux/sshfs" is a plugin, and plugins are not allowed (guards.plugins.allow) (guard plugin.allow; allowed now: none)')
    const [other] = check('PluginPull', '[]', { query: 'remote=evil/plugin', guards: { plugins: { allow: ['vieux/sshfs:*'] } } })
    expect(describeViolation(other!, rules({ plugins: { allow: ['vieux/sshfs:*'] } }))).toBe('query.remote="evil/plugin" is not in guards.plugins.allow (guard plugin.allow; allowed now: vieux/sshfs:*)')
  })

  test('image references: the allowlist key and what it holds', () => {
    const guards = { container: { images: ['busybox:*'] }, images: { pull: ['alpine:*'] } }
    const [image] = check('ContainerCreate', '{"Image":"alpine"}', { guards })
    expect(describeViolation(image!, rules(guards))).toBe('Image="alpine" is not in guards.container.images (guard container.image; allowed now: busybox:*)')
    const [id] = check('ContainerCreate', `{"Image":"sha256:${'ab'.repeat(32)}"}`, { guards })
    expect(describeViolation(id!, rules(guards))).toBe(`Image="sha256:${'ab'.repeat(32)}" is an image id, which cannot be checked against the names in guards.container.images (guard container.image; allowed now: busybox:*)`)
    const [pull] = check('ImageCreate', undefined, { guards, query: 'fromImage=busybox&tag=1.36' })
    expect(describeViolation(pull!, rules(guards))).toBe('query.fromImage="busybox:1.36" is not in guards.images.pull (guard image.pull; allowed now: alpine:*)')
  })

  test('allowedNow reads the first key a detail names; a detail that names none gets nothing', () => {
    expect(allowedNow('is not in guards.volumes.drivers', rules({ volumes: { drivers: ['local', 'nfs-*'] } }))).toBe('allowed now: local, nfs-*')
    expect(allowedNow('is not in guards.exec.users', rules({ exec: { users: ['1000'] } }))).toBe('allowed now: 1000')
    expect(allowedNow('is not in guards.container.images', rules())).toBe('allowed now: any')
    expect(allowedNow('is not a bind specification dockgate can read', rules())).toBeUndefined()
    expect(allowedNow('is not in guards.no_such.key', rules())).toBeUndefined()
  })
})
