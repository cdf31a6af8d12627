/** Guards that read only the query and path: plugins, images, build, swarm, archive, networks. */
import { describe, expect, test } from 'vitest'
import { check, hits, SELF } from './helpers.js'

describe('plugin guards', () => {
  test.each([
    { name: 'PluginPull by default', op: 'PluginPull', query: 'remote=vieux/sshfs', expect: ['plugin.allow query.remote'] },
    { name: 'PluginPull with an alias outside the list', op: 'PluginPull', query: 'remote=vieux/sshfs&name=sshfs', guards: { plugins: { allow: ['vieux/sshfs:*'] } }, expect: ['plugin.allow query.name'] },
    { name: 'PluginPull of another plugin', op: 'PluginPull', query: 'remote=evil/root:latest', guards: { plugins: { allow: ['vieux/sshfs:*'] } }, expect: ['plugin.allow query.remote'] },
    { name: 'PluginPull without a remote', op: 'PluginPull', query: '', guards: { plugins: { allow: ['vieux/sshfs:*'] } }, expect: ['plugin.allow operation'] },
    { name: 'PluginUpgrade', op: 'PluginUpgrade', params: { name: 'sshfs' }, query: 'remote=vieux/sshfs:2', expect: ['plugin.allow params.name', 'plugin.allow query.remote'] },
    { name: 'PluginCreate', op: 'PluginCreate', query: 'name=evil', expect: ['plugin.allow query.name'] },
    { name: 'PluginSet', op: 'PluginSet', params: { name: 'vieux/sshfs' }, expect: ['plugin.allow params.name'] },
    { name: 'PluginEnable', op: 'PluginEnable', params: { name: 'vieux/sshfs' }, expect: ['plugin.allow params.name'] },
    { name: 'PluginEnable by plugin id with a name list', op: 'PluginEnable', params: { name: 'a'.repeat(64) }, guards: { plugins: { allow: ['vieux/sshfs:*'] } }, expect: ['plugin.allow params.name'] },
  ])('refuses $name', ({ op, query, params, guards, expect: want }) => {
    expect(hits(check(op, undefined, { query: query ?? '', params: params ?? {}, ...(guards === undefined ? {} : { guards }) }))).toEqual(want)
  })

  test.each([
    { name: 'PluginPull when allow is true', op: 'PluginPull', query: 'remote=vieux/sshfs', guards: { plugins: { allow: true } } },
    { name: 'PluginPull in the list (familiar name, implied :latest)', op: 'PluginPull', query: 'remote=vieux/sshfs', guards: { plugins: { allow: ['vieux/sshfs:*'] } } },
    { name: 'PluginEnable in the list (full name)', op: 'PluginEnable', params: { name: 'docker.io/vieux/sshfs:latest' }, guards: { plugins: { allow: ['vieux/sshfs:*'] } } },
  ])('allows $name', ({ op, query, params, guards }) => {
    expect(check(op, undefined, { query: query ?? '', params: params ?? {}, guards })).toEqual([])
  })
})

describe('ImageCreate guard', () => {
  test.each([
    { name: 'fromSrc URL (SSRF)', query: 'fromSrc=http://169.254.169.254/latest&repo=x', expect: ['image.from_src query.fromSrc'] },
    { name: 'fromSrc URL repeated after -', query: 'fromSrc=-&fromSrc=http://10.0.0.1/x.tar', guards: { images: { import: true } }, expect: ['image.from_src query.fromSrc'] },
    { name: 'an import (any content under any name) by default', query: 'fromSrc=-&repo=busybox&tag=test', expect: ['image.import query.fromSrc'] },
    { name: 'fromImage outside the pull list', query: 'fromImage=alpine&tag=3', guards: { images: { pull: ['busybox:*'] } }, expect: ['image.pull query.fromImage'] },
    { name: 'import over a trusted tag', query: 'fromSrc=-&repo=busybox&tag=latest', guards: { images: { import: true, pull: ['ghcr.io/acme/**'] } }, expect: ['image.pull query.repo'] },
    { name: 'a tag param replaces the tag in fromImage', query: 'fromImage=busybox:1.36&tag=evil', guards: { images: { pull: ['busybox:1.36'] } }, expect: ['image.pull query.fromImage'] },
  ])('refuses $name', ({ query, guards, expect: want }) => {
    expect(hits(check('ImageCreate', undefined, { query, ...(guards === undefined ? {} : { guards }) }))).toEqual(want)
  })

  test.each([
    { name: 'a pull', query: 'fromImage=busybox&tag=latest' },
    { name: 'an import from the body when allowed', query: 'fromSrc=-&repo=mine&tag=1', guards: { images: { import: true } } },
    { name: 'a pull in the list', query: 'fromImage=docker.io/library/busybox&tag=1.36', guards: { images: { pull: ['busybox:*'] } } },
    { name: 'a pull by digest in the list', query: `fromImage=busybox&tag=sha256:${'a'.repeat(64)}`, guards: { images: { pull: ['busybox@sha256:*'] } } },
    { name: 'a pinned tag in the list', query: 'fromImage=busybox&tag=1.36', guards: { images: { pull: ['busybox:1.36'] } } },
    { name: 'fromSrc URL when allowed', query: 'fromSrc=https://example.com/x.tar', guards: { images: { from_src: true } } },
  ])('allows $name', ({ query, guards }) => {
    expect(check('ImageCreate', undefined, { query, ...(guards === undefined ? {} : { guards }) })).toEqual([])
  })
})

