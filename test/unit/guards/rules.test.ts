/** compileGuardRules: defaults, inheritance, overrides, problems; the schema; the glob options. */
import { Ajv } from 'ajv'
import { describe, expect, test } from 'vitest'
import { GLOB_OPTIONS } from '../../../src/guards/glob.js'
import { compileGuardRules, DEFAULT_GUARD_RULES, guardRulesSchema } from '../../../src/guards/rules.js'

describe('DEFAULT_GUARD_RULES', () => {
  test('everything is closed', () => {
    const c = DEFAULT_GUARD_RULES.container
    expect(c.privileged).toBe(false)
    expect(c.capabilities).toEqual([])
    expect(c.binds).toEqual([])
    expect(c.securityOpt).toEqual([])
    expect(c.runtimes).toEqual(['runc'])
    expect(c.oomScoreAdjMin).toBe(0)
    expect(c.images).toBeNull()
    for (const ns of Object.values(c.namespaces)) expect(ns.matches('host')).toBe(false)
    expect(c.sysctls.matches('net.ipv4.ip_forward')).toBe(false)
    expect(DEFAULT_GUARD_RULES.exec).toMatchObject({ privileged: false, users: null })
    expect(DEFAULT_GUARD_RULES.volumes.drivers.patterns).toEqual(['local'])
    expect(DEFAULT_GUARD_RULES.volumes.bindOptions).toBe(false)
    expect(DEFAULT_GUARD_RULES.plugins.allow.matches('vieux/sshfs:latest')).toBe(false)
    expect(DEFAULT_GUARD_RULES.images).toEqual({ fromSrc: false, import: false, pull: null })
    expect(DEFAULT_GUARD_RULES.build).toEqual({ remote: false, networkHost: false, outputs: ['moby', 'local', 'tar', 'cacheonly'], push: false, grpc: false, fetchUrls: false })
    expect(DEFAULT_GUARD_RULES.swarm.allow).toBe(false)
    expect(DEFAULT_GUARD_RULES.networks.drivers.patterns).toEqual(['bridge', 'overlay'])
    expect(DEFAULT_GUARD_RULES.archive.write).toBe(false)
    expect(DEFAULT_GUARD_RULES.apiVersionFloor).toBe('1.24')
  })

  test('is deeply frozen', () => {
    expect(Object.isFrozen(DEFAULT_GUARD_RULES)).toBe(true)
    expect(Object.isFrozen(DEFAULT_GUARD_RULES.container)).toBe(true)
    expect(Object.isFrozen(DEFAULT_GUARD_RULES.container.capabilities)).toBe(true)
    expect(() => {
      ;(DEFAULT_GUARD_RULES.container as { privileged: boolean }).privileged = true
    }).toThrow(TypeError)
  })
})

describe('compileGuardRules', () => {
  test('no section: the base unchanged', () => {
    expect(compileGuardRules(undefined, DEFAULT_GUARD_RULES)).toEqual({ rules: DEFAULT_GUARD_RULES, problems: [] })
  })

  test('loosening keys, canonicalised', () => {
    const { rules, problems } = compileGuardRules(
      {
        api_version_floor: '1.40',
        container: {
          privileged: true,
          capabilities: ['net_bind_service', 'CAP_SYS_PTRACE', 'all'],
          binds: [{ path: '/srv//data/', read_only: true }, { path: '/scratch/**' }],
          namespaces: { network: ['host'] },
          security_opt: ['seccomp:unconfined', 'no-new-privileges:false', 'label:disable'],
          device_cgroup_rules: ['  c 189:*   rmw '],
          group_add: ['0000', 'root'],
          images: ['busybox:*'],
        },
        exec: { users: ['00:00', 'app'] },
        plugins: { allow: true },
      },
      DEFAULT_GUARD_RULES,
    )
    expect(problems).toEqual([])
    expect(rules.apiVersionFloor).toBe('1.40')
    expect(rules.container.privileged).toBe(true)
    expect(rules.container.capabilities).toEqual(['CAP_NET_BIND_SERVICE', 'CAP_SYS_PTRACE', 'ALL'])
    expect(rules.container.binds.map((b) => [b.path, b.readOnly])).toEqual([['/srv/data', true], ['/scratch/**', false]])
    expect(rules.container.binds[0]?.matches('/srv/data')).toBe(true)
    expect(rules.container.namespaces.network.matches('host')).toBe(true)
    expect(rules.container.namespaces.pid.matches('host')).toBe(false)
    expect(rules.container.securityOpt).toEqual(['seccomp=unconfined', 'no-new-privileges=false', 'label=disable'])
    expect(rules.container.deviceCgroupRules).toEqual(['c 189:* rmw'])
    expect(rules.container.groupAdd.patterns).toEqual(['0', '0'])
    expect(rules.exec.users?.matches('0:0')).toBe(true)
    expect(rules.plugins.allow.matches('anything/at:all')).toBe(true)
    expect(Object.isFrozen(rules.container)).toBe(true)
  })

  test('a child policy overrides its base per key and inherits the rest', () => {
    const base = compileGuardRules({ container: { capabilities: ['NET_ADMIN'], sysctls: ['net.*'] }, build: { remote: true } }, DEFAULT_GUARD_RULES).rules
    const { rules, problems } = compileGuardRules({ container: { capabilities: ['NET_BIND_SERVICE'] }, build: { network_host: true } }, base)
    expect(problems).toEqual([])
    expect(rules.container.capabilities).toEqual(['CAP_NET_BIND_SERVICE'])
    expect(rules.container.sysctls.matches('net.ipv4.ip_forward')).toBe(true)
    expect(rules.build).toEqual({ remote: true, networkHost: true, outputs: ['moby', 'local', 'tar', 'cacheonly'], push: false, grpc: false, fetchUrls: false })
    const closedAgain = compileGuardRules({ container: { capabilities: [] }, plugins: { allow: false } }, base).rules
    expect(closedAgain.container.capabilities).toEqual([])
    expect(closedAgain.plugins.allow.matches('x')).toBe(false)
  })

  test('problems carry the path inside guards:', () => {
    const { rules, problems } = compileGuardRules(
      {
        api_version_floor: 'v1',
        container: {
          capabilities: ['SYS_ADMN'],
          binds: [{ path: 'srv/data' }, { path: '/srv/../etc' }, { path: '/srv/[data' }],
          sysctls: ['net.{ipv4'],
          devices: ['/dev/../mem'],
          images: ['!busybox'],
          bogus: true,
        },
        networks: { drivers: ['bridge', '(oops'] },
        nope: {},
      },
      DEFAULT_GUARD_RULES,
    )
    expect(problems.map((p) => p.path)).toEqual([
      ['api_version_floor'],
      ['container', 'capabilities', 0],
      ['container', 'binds', 0, 'path'],
      ['container', 'binds', 1, 'path'],
      ['container', 'binds', 2, 'path'],
      ['container', 'devices', 0],
      ['container', 'sysctls', 0],
      ['container', 'images', 0],
      ['networks', 'drivers', 1],
      ['container', 'bogus'],
      ['nope'],
    ])
    expect(problems[1]?.message).toContain('unknown capability')
    expect(problems[4]?.message).toContain('invalid glob')
    // What could not be compiled is left out, never turned into "allow everything".
    expect(rules.container.binds).toEqual([])
    expect(rules.networks.drivers.matches('bridge')).toBe(true)
    expect(rules.networks.drivers.matches('(oops')).toBe(false)
  })
})

