/** ContainerStart (bodies applied below API 1.24) and ContainerUpdate (Resources + RestartPolicy). */
import { describe, expect, test } from 'vitest'
import { check, fixture, hits } from './helpers.js'

describe('ContainerStart guard', () => {
  test.each([
    { name: 'a HostConfig body with Binds (applied by /v1.23/)', body: '{"Binds":["/etc:/hostetc"]}', version: '1.23' },
    { name: 'a HostConfig body at a current version', body: '{"Privileged":true}', version: '1.41' },
    { name: 'lower-case privileged', body: '{"privileged":true}', version: undefined },
    { name: 'a harmless-looking field', body: '{"Memory":0}', version: '1.44' },
    { name: 'a non-object body', body: '"x"', version: undefined },
  ])('refuses $name', ({ body, version }) => {
    expect(hits(check('ContainerStart', body, version === undefined ? {} : { version }))).toEqual(['container.start_body body'])
  })

  test.each([
    { name: 'no body', body: undefined },
    { name: '{}', body: '{}' },
    { name: 'null', body: 'null' },
  ])('allows $name', ({ body }) => {
    expect(check('ContainerStart', body)).toEqual([])
  })

  test.each([
    { name: 'checkpoint-dir (restore from a host directory)', query: 'checkpoint=c1&checkpoint-dir=/etc', want: ['checkpoint.dir query.checkpoint-dir'] },
    { name: 'checkpoint-dir twice', query: 'checkpoint-dir=&checkpoint-dir=/root', want: ['checkpoint.dir query.checkpoint-dir'] },
    { name: 'a checkpoint from the default directory', query: 'checkpoint=c1', want: [] },
    { name: 'an empty checkpoint-dir (the default)', query: 'checkpoint=c1&checkpoint-dir=', want: [] },
  ])('query: $name', ({ query, want }) => {
    expect(hits(check('ContainerStart', undefined, { query }))).toEqual(want)
  })
})

describe('CheckpointCreate guard', () => {
  test.each([
    { name: 'CheckpointDir on the host', body: '{"CheckpointID":"c1","CheckpointDir":"/etc/cron.d"}', want: ['checkpoint.dir CheckpointDir'] },
    { name: 'checkpointdir in lower case', body: '{"CheckpointID":"c1","checkpointdir":"/root"}', want: ['checkpoint.dir CheckpointDir'] },
    { name: 'a wrong-typed CheckpointDir', body: '{"CheckpointDir":1}', want: ['checkpoint.dir CheckpointDir'] },
    { name: 'the default directory', body: '{"CheckpointID":"c1","Exit":true}', want: [] },
    { name: 'an empty CheckpointDir', body: '{"CheckpointID":"c1","CheckpointDir":""}', want: [] },
  ])('$name', ({ body, want }) => {
    expect(hits(check('CheckpointCreate', body, { params: { id: 'web' } }))).toEqual(want)
  })
})

describe('ContainerUpdate guard', () => {
  test.each([
    { name: 'docker update --pids-limit -1 (CLI 28)', body: fixture('cli28/container-update.memory-pids-unlimited.json'), expect: ['container.pids_limit PidsLimit'] },
    { name: 'Devices', body: '{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}', expect: ['container.devices Devices[0].PathOnHost'] },
    { name: 'devicecgrouprules (lower-case)', body: '{"devicecgrouprules":["b 8:* rwm"]}', expect: ['container.device_cgroup_rules DeviceCgroupRules[0]'] },
    { name: 'DeviceRequests', body: '{"DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]}', expect: ['container.device_requests DeviceRequests[0]'] },
    { name: 'CgroupParent', body: '{"CgroupParent":"/"}', expect: ['container.cgroup_parent CgroupParent'] },
    { name: 'Ulimits rtprio', body: '{"Ulimits":[{"Name":"rtprio","Soft":99,"Hard":99}]}', expect: ['container.ulimits Ulimits[0].Name'] },
    { name: 'OomKillDisable', body: '{"OomKillDisable":true}', expect: ['container.oom_kill_disable OomKillDisable'] },
  ])('refuses $name', ({ body, expect: want }) => {
    expect(hits(check('ContainerUpdate', body, { params: { id: 'web' } }))).toEqual(want)
  })

  test.each([
    { name: 'memory and restart policy', body: '{"Memory":1073741824,"MemorySwap":-1,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3}}' },
    { name: 'PidsLimit 200', body: '{"PidsLimit":200}' },
    { name: 'unlimited pids when allowed', body: fixture('cli28/container-update.memory-pids-unlimited.json'), guards: { container: { unlimited_pids: true } } },
    { name: 'a listed device', body: '{"Devices":[{"PathOnHost":"/dev/ttyUSB0","PathInContainer":"/dev/ttyUSB0","CgroupPermissions":"rw"}]}', guards: { container: { devices: ['/dev/ttyUSB*'] } } },
  ])('allows $name', ({ body, guards }) => {
    expect(check('ContainerUpdate', body, { params: { id: 'web' }, ...(guards === undefined ? {} : { guards }) })).toEqual([])
  })
})