describe('ImageBuild guard', () => {
  test.each([
    { name: 'networkmode=host', query: 't=x&networkmode=host', expect: ['build.network_mode query.networkmode'] },
    { name: 'networkmode=HOST', query: 'networkmode=HOST', expect: ['build.network_mode query.networkmode'] },
    { name: 'networkmode=container:<id>', query: 'networkmode=container:abc', guards: { build: { network_host: true } }, expect: ['build.network_mode query.networkmode'] },
    { name: 'remote git context', query: 'remote=https://github.com/x/y.git', expect: ['build.remote query.remote'] },
    { name: 'remote and host network together', query: 'remote=http://10.0.0.1/Dockerfile&networkmode=host', expect: ['build.remote query.remote', 'build.network_mode query.networkmode'] },
    { name: 'remote allowed, URL fetches not', query: 'remote=https://github.com/x/y.git', guards: { build: { remote: true } }, expect: ['build.fetch_urls query.remote'] },
    // BuildKit takes the body as its context too, and its Dockerfile is not read (seen fetching on dockerd 20.10 with no session).
    { name: 'version=2 (BuildKit)', query: 'version=2', expect: ['build.fetch_urls query.version'] },
    { name: 'version=2 after version=1', query: 'version=1&version=2', expect: ['build.fetch_urls query.version'] },
    { name: 'an unknown builder version', query: 'version=3', expect: ['build.fetch_urls query.version'] },
    // Undocumented, but read by the engine and applied to every RUN container (seen on dockerd 20.10).
    { name: 'cgroupparent (RUN steps run in that host cgroup)', query: 'cgroupparent=/evil', expect: ['container.cgroup_parent query.cgroupparent'] },
    { name: 'cgroupparent repeated after an allowed one', query: 'cgroupparent=ci-1&cgroupparent=/', guards: { container: { cgroup_parents: ['ci-*'] } }, expect: ['container.cgroup_parent query.cgroupparent'] },
    { name: 'ulimits rtprio', query: `ulimits=${encodeURIComponent('[{"Name":"rtprio","Soft":99,"Hard":99}]')}`, expect: ['container.ulimits query.ulimits[0].Name'] },
    { name: 'ulimits with a lower-case name key (Go folds it)', query: `ulimits=${encodeURIComponent('[{"name":"nofile","soft":1,"hard":1},{"NAME":"rtprio"}]')}`, guards: { container: { ulimits: ['nofile'] } }, expect: ['container.ulimits query.ulimits[1].Name'] },
    { name: 'ulimits with a duplicate key', query: `ulimits=${encodeURIComponent('[{"Name":"nofile","name":"rtprio"}]')}`, guards: { container: { ulimits: ['nofile'] } }, expect: ['container.ulimits query.ulimits'] },
    { name: 'ulimits that is not JSON', query: 'ulimits=rtprio=99', expect: ['container.ulimits query.ulimits'] },
    { name: 'ulimits that is an object', query: `ulimits=${encodeURIComponent('{"Name":"rtprio"}')}`, expect: ['container.ulimits query.ulimits'] },
    { name: 'ulimits with a null item', query: `ulimits=${encodeURIComponent('[null]')}`, expect: ['container.ulimits query.ulimits[0]'] },
  ])('refuses $name', ({ query, guards, expect: want }) => {
    expect(hits(check('ImageBuild', undefined, { query, ...(guards === undefined ? {} : { guards }) }))).toEqual(want)
  })

  test.each([
    { name: 'a plain build', query: 't=app:1&dockerfile=Dockerfile&buildargs=%7B%22A%22%3A%221%22%7D&platform=linux/amd64' },
    { name: 'networkmode=none / default', query: 'networkmode=none' },
    { name: 'networkmode=host when allowed', query: 'networkmode=host', guards: { build: { network_host: true } } },
    { name: 'remote when allowed, with URL fetches', query: 'remote=https://github.com/x/y.git', guards: { build: { remote: true, fetch_urls: true } } },
    { name: 'version=1 (the legacy builder, as docker build sends it)', query: 'version=1' },
    { name: 'version=2 with URL fetches allowed', query: 'version=2', guards: { build: { fetch_urls: true } } },
    { name: 'an empty cgroupparent and empty ulimits (the CLI sends them)', query: 'cgroupparent=&ulimits=' },
    { name: 'ulimits null or an empty list', query: 'ulimits=null&ulimits=%5B%5D' },
    { name: 'cgroupparent when allowed', query: 'cgroupparent=ci-7', guards: { container: { cgroup_parents: ['ci-*'] } } },
    { name: 'ulimits nofile when allowed', query: `ulimits=${encodeURIComponent('[{"Name":"nofile","Soft":1024,"Hard":2048}]')}`, guards: { container: { ulimits: ['nofile'] } } },
  ])('allows $name', ({ query, guards }) => {
    expect(check('ImageBuild', undefined, { query, ...(guards === undefined ? {} : { guards }) })).toEqual([])
  })
})

