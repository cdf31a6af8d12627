/**
 * BuildKit through /build: the session marker is accepted exactly as BuildKit sends it, and
 * nothing else slips through with it. The query below is what docker CLI 20.10 sent for
 * `DOCKER_BUILDKIT=1 docker build --network none -t bk:test ctx` to dockerd 20.10 (captured here).
 */
import { describe, expect, test } from 'vitest'
import { check, hits } from './helpers.js'

const CLI20_BUILDKIT = 'buildargs=%7B%7D&buildid=339c7dc096ccda1cd11fdfbd440e509b99f848ad93569a119c560d8b648f501e&cachefrom=%5B%5D&cgroupparent=&cpuperiod=0&cpuquota=0' +
  '&cpusetcpus=&cpusetmems=&cpushares=0&dockerfile=&labels=%7B%7D&memory=0&memswap=0&networkmode=none&remote=client-session&rm=1' +
  '&session=k7iqgp2kt7d1j3i5ckz7eo9ll&shmsize=0&t=bk%3Atest2&target=&ulimits=null&version=2'

/** The CLI's query with `param` set to `value` (or removed when value is undefined), or with extra pairs appended. */
function variant(param: string, value: string | undefined, extra = ''): string {
  const q = new URLSearchParams(CLI20_BUILDKIT)
  if (value === undefined) q.delete(param)
  else q.set(param, value)
  return q.toString() + extra
}

const outputs = (v: unknown): string => `outputs=${encodeURIComponent(JSON.stringify(v))}`