describe('guardRulesSchema', () => {
  const ajv = new Ajv({ strict: true, allErrors: true })
  const validate = ajv.compile(guardRulesSchema)

  test('accepts the documented example', () => {
    const ok = validate({
      container: {
        privileged: false,
        capabilities: ['NET_BIND_SERVICE'],
        binds: [{ path: '/srv/data/**', read_only: true }],
        namespaces: { network: ['host'] },
        devices: ['/dev/ttyUSB0'],
        runtimes: ['runc'],
        sysctls: ['net.ipv4.*'],
        group_add: ['1000'],
        oom_score_adj_min: 0,
        images: ['busybox:*'],
      },
      exec: { privileged: false, users: ['1000'] },
      volumes: { drivers: ['local'], bind_options: false, local_types: ['tmpfs'] },
      plugins: { allow: ['vieux/sshfs:*'] },
      images: { from_src: false, pull: ['busybox:*'] },
      build: { remote: false, network_host: false, fetch_urls: false },
      swarm: { allow: false },
      networks: { drivers: ['bridge'], parent: [], config_from: false },
      archive: { write: false },
      api_version_floor: '1.24',
    })
    expect(validate.errors ?? []).toEqual([])
    expect(ok).toBe(true)
  })

  test.each([
    { name: 'unknown section', value: { containers: {} } },
    { name: 'unknown key', value: { container: { privileges: true } } },
    { name: 'unknown bind key', value: { container: { binds: [{ path: '/x', readonly: true }] } } },
    { name: 'bind without path', value: { container: { binds: [{ read_only: true }] } } },
    { name: 'wrong type', value: { container: { privileged: 'yes' } } },
    { name: 'empty string in a list', value: { container: { sysctls: [''] } } },
    { name: 'plugins.allow as a string', value: { plugins: { allow: 'yes' } } },
    { name: 'bad version floor', value: { api_version_floor: 'v1.24' } },
  ])('refuses $name', ({ value }) => {
    expect(validate(value)).toBe(false)
  })
})

describe('glob options', () => {
  test('are pinned', () => {
    expect(GLOB_OPTIONS).toEqual({ dot: true, nonegate: true, noextglob: true, strictBrackets: true, nocase: false })
  })
  test('* stays within a path segment, ** crosses, dot files are covered', () => {
    const { rules } = compileGuardRules({ container: { binds: [{ path: '/srv/*/data' }, { path: '/home/**' }] } }, DEFAULT_GUARD_RULES)
    const [one, all] = rules.container.binds
    expect(one?.matches('/srv/a/data')).toBe(true)
    expect(one?.matches('/srv/a/b/data')).toBe(false)
    expect(all?.matches('/home/u/.ssh/id_rsa')).toBe(true)
    expect(all?.matches('/home')).toBe(true)
    expect(all?.matches('/homer')).toBe(false)
  })
})