describe('swarm, archive, network guards', () => {
  test.each(['SwarmInit', 'SwarmJoin'])('%s is refused unless guards.swarm.allow', (op) => {
    expect(hits(check(op, undefined))).toEqual(['swarm.allow operation'])
    expect(check(op, undefined, { guards: { swarm: { allow: true } } })).toEqual([])
  })

  test('PutContainerArchive is refused unless guards.archive.write', () => {
    expect(check('PutContainerArchive', undefined, { query: 'path=/etc', params: { id: 'web' } })).toEqual([
      { guard: 'archive.write', field: 'query.path', value: '"/etc"', detail: 'writes into a container, which needs guards.archive.write' },
    ])
    expect(check('PutContainerArchive', undefined, { query: 'path=/tmp', params: { id: 'web' }, guards: { archive: { write: true } } })).toEqual([])
  })

  test.each([
    { name: 'macvlan', body: '{"Name":"lan","Driver":"macvlan","Options":{"parent":"eth0"}}', expect: ['network.driver Driver', 'network.parent Options["parent"]'] },
    { name: 'ipvlan in lower case keys', body: '{"name":"lan","driver":"ipvlan"}', expect: ['network.driver Driver'] },
    { name: 'ConfigFrom', body: '{"Name":"lan","ConfigFrom":{"Network":"lan-config"}}', expect: ['network.config_from ConfigFrom.Network'] },
    { name: 'Driver as a number', body: '{"Name":"x","Driver":1}', expect: ['network.driver Driver'] },
  ])('NetworkCreate refuses $name', ({ body, expect: want }) => {
    expect(hits(check('NetworkCreate', body))).toEqual(want)
  })

  test.each([
    { name: 'a bridge network', body: '{"Name":"backend","Driver":"bridge","Internal":true,"Options":{"com.docker.network.bridge.name":"br-backend"},"Labels":{"a":"1","A":"2"}}' },
    { name: 'the default driver', body: '{"Name":"backend"}' },
    { name: 'an overlay network', body: '{"Name":"mesh","Driver":"overlay","Attachable":true}' },
    { name: 'macvlan on eth1 when allowed', body: '{"Name":"lan","Driver":"macvlan","Options":{"parent":"eth1"}}', guards: { networks: { drivers: ['bridge', 'macvlan'], parent: ['eth1'] } } },
  ])('NetworkCreate allows $name', ({ body, guards }) => {
    expect(check('NetworkCreate', body, guards === undefined ? {} : { guards })).toEqual([])
  })

  test.each(['NetworkConnect', 'NetworkDisconnect'])('%s of dockgate is refused', (op) => {
    expect(hits(check(op, '{"container":"dockgate"}', { params: { id: 'evil' }, self: SELF }))).toEqual(['self Container'])
    expect(check(op, '{"Container":"web"}', { params: { id: 'backend' }, self: SELF })).toEqual([])
  })
})

describe('URLs in violations lose their credentials', () => {
  test('fromSrc with user:token@', () => {
    const v = check('ImageCreate', undefined, { query: 'fromSrc=https://user:ghp_TOKEN@example.com/x.tar' })
    expect(JSON.stringify(v)).not.toContain('ghp_TOKEN')
    expect(v[0]?.value).toContain('https://***@example.com/x.tar')
  })
})