describe('ImageBuild with BuildKit (version=2)', () => {
  test('the docker CLI 20.10 BuildKit build passes with default guards', () => {
    expect(check('ImageBuild', undefined, { query: CLI20_BUILDKIT })).toEqual([])
  })

  test.each([
    { name: 'remote=client-session2', query: variant('remote', 'client-session2'), expect: ['build.remote query.remote'] },
    { name: 'remote=Client-Session', query: variant('remote', 'Client-Session'), expect: ['build.remote query.remote'] },
    { name: 'remote=client-session with a trailing space', query: variant('remote', 'client-session '), expect: ['build.remote query.remote'] },
    { name: 'no session', query: variant('session', undefined), expect: ['build.remote query.remote'] },
    { name: 'an empty session', query: variant('session', ''), expect: ['build.remote query.remote'] },
    { name: 'two sessions', query: variant('session', 'a', '&session=b'), expect: ['build.remote query.remote'] },
    { name: 'the legacy builder (version=1)', query: variant('version', '1'), expect: ['build.remote query.remote'] },
    { name: 'no version (the legacy builder)', query: variant('version', undefined), expect: ['build.remote query.remote'] },
    { name: 'version=2 and version=1', query: variant('version', '2', '&version=1'), expect: ['build.remote query.remote'] },
    { name: 'a URL after the marker (the engine reads the first, BuildKit might not)', query: `${CLI20_BUILDKIT}&remote=http://169.254.169.254/`, expect: ['build.remote query.remote', 'build.remote query.remote'] },
    { name: 'a URL before the marker', query: `remote=https://github.com/x/y.git&${CLI20_BUILDKIT}`, expect: ['build.remote query.remote', 'build.remote query.remote'] },
    { name: 'a git context with BuildKit', query: variant('remote', 'https://github.com/x/y.git'), expect: ['build.remote query.remote'] },
    { name: 'upload-request (a context from an earlier request)', query: variant('remote', 'upload-request'), expect: ['build.remote query.remote'] },
    // The legacy refusals hold for BuildKit builds too.
    { name: 'networkmode=host (the network.host entitlement)', query: variant('networkmode', 'host'), expect: ['build.network_mode query.networkmode'] },
    { name: 'networkmode=container:<id>', query: variant('networkmode', 'container:abc'), expect: ['build.network_mode query.networkmode'] },
    { name: 'cgroupparent', query: variant('cgroupparent', '/'), expect: ['container.cgroup_parent query.cgroupparent'] },
    { name: 'ulimits rtprio', query: variant('ulimits', '[{"Name":"rtprio","Soft":99,"Hard":99}]'), expect: ['container.ulimits query.ulimits[0].Name'] },
    // Exporters.
    { name: 'the image exporter', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'image', Attrs: { name: 'r.example/x' } }])}`, expect: ['build.outputs query.outputs[0].Type'] },
    { name: 'moby with push=true', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'moby', Attrs: { push: 'true' } }])}`, expect: ['build.push query.outputs[0].Attrs.push'] },
    { name: 'push with an empty value (BuildKit reads it as true)', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'moby', Attrs: { push: '' } }])}`, expect: ['build.push query.outputs[0].Attrs.push'] },
    { name: 'push-by-digest=1', query: `${CLI20_BUILDKIT}&${outputs([{ type: 'moby', attrs: { 'push-by-digest': '1' } }])}`, expect: ['build.push query.outputs[0].Attrs.push-by-digest'] },
    { name: 'a type in another case', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'Local' }])}`, expect: ['build.outputs query.outputs[0].Type'] },
    { name: 'an output without a type', query: `${CLI20_BUILDKIT}&${outputs([{ Attrs: {} }])}`, expect: ['build.outputs query.outputs[0].Type'] },
    { name: 'outputs with case-variant keys', query: `${CLI20_BUILDKIT}&outputs=${encodeURIComponent('[{"Type":"local","type":"image"}]')}`, expect: ['build.outputs query.outputs'] },
    { name: 'outputs that is not JSON', query: `${CLI20_BUILDKIT}&outputs=type=image`, expect: ['build.outputs query.outputs'] },
    { name: 'outputs that is an object', query: `${CLI20_BUILDKIT}&${outputs({ Type: 'image' })}`, expect: ['build.outputs query.outputs'] },
  ])('refuses $name', ({ query, expect: want }) => {
    expect(hits(check('ImageBuild', undefined, { query }))).toEqual(want)
  })

  test.each([
    { name: '--output type=local (the CLI keeps dest to itself)', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'local', Attrs: {} }])}` },
    { name: '--output type=tar', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'tar', Attrs: {} }])}` },
    { name: 'cacheonly', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'cacheonly' }])}` },
    { name: 'moby with push=false', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'moby', Attrs: { push: 'false', name: 'x' } }])}` },
    { name: 'extrahosts (only /etc/hosts of the steps, as HostConfig.ExtraHosts on a create)', query: variant('extrahosts', 'db:10.0.0.2', '&extrahosts=gw:host-gateway') },
    { name: 'networkmode=none and shm/memory limits', query: variant('shmsize', '67108864', '&memory=536870912') },
  ])('allows $name', ({ query }) => {
    expect(check('ImageBuild', undefined, { query })).toEqual([])
  })

  test.each([
    { name: 'the image exporter when listed', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'image' }])}`, guards: { build: { outputs: ['image'] } } },
    { name: 'push when allowed', query: `${CLI20_BUILDKIT}&${outputs([{ Type: 'moby', Attrs: { push: 'true' } }])}`, guards: { build: { push: true } } },
    { name: 'networkmode=host when allowed', query: variant('networkmode', 'host'), guards: { build: { network_host: true } } },
    { name: 'client-session without a session when any remote is allowed', query: variant('session', undefined), guards: { build: { remote: true } } },
  ])('allows $name when loosened', ({ query, guards }) => {
    expect(check('ImageBuild', undefined, { query, guards })).toEqual([])
  })

  test('the session marker is named as such when it comes without a session', () => {
    expect(check('ImageBuild', undefined, { query: variant('session', undefined) })).toEqual([{
      guard: 'build.remote',
      field: 'query.remote',
      value: '"client-session"',
      detail: 'is BuildKit\'s session marker, but the request is not a BuildKit build with one session (version=2 and session=<id>)',
    }])
  })
})

describe('BuildKitGrpc (POST /grpc)', () => {
  test('is refused by its guard unless guards.build.grpc', () => {
    expect(hits(check('BuildKitGrpc', undefined))).toEqual(['build.grpc operation'])
    expect(check('BuildKitGrpc', undefined, { guards: { build: { grpc: true } } })).toEqual([])
  })

  test.each([
    { name: 'remote', guards: { build: { remote: true } } },
    { name: 'network_host', guards: { build: { network_host: true } } },
    { name: 'push and every exporter', guards: { build: { push: true, outputs: ['image', 'oci', 'docker'] } } },
  ])('no other build loosening opens it: $name', ({ guards }) => {
    expect(hits(check('BuildKitGrpc', undefined, { guards }))).toEqual(['build.grpc operation'])
  })
})
