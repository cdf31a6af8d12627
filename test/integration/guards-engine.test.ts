// Differential tests of the body guards against the real engine (issue 3, "How it is tested").
//
// Every escalation vector of docs/engine-notes.md ("Escalation paths") is written the way an
// attacker sends it, as raw bytes, and sent twice with the same bytes: once to the engine's own
// socket, to prove the engine acts on it (inspect what it made) or refuses it itself,
// and once through dockgate, which must refuse it while the engine stays untouched: a recording
// relay between dockgate and the engine (test/support/tap.ts) shows that not one byte reached it,
// and the engine's containers, volumes, networks, plugins and swarm state are as before.
//
// Network rule of these machines (docs/testing.md): loopback and unix sockets only. Containers
// use NetworkMode `none` (or `host` where a test is about host networking); nothing is pulled or
// fetched: requests that would make the engine reach out are also blocked by the tap, as a safety
// net, and the tests require that dockgate never even sent them. Privileged containers are
// created, never started.
import { lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest'
import { compilePolicyText, type CompiledPolicy } from '../../src/policy/compile.js'
import { engineFacts, OLD_API_REFUSAL } from '../support/engine-facts.js'
import { call, inspectContainer, removeByPrefix, snapshot, tarOneFile, waitOutput, type EngineJson, type EngineSnapshot } from '../support/engine-state.js'
import { BIG_IMAGE, BUSYBOX_IMAGE } from '../support/images.js'
import { startProxy, type TestProxy } from '../support/proxy.js'
import type { RawResponse } from '../support/raw.js'
import { startTap, type Tap, type TapRequest } from '../support/tap.js'
import { createRequest, send, type WireRequest } from '../support/wire.js'

const engineSocket = inject('engineSocket')
const facts = engineFacts()
/** Every container and volume these tests make starts with this; afterAll removes them. */
const PREFIX = 'dg-ge-'

let dir: string
let tap: Tap
/** container-operator, as shipped. */
let operator: TestProxy
/** container-operator plus the other guarded operations (volumes, build, plugins, swarm, archive, networks), guards at their defaults. */
let guarded: TestProxy
let guardedPolicy: CompiledPolicy
/** A running container (`sleep`, IPC shareable) to join namespaces of, exec into and write into. */
let sleeper: string
/** A created container with a host directory bind-mounted, for VolumesFrom. */
const BIND_SOURCE = `${PREFIX}bindsrc`
let serial = 0

/** A fresh container name. */
function fresh(tag: string): string {
  return `${PREFIX}${tag}-${++serial}`
}

/** Requests that would make the engine reach outside this machine (or change its role) if relayed. */
function wouldReachOut(req: TapRequest): boolean {
  const t = req.target
  return /[?&]fromSrc=(?!-(?:&|$))/i.test(t) || /[?&](remote|fromImage)=/i.test(t) || /\/plugins\/(pull|[^/]+\/upgrade)/.test(t) || /\/swarm\/(init|join)/.test(t)
}

/** A policy text compiled as the file `name`.yaml (relative to the repo, so `extends` finds presets). */
function policy(name: string, text: string): CompiledPolicy {
  return compilePolicyText(text, { file: `${name}.yaml` })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dockgate-ge-'))
  mkdirSync(join(dir, 'volsrc'))
  tap = await startTap(join(dir, 'tap.sock'), engineSocket, { block: wouldReachOut })
  operator = await startProxy({ policy: 'container-operator', engineSocket: tap.socket })
  guardedPolicy = policy('dg-guarded', [
    'description: container-operator plus every other guarded operation, guards at their defaults',
    'extends: [container-operator]',
    'rules:',
    '  - name: guarded-extras',
    '    allow: [VolumeCreate, ImageBuild, PluginPull, SwarmInit, SwarmJoin, PutContainerArchive, NetworkCreate]',
  ].join('\n'))
  guarded = await startProxy({ policy: guardedPolicy, engineSocket: tap.socket })
  const s = await call(engineSocket, 'POST', `/containers/create?name=${PREFIX}sleeper`, {
    Image: BUSYBOX_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none', IpcMode: 'shareable' },
  })
  expect(s.status, s.text).toBe(201)
  sleeper = s.json.Id as string
  expect((await call(engineSocket, 'POST', `/containers/${sleeper}/start`)).status).toBe(204)
  const b = await call(engineSocket, 'POST', `/containers/create?name=${BIND_SOURCE}`, {
    Image: BUSYBOX_IMAGE, HostConfig: { NetworkMode: 'none', Binds: [`${join(dir, 'volsrc')}:/volsrc`] },
  })
  expect(b.status, b.text).toBe(201)
})

afterAll(async () => {
  await removeByPrefix(engineSocket, PREFIX)
  await operator?.close()
  await guarded?.close()
  await tap?.close()
  rmSync(dir, { recursive: true, force: true })
})

beforeEach(() => tap.clear())

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * One violation as dockgate words it, `field=value <what is wrong> (guard g; <allowed now>)`: the
 * field and value, then the guard that refused them in the same sentence (no other violation's
 * `(guard …` in between). What is wrong and what is allowed now are asserted whole in the unit
 * tests (test/unit/guards/describe.test.ts) and in the loosened-policy cases below.
 */
function violation(field: string, value: string, guard: string): RegExp {
  return new RegExp(`${escape(field)}=${escape(value)} (?:(?!\\(guard ).)+ \\(guard ${escape(guard)}[;)]`)
}

type Mention = string | RegExp

/**
 * A refusal as the client sees it: status, code header, and a JSON message of the form
 * `dockgate: <what was refused, by which policy> [CODE]` (and for an operation `; to allow it …`)
 * holding every fragment in `mentions`.
 */
function expectRefusal(res: RawResponse, status: number, code: string, mentions: readonly Mention[]): string {
  expect(res.status, res.body.toString()).toBe(status)
  expect(res.header('content-type')).toBe('application/json')
  expect(res.header('x-dockgate-error')).toBe(code)
  const { message } = res.json() as { message: string }
  expect(message).toMatch(new RegExp(`^dockgate: .+ \\[${code}\\](; to allow it .+)?$`))
  for (const m of mentions) {
    if (typeof m === 'string') expect(message).toContain(m)
    else expect(message).toMatch(m)
  }
  return message
}

/** The engine got nothing (not one byte through the tap) and holds what it held before. */
/**
 * dockgate's own lookups while it admits a request (what a container, exec or volume named in it
 * really is; the engine's version): they read, and change nothing.
 */
function isLookup(r: { method: string; target: string }): boolean {
  return r.method === 'GET' && /^(\/v[0-9.]+)?\/(containers\/[^?]+\/json|exec\/[^?]+\/json|volumes\/[^?]+|version|info)$/.test(r.target)
}

async function expectEngineUntouched(before: EngineSnapshot): Promise<void> {
  expect(tap.requests().filter((r) => !isLookup(r)).map((r) => r.line)).toEqual([])
  expect(await snapshot(engineSocket)).toEqual(before)
}

// ---------------------------------------------------------------------------------------------
// ContainerCreate vectors
// ---------------------------------------------------------------------------------------------

const IMG = `"Image":"${BUSYBOX_IMAGE}"`
/** A create body with NetworkMode none and the given HostConfig fields, as raw JSON text. */
const hc = (fields: string): string => `{${IMG},"HostConfig":{"NetworkMode":"none",${fields}}}`
/** A create body with exactly the given HostConfig fields (for vectors that set NetworkMode). */
const hcOnly = (fields: string): string => `{${IMG},"HostConfig":{${fields}}}`
const PRIVILEGED = hc('"Privileged":true')
const DENY_PRIVILEGED = [violation('HostConfig.Privileged', 'true', 'container.privileged')]

interface CreateVector {
  readonly name: string
  /** The body as the attacker writes it (a function when it names a container made in beforeAll). */
  readonly body: () => string
  /** Framing, headers or a different target prefix. */
  readonly wire?: (name: string) => Partial<WireRequest>
  /** What the engine makes of the same bytes on its own socket: an assertion on the container it created, or its refusal. */
  readonly engine: ((c: EngineJson) => void | Promise<void>) | { readonly refuses: number; readonly message: RegExp }
  /** Volumes the direct proof creates (removed after it). */
  readonly volumes?: readonly string[]
  readonly status: 400 | 403
  readonly code: string
  readonly mentions: () => readonly Mention[]
}

const deny = (...m: Mention[]) => () => m
const body = (text: string) => () => text

/**
 * What the engine makes of a privileged create sent at API 1.23: dockerd 20.10 serves that version
 * and creates the container privileged; 26.1 serves nothing below 1.24 and refuses it itself
 * (docs/engine-notes.md, "Engine differences"). dockgate refuses it on both.
 */
function oldApiPrivileged(): CreateVector['engine'] {
  return facts.servesOldApi ? (c) => expect(c.HostConfig.Privileged).toBe(true) : { refuses: 400, message: OLD_API_REFUSAL }
}

/** Namespace vectors: the field set to `host` or to the sleeper's namespace. */
function namespaceVectors(): CreateVector[] {
  const out: CreateVector[] = []
  const modes: Array<[string, 'host' | 'container']> = [
    ['NetworkMode', 'host'], ['NetworkMode', 'container'], ['PidMode', 'host'], ['PidMode', 'container'],
    ['IpcMode', 'host'], ['IpcMode', 'container'], ['UTSMode', 'host'], ['UsernsMode', 'host'],
    ['CgroupnsMode', 'host'], ['Cgroup', 'container'],
  ]
  for (const [field, kind] of modes) {
    const value = (): string => (kind === 'host' ? 'host' : `container:${sleeper}`)
    out.push({
      name: `HostConfig.${field} = ${kind === 'host' ? 'host' : 'container:<id>'}`,
      body: () => (field === 'NetworkMode' ? hcOnly(`"NetworkMode":"${value()}"`) : hc(`"${field}":"${value()}"`)),
      engine: (c) => expect(c.HostConfig[field]).toBe(value()),
      status: 403,
      code: 'DG_DENY_BODY',
      mentions: () => [violation(`HostConfig.${field}`, JSON.stringify(value()), 'container.namespaces')],
    })
  }
  return out
}

const CREATE_VECTORS: CreateVector[] = [
  // --- privileged, in the spellings Go's encoding/json accepts
  { name: 'HostConfig.Privileged', body: body(PRIVILEGED), engine: (c) => expect(c.HostConfig.Privileged).toBe(true), status: 403, code: 'DG_DENY_BODY', mentions: () => DENY_PRIVILEGED },
  {
    name: 'lower-case hostconfig/privileged (Go matches keys case-insensitively)',
    body: body(`{"image":"${BUSYBOX_IMAGE}","hostconfig":{"networkmode":"none","privileged":true}}`),
    engine: (c) => expect(c.HostConfig.Privileged).toBe(true),
    status: 403, code: 'DG_DENY_BODY', mentions: () => DENY_PRIVILEGED,
  },
  {
    name: 'upper-case HOSTCONFIG/PRIVILEGED',
    body: body(`{"IMAGE":"${BUSYBOX_IMAGE}","HOSTCONFIG":{"NETWORKMODE":"none","PRIVILEGED":true}}`),
    engine: (c) => expect(c.HostConfig.Privileged).toBe(true),
    status: 403, code: 'DG_DENY_BODY', mentions: () => DENY_PRIVILEGED,
  },
  {
    name: '\\u0050rivileged (escapes in keys are decoded)',
    body: body(hc(String.raw`"\u0050rivileged":true`)),
    engine: (c) => expect(c.HostConfig.Privileged).toBe(true),
    status: 403, code: 'DG_DENY_BODY', mentions: () => DENY_PRIVILEGED,
  },
  {
    name: 'repeated "HostConfig":{…},"HostConfig":{…} (Go merges the second into the first): 400',
    body: body(`{${IMG},"HostConfig":{"NetworkMode":"none"},"HostConfig":{"Privileged":true}}`),
    engine: (c) => {
      expect(c.HostConfig.Privileged).toBe(true)
      expect(c.HostConfig.NetworkMode).toBe('none')
    },
    status: 400, code: 'DG_REQ_BAD_BODY', mentions: deny('ContainerCreate refused: the JSON body is ambiguous or malformed: duplicate key "HostConfig" at HostConfig'),
  },
  {
    name: 'Binds then BINDS (the last one wins): 400',
    body: body(hc('"Binds":["/tmp:/a"],"BINDS":["/etc:/b"]')),
    engine: (c) => expect(c.HostConfig.Binds).toEqual(['/etc:/b']),
    status: 400, code: 'DG_REQ_BAD_BODY', mentions: deny('duplicate key "BINDS" (same as "Binds") at HostConfig.Binds'),
  },
  {
    name: 'Bindſ (Go folds ſ to s and mounts it): 400',
    body: body(hc('"Bindſ":["/etc:/x"]')),
    engine: (c) => expect(c.HostConfig.Binds).toEqual(['/etc:/x']),
    status: 400, code: 'DG_REQ_BAD_BODY', mentions: deny('non-ASCII key "Bindſ" (the engine may match it to a field by Unicode case folding) at HostConfig'),
  },
  // --- legacy top-level HostConfig fields (runconfig ContainerConfigWrapper embeds *HostConfig)
  {
    name: 'legacy top-level Privileged — the engine honours it when HostConfig is absent (inspect: HostConfig.Privileged=true)',
    body: body(`{${IMG},"Privileged":true,"NetworkMode":"none"}`),
    engine: (c) => {
      expect(c.HostConfig.Privileged).toBe(true)
      expect(c.HostConfig.NetworkMode).toBe('none')
    },
    status: 403, code: 'DG_DENY_BODY',
    mentions: deny(violation('Privileged', 'true', 'container.legacy_hostconfig'), violation('NetworkMode', '"none"', 'container.legacy_hostconfig')),
  },
  {
    name: 'legacy top-level Binds — the engine honours it when HostConfig is absent (inspect: /etc bind-mounted at /x)',
    body: body(`{${IMG},"Binds":["/etc:/x"],"NetworkMode":"none"}`),
    engine: (c) => {
      expect(c.HostConfig.Binds).toEqual(['/etc:/x'])
      expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: '/etc', Destination: '/x', RW: true })])
    },
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('Binds', '["/etc:/x"]', 'container.legacy_hostconfig')),
  },
  {
    name: 'legacy top-level Privileged next to a HostConfig — the engine ignores the top-level copy then; refused anyway',
    body: body(`{${IMG},"Privileged":true,"HostConfig":{"NetworkMode":"none"}}`),
    engine: (c) => expect(c.HostConfig.Privileged).toBe(false),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('Privileged', 'true', 'container.legacy_hostconfig')),
  },
  // --- capabilities
  { name: 'CapAdd SYS_ADMIN', body: body(hc('"CapAdd":["SYS_ADMIN"]')), engine: (c) => expect(c.HostConfig.CapAdd).toEqual(['SYS_ADMIN']), status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.CapAdd[0]', '"SYS_ADMIN"', 'container.capabilities')) },
  { name: 'CapAdd ALL', body: body(hc('"CapAdd":["ALL"]')), engine: (c) => expect(c.HostConfig.CapAdd).toEqual(['ALL']), status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.CapAdd[0]', '"ALL"', 'container.capabilities')) },
  { name: 'CapAdd cap_sys_admin (the engine upper-cases)', body: body(hc('"CapAdd":["cap_sys_admin"]')), engine: (c) => expect(c.HostConfig.CapAdd).toEqual(['cap_sys_admin']), status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.CapAdd[0]', '"cap_sys_admin"', 'container.capabilities')) },
  {
    name: 'HostConfig.Capabilities — the engine drops the field (inspect: null); refused anyway',
    body: body(hc('"Capabilities":["CAP_SYS_ADMIN"]')),
    engine: (c) => expect(c.HostConfig.Capabilities ?? null).toBeNull(),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.Capabilities[0]', '"CAP_SYS_ADMIN"', 'container.capabilities')),
  },
  // --- namespaces
  ...namespaceVectors(),
  // --- host filesystem
  { name: 'Binds /:/host', body: body(hc('"Binds":["/:/host"]')), engine: (c) => expect(c.HostConfig.Binds).toEqual(['/:/host']), status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.Binds[0]', '"/:/host"', 'container.binds')) },
  {
    name: 'Binds /var/run/docker.sock:/s',
    body: body(hc('"Binds":["/var/run/docker.sock:/s"]')),
    engine: (c) => expect(c.HostConfig.Binds).toEqual(['/var/run/docker.sock:/s']),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.Binds[0]', '"/var/run/docker.sock:/s"', 'container.binds')),
  },
  {
    name: 'Mounts type bind of /',
    body: body(hc('"Mounts":[{"Type":"bind","Source":"/","Target":"/host"}]')),
    engine: (c) => expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: '/', Destination: '/host' })]),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.Mounts[0].Source', '"/"', 'container.binds')),
  },
  {
    name: 'Mounts type volume with DriverConfig local {type:none, o:bind, device:/}',
    body: body(hc(`"Mounts":[{"Type":"volume","Source":"${PREFIX}rootvol","Target":"/host","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]`)),
    engine: async (c) => {
      expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: `${PREFIX}rootvol`, Driver: 'local' })])
      const v = await call(engineSocket, 'GET', `/volumes/${PREFIX}rootvol`)
      expect(v.json.Options).toEqual({ type: 'none', o: 'bind', device: '/' })
    },
    volumes: [`${PREFIX}rootvol`],
    status: 403, code: 'DG_DENY_BODY',
    mentions: deny(
      violation('HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["type"]', '"none"', 'volume.options'),
      violation('HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["o"]', '"bind"', 'volume.options'),
      violation('HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["device"]', '"/"', 'volume.options'),
    ),
  },
  {
    name: 'VolumesFrom a container with a host bind (inherits it)',
    body: body(hc(`"VolumesFrom":["${BIND_SOURCE}"]`)),
    engine: (c) => {
      expect(c.HostConfig.VolumesFrom).toEqual([BIND_SOURCE])
      expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: join(dir, 'volsrc') })])
    },
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.VolumesFrom[0]', `"${BIND_SOURCE}"`, 'container.volumes_from')),
  },
  // --- devices
  {
    name: 'Devices /dev/mem',
    body: body(hc('"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]')),
    engine: (c) => expect(c.HostConfig.Devices).toEqual([{ PathOnHost: '/dev/mem', PathInContainer: '/dev/mem', CgroupPermissions: 'rwm' }]),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.Devices[0].PathOnHost', '"/dev/mem"', 'container.devices')),
  },
  {
    name: 'DeviceCgroupRules a *:* rwm',
    body: body(hc('"DeviceCgroupRules":["a *:* rwm"]')),
    engine: (c) => expect(c.HostConfig.DeviceCgroupRules).toEqual(['a *:* rwm']),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.DeviceCgroupRules[0]', '"a *:* rwm"', 'container.device_cgroup_rules')),
  },
  // --- confinement
  ...['seccomp=unconfined', 'seccomp:unconfined', 'apparmor=unconfined', 'label=disable'].map((opt): CreateVector => ({
    name: `SecurityOpt ${opt}`,
    body: body(hc(`"SecurityOpt":["${opt}"]`)),
    engine: (c) => expect(c.HostConfig.SecurityOpt).toEqual([opt]),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.SecurityOpt[0]', `"${opt}"`, 'container.security_opt')),
  })),
  {
    name: 'SecurityOpt systempaths=unconfined — the engine answers 500 "invalid --security-opt" to it raw (the CLI sends empty MaskedPaths/ReadonlyPaths instead); refused',
    body: body(hc('"SecurityOpt":["systempaths=unconfined"]')),
    engine: { refuses: 500, message: /invalid --security-opt 2: "systempaths=unconfined"/ },
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.SecurityOpt[0]', '"systempaths=unconfined"', 'container.security_opt')),
  },
  {
    name: 'empty MaskedPaths (unmasks /proc/kcore, /sys/firmware…)',
    body: body(hc('"MaskedPaths":[]')),
    engine: (c) => expect(c.HostConfig.MaskedPaths).toEqual([]),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.MaskedPaths', '[]', 'container.system_paths')),
  },
  {
    name: 'empty ReadonlyPaths',
    body: body(hc('"ReadonlyPaths":[]')),
    engine: (c) => expect(c.HostConfig.ReadonlyPaths).toEqual([]),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.ReadonlyPaths', '[]', 'container.system_paths')),
  },
  // --- kernel knobs
  {
    name: 'Sysctls kernel.shm_rmid_forced',
    body: body(hc('"Sysctls":{"kernel.shm_rmid_forced":"1"}')),
    engine: (c) => expect(c.HostConfig.Sysctls).toEqual({ 'kernel.shm_rmid_forced': '1' }),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.Sysctls["kernel.shm_rmid_forced"]', '"1"', 'container.sysctls')),
  },
  {
    name: 'CgroupParent',
    body: body(hc(`"CgroupParent":"/${PREFIX}parent"`)),
    engine: (c) => expect(c.HostConfig.CgroupParent).toBe(`/${PREFIX}parent`),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.CgroupParent', `"/${PREFIX}parent"`, 'container.cgroup_parent')),
  },
  {
    name: 'Runtime io.containerd.runtime.v1.linux (a runtime the engine has, not runc)',
    body: body(hc('"Runtime":"io.containerd.runtime.v1.linux"')),
    engine: (c) => expect(c.HostConfig.Runtime).toBe('io.containerd.runtime.v1.linux'),
    status: 403, code: 'DG_DENY_BODY', mentions: deny(violation('HostConfig.Runtime', '"io.containerd.runtime.v1.linux"', 'container.runtime')),
  },
  // --- framing, headers and prefixes around a privileged body
  {
    name: 'chunked body framing (7-byte chunks)',
    body: body(PRIVILEGED), wire: () => ({ chunkBytes: 7 }),
    engine: (c) => expect(c.HostConfig.Privileged).toBe(true),
    status: 403, code: 'DG_DENY_BODY', mentions: () => DENY_PRIVILEGED,
  },
  {
    name: 'Content-Type: application/json; charset=utf-8',
    body: body(PRIVILEGED), wire: () => ({ headers: [['Content-Type', 'application/json; charset=utf-8']] }),
    engine: (c) => expect(c.HostConfig.Privileged).toBe(true),
    status: 403, code: 'DG_DENY_BODY', mentions: () => DENY_PRIVILEGED,
  },
  {
    name: 'upgrade headers on a create (the engine ignores them and creates): 400',
    body: body(PRIVILEGED), wire: () => ({ headers: [['Connection', 'Upgrade'], ['Upgrade', 'tcp']] }),
    engine: (c) => expect(c.HostConfig.Privileged).toBe(true),
    status: 400, code: 'DG_REQ_BAD_UPGRADE', mentions: deny('ContainerCreate (POST /containers/create) does not take over the connection'),
  },
  {
    name: '/v1.23/ prefix (20.10 serves it; 26.1 refuses the version itself)',
    body: body(PRIVILEGED), wire: (name) => ({ target: `/v1.23/containers/create?name=${name}` }),
    engine: oldApiPrivileged(),
    status: 403, code: 'DG_DENY_API_VERSION', mentions: deny('API version 1.23 is below the floor 1.24 (guards.api_version_floor)'),
  },
  {
    name: '/v1.023/ prefix (the engine reads 1.23)',
    body: body(PRIVILEGED), wire: (name) => ({ target: `/v1.023/containers/create?name=${name}` }),
    engine: oldApiPrivileged(),
    status: 403, code: 'DG_DENY_API_VERSION', mentions: deny('API version 1.023 is below the floor 1.24'),
  },
]


/** Requests that reached the engine on the client's behalf, without dockgate's own volume look-ups. */
function clientRequests(): ReturnType<typeof tap.requests> {
  return tap.requests().filter((r) => !isLookup(r))
}

describe('ContainerCreate: every escalation vector works on the engine directly and is refused by container-operator', () => {
  test.each(CREATE_VECTORS)('$name', async (v) => {
    // 1. The same bytes on the engine's own socket: the vector is real (or the engine refuses it).
    const direct = fresh('d')
    const res = await send(engineSocket, createRequest(direct, v.body(), v.wire?.(direct)))
    if ('refuses' in v.engine) {
      expect(res.status).toBe(v.engine.refuses)
      expect((res.json() as { message: string }).message).toMatch(v.engine.message)
      expect(await inspectContainer(engineSocket, direct)).toBeUndefined()
    } else {
      expect(res.status, res.body.toString()).toBe(201)
      const c = await inspectContainer(engineSocket, direct)
      expect(c.Name).toBe(`/${direct}`)
      await v.engine(c)
      expect((await call(engineSocket, 'DELETE', `/containers/${direct}?force=1`)).status).toBe(204)
      for (const vol of v.volumes ?? []) expect((await call(engineSocket, 'DELETE', `/volumes/${vol}`)).status).toBe(204)
    }

    // 2. Through dockgate: refused, with every violation named, and the engine untouched.
    const before = await snapshot(engineSocket)
    const name = fresh('g')
    const refused = await send(operator.socket, createRequest(name, v.body(), v.wire?.(name)))
    const message = expectRefusal(refused, v.status, v.code, v.mentions())
    if (v.code === 'DG_DENY_BODY') expect(message.startsWith('dockgate: ContainerCreate denied by policy "container-operator": ')).toBe(true)
    await expectEngineUntouched(before)
    expect(await inspectContainer(engineSocket, name)).toBeUndefined()
  })

  test('one request with several vectors lists every violation, not just the first', async () => {
    const before = await snapshot(engineSocket)
    const res = await send(operator.socket, createRequest(fresh('g'), hc('"Privileged":true,"CapAdd":["SYS_ADMIN"],"Binds":["/:/host"],"PidMode":"host"')))
    expectRefusal(res, 403, 'DG_DENY_BODY', [
      violation('HostConfig.Privileged', 'true', 'container.privileged'),
      violation('HostConfig.CapAdd[0]', '"SYS_ADMIN"', 'container.capabilities'),
      violation('HostConfig.PidMode', '"host"', 'container.namespaces'),
      violation('HostConfig.Binds[0]', '"/:/host"', 'container.binds'),
    ])
    await expectEngineUntouched(before)
    const audit = operator.audits().at(-1)!
    expect(audit).toMatchObject({ decision: 'deny', code: 'DG_DENY_BODY', operation: 'ContainerCreate', policy: 'container-operator', status: 403 })
    expect(audit.rule).toBe('container.privileged,container.capabilities,container.namespaces,container.binds')
  })
})

describe('near misses pass container-operator and are created as sent', () => {
  interface NearMiss {
    readonly name: string
    readonly body: string
    readonly check: (c: EngineJson) => void | Promise<void>
  }
  const NEAR_MISSES: NearMiss[] = [
    { name: 'plain busybox create', body: hc('"AutoRemove":false'), check: (c) => expect(c.HostConfig).toMatchObject({ Privileged: false, NetworkMode: 'none', Binds: null, CapAdd: null }) },
    {
      name: 'named volume without driver options (Mounts)',
      body: hc(`"Mounts":[{"Type":"volume","Source":"${PREFIX}named","Target":"/data"}]`),
      check: async (c) => {
        expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: `${PREFIX}named`, Driver: 'local', Destination: '/data' })])
        const v = await call(engineSocket, 'GET', `/volumes/${PREFIX}named`)
        expect(v.status).toBe(200)
        expect(v.json.Options ?? {}).toEqual({})
      },
    },
    {
      name: 'named volume without driver options (Binds)',
      body: hc(`"Binds":["${PREFIX}named2:/data"]`),
      check: (c) => expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: `${PREFIX}named2`, Destination: '/data' })]),
    },
    {
      name: 'tmpfs mount (Mounts) and HostConfig.Tmpfs',
      body: hc('"Mounts":[{"Type":"tmpfs","Target":"/scratch","TmpfsOptions":{"SizeBytes":1048576}}],"Tmpfs":{"/run":"rw,noexec,size=1m"}'),
      check: (c) => {
        expect(c.HostConfig.Mounts).toEqual([{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576 } }])
        expect(c.HostConfig.Tmpfs).toEqual({ '/run': 'rw,noexec,size=1m' })
      },
    },
    {
      name: 'local volume options o=bindable (not "bind") on a tmpfs volume',
      body: hc(`"Mounts":[{"Type":"volume","Source":"${PREFIX}bindable","Target":"/data","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"tmpfs","device":"tmpfs","o":"bindable"}}}}]`),
      check: async (c) => {
        expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: `${PREFIX}bindable` })])
        expect((await call(engineSocket, 'GET', `/volumes/${PREFIX}bindable`)).json.Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'bindable' })
      },
    },
    { name: 'CapDrop ALL', body: hc('"CapDrop":["ALL"]'), check: (c) => expect(c.HostConfig.CapDrop).toEqual(['ALL']) },
    { name: 'SecurityOpt no-new-privileges', body: hc('"SecurityOpt":["no-new-privileges"]'), check: (c) => expect(c.HostConfig.SecurityOpt).toEqual(['no-new-privileges']) },
    { name: 'IpcMode private, UsernsMode and CgroupnsMode empty', body: hc('"IpcMode":"private","UsernsMode":"","CgroupnsMode":"private"'), check: (c) => expect(c.HostConfig).toMatchObject({ IpcMode: 'private', CgroupnsMode: 'private' }) },
  ]

  test.each(NEAR_MISSES)('$name', async (m) => {
    const name = fresh('near')
    const res = await send(operator.socket, createRequest(name, m.body))
    expect(res.status, res.body.toString()).toBe(201)
    // What reached the engine is what was sent (these bodies are already compact and canonical).
    // dockgate's own look-ups of named volumes (GET /volumes/{name}) are not the client's request.
    const forwarded = clientRequests()
    expect(forwarded).toHaveLength(1)
    expect(forwarded[0]!.body.toString()).toBe(m.body)
    const c = await inspectContainer(engineSocket, name)
    expect(c.Id).toBe((res.json() as { Id: string }).Id)
    await m.check(c)
  })

  test('/v1.24/ (the API version floor itself) passes', async () => {
    const name = fresh('near')
    const res = await send(operator.socket, createRequest(name, hc('"AutoRemove":false'), { target: `/v1.24/containers/create?name=${name}` }))
    expect(res.status, res.body.toString()).toBe(201)
    expect(tap.requests().map((r) => r.line)).toEqual([`POST /v1.24/containers/create?name=${name} HTTP/1.1`])
  })
})

describe('forwarded body = checked body', () => {
  test('a chunked body with \\u0049mage and whitespace reaches the engine as compact JSON with Image, a fresh Content-Length and no Transfer-Encoding', async () => {
    const name = fresh('canon')
    const sent = ` {\r\n  "\\u0049mage" : "${BUSYBOX_IMAGE}" ,\n\t"HostConfig" : { "NetworkMode" : "none" , "Tmpfs" : { "/run" : "size=1m" } } ,\n "Labels" : { "a.b" : "\\u00e9" }\n} \n`
    const res = await send(operator.socket, createRequest(name, sent, { chunkBytes: 5 }))
    expect(res.status, res.body.toString()).toBe(201)
    const canonical = `{"Image":"${BUSYBOX_IMAGE}","HostConfig":{"NetworkMode":"none","Tmpfs":{"/run":"size=1m"}},"Labels":{"a.b":"é"}}`
    const reqs = tap.requests()
    expect(reqs).toHaveLength(1)
    const req = reqs[0]!
    expect(req.line).toBe(`POST /containers/create?name=${name} HTTP/1.1`)
    expect(req.header('transfer-encoding')).toBeUndefined()
    expect(req.header('content-length')).toBe(String(Buffer.byteLength(canonical)))
    expect(req.body.toString('utf8')).toBe(canonical)
    const c = await inspectContainer(engineSocket, name)
    expect(c.Config.Image).toBe(BUSYBOX_IMAGE)
    expect(c.Config.Labels).toEqual({ 'a.b': 'é' })
    expect(c.HostConfig.Tmpfs).toEqual({ '/run': 'size=1m' })
  })

  test('a lower-case body is forwarded with the keys as sent, which the engine reads as the fields that were checked', async () => {
    const name = fresh('canon')
    const sent = `{ "image": "${BUSYBOX_IMAGE}", "hostconfig": { "networkmode": "none", "capdrop": ["ALL"] } }`
    const res = await send(operator.socket, createRequest(name, sent))
    expect(res.status, res.body.toString()).toBe(201)
    expect(tap.requests()[0]!.body.toString()).toBe(`{"image":"${BUSYBOX_IMAGE}","hostconfig":{"networkmode":"none","capdrop":["ALL"]}}`)
    const c = await inspectContainer(engineSocket, name)
    expect(c.HostConfig).toMatchObject({ NetworkMode: 'none', CapDrop: ['ALL'] })
  })
})

// ---------------------------------------------------------------------------------------------
// ContainerStart with a body, old API versions
// ---------------------------------------------------------------------------------------------

describe('ContainerStart with a HostConfig body', () => {
  const CLEAN = { Image: BUSYBOX_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } }
  const START_BODY = '{"Binds":["/etc:/hostetc"]}'

  // Engine difference (docs/engine-notes.md): dockerd 20.10 serves API 1.23 and applies the body;
  // 26.1 serves nothing below 1.24 and refuses the request itself, leaving the container clean.
  test('direct: {"Binds":["/etc:/hostetc"]} sent to POST /v1.23/containers/{id}/start mounts /etc on dockerd 20.10; 26.1 refuses API 1.23 (400)', async () => {
    const name = fresh('start-d')
    expect((await call(engineSocket, 'POST', `/containers/create?name=${name}`, CLEAN)).status).toBe(201)
    expect((await inspectContainer(engineSocket, name)).HostConfig.Binds).toBeNull()
    const res = await send(engineSocket, { method: 'POST', target: `/v1.23/containers/${name}/start`, body: START_BODY })
    const c = await inspectContainer(engineSocket, name)
    if (facts.servesOldApi) {
      expect(res.status, res.body.toString()).toBe(204)
      expect(c.State.Running).toBe(true)
      expect(c.HostConfig.Binds).toEqual(['/etc:/hostetc'])
      expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: '/etc', Destination: '/hostetc', RW: true })])
    } else {
      expect(res.status, res.body.toString()).toBe(400)
      expect((res.json() as { message: string }).message).toMatch(OLD_API_REFUSAL)
      expect(c.State.Running).toBe(false)
      expect(c.HostConfig.Binds).toBeNull()
      expect(c.Mounts).toEqual([])
    }
    expect((await call(engineSocket, 'DELETE', `/containers/${name}?force=1`)).status).toBe(204)
  })

  test('dockgate refuses the same start at /v1.23/, at /v1.41/, chunked and lower-case; the container stays clean, and starts clean', async () => {
    const name = fresh('start-g')
    const created = await send(operator.socket, createRequest(name, JSON.stringify(CLEAN)))
    expect(created.status, created.body.toString()).toBe(201)
    tap.clear()
    const before = await snapshot(engineSocket)
    const attempts: Array<[WireRequest, number, string, Mention[]]> = [
      [{ method: 'POST', target: `/v1.23/containers/${name}/start`, body: START_BODY }, 403, 'DG_DENY_API_VERSION', ['API version 1.23 is below the floor 1.24']],
      [{ method: 'POST', target: `/v1.41/containers/${name}/start`, body: START_BODY }, 403, 'DG_DENY_BODY', ['ContainerStart denied by policy "container-operator": ', 'body={"Binds":["/etc:/hostetc"]} is refused: a start request carries no body (old API versions apply it as HostConfig) (guard container.start_body)']],
      [{ method: 'POST', target: `/containers/${name}/start`, body: START_BODY, chunkBytes: 4 }, 403, 'DG_DENY_BODY', ['(guard container.start_body']],
      [{ method: 'POST', target: `/containers/${name}/start`, body: '{"binds":["/etc:/hostetc"]}' }, 403, 'DG_DENY_BODY', ['(guard container.start_body']],
    ]
    for (const [req, status, code, mentions] of attempts) {
      expectRefusal(await send(operator.socket, req), status, code, mentions)
    }
    await expectEngineUntouched(before)
    const c = await inspectContainer(engineSocket, name)
    expect(c.State.Running).toBe(false)
    expect(c.HostConfig.Binds).toBeNull()
    expect(c.Mounts).toEqual([])

    const ok = await send(operator.socket, { method: 'POST', target: `/containers/${name}/start` })
    expect(ok.status, ok.body.toString()).toBe(204)
    const started = await inspectContainer(engineSocket, name)
    expect(started.State.Running).toBe(true)
    expect(started.Mounts).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// The other guarded operations
// ---------------------------------------------------------------------------------------------

describe('other operations that create or change something', () => {
  test('POST /volumes/create with local bind DriverOpts: the engine creates a bind of / (direct); dockgate refuses it', async () => {
    const bindOpts = (name: string): string => `{"Name":"${name}","DriverOpts":{"type":"none","o":"bind","device":"/"}}`
    const direct = `${PREFIX}dvol`
    const res = await send(engineSocket, { method: 'POST', target: '/volumes/create', body: bindOpts(direct) })
    expect(res.status, res.body.toString()).toBe(201)
    expect((await call(engineSocket, 'GET', `/volumes/${direct}`)).json.Options).toEqual({ type: 'none', o: 'bind', device: '/' })
    expect((await call(engineSocket, 'DELETE', `/volumes/${direct}`)).status).toBe(204)

    const before = await snapshot(engineSocket)
    const name = `${PREFIX}gvol`
    expectRefusal(await send(guarded.socket, { method: 'POST', target: '/volumes/create', body: bindOpts(name) }), 403, 'DG_DENY_BODY', [
      `VolumeCreate denied by policy "${guardedPolicy.name}": `,
      violation('DriverOpts["type"]', '"none"', 'volume.options'),
      violation('DriverOpts["o"]', '"bind"', 'volume.options'),
      violation('DriverOpts["device"]', '"/"', 'volume.options'),
    ])
    // container-operator does not allow VolumeCreate at all.
    expectRefusal(await send(operator.socket, { method: 'POST', target: '/volumes/create', body: bindOpts(name) }), 403, 'DG_DENY_OPERATION', ['dockgate: POST /volumes/create (VolumeCreate) is not allowed by policy "container-operator" [DG_DENY_OPERATION]; to allow it add "VolumeCreate" to an allow: list in a policy that extends container-operator (presets with it: ci)'])
    await expectEngineUntouched(before)
  })

  test('POST /volumes/create near misses: a named volume, and a tmpfs volume with size', async () => {
    for (const [name, sent] of [
      [`${PREFIX}plainvol`, `{"Name":"${PREFIX}plainvol"}`],
      [`${PREFIX}tmpfsvol`, `{"Name":"${PREFIX}tmpfsvol","DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=1m"}}`],
    ] as const) {
      const res = await send(guarded.socket, { method: 'POST', target: '/volumes/create', body: sent })
      expect(res.status, res.body.toString()).toBe(201)
      expect((await call(engineSocket, 'GET', `/volumes/${name}`)).json.Name).toBe(name)
    }
  })

  test('exec with Privileged:true: the engine makes a privileged exec (direct); dockgate refuses it in any spelling, and no exec is made', async () => {
    const direct = await call(engineSocket, 'POST', `/containers/${sleeper}/exec`, { Privileged: true, Cmd: ['id'] })
    expect(direct.status, direct.text).toBe(201)
    const exec = await call(engineSocket, 'GET', `/exec/${direct.json.Id}/json`)
    expect(exec.json.ProcessConfig.privileged).toBe(true)

    const before = await snapshot(engineSocket)
    const execIds = (await inspectContainer(engineSocket, sleeper)).ExecIDs
    for (const sent of ['{"Privileged":true,"Cmd":["id"]}', '{"privileged":true,"cmd":["id"]}', String.raw`{"\u0050rivileged":true,"Cmd":["id"]}`]) {
      expectRefusal(await send(operator.socket, { method: 'POST', target: `/containers/${sleeper}/exec`, body: sent }), 403, 'DG_DENY_BODY', [
        'ContainerExec denied by policy "container-operator": ',
        violation('Privileged', 'true', 'exec.privileged'),
      ])
    }
    expectRefusal(await send(operator.socket, { method: 'POST', target: `/containers/${sleeper}/exec`, body: '{"Privileged":false,"privileged":true,"Cmd":["id"]}' }), 400, 'DG_REQ_BAD_BODY', ['duplicate key "privileged" (same as "Privileged")'])
    await expectEngineUntouched(before)
    expect((await inspectContainer(engineSocket, sleeper)).ExecIDs).toEqual(execIds)
  })

  test('POST /images/create?fromSrc=<URL> is refused before the engine is contacted (it would fetch the URL)', async () => {
    const before = await snapshot(engineSocket)
    for (const src of ['http://127.0.0.1:9/x', 'http%3A%2F%2F127.0.0.1%3A9%2Fx', '127.0.0.1:9/x']) {
      const res = await send(operator.socket, { method: 'POST', target: `/images/create?fromSrc=${src}&repo=${PREFIX}import&tag=x` })
      expectRefusal(res, 403, 'DG_DENY_BODY', ['ImageCreate denied by policy "container-operator": ', 'query.fromSrc=', ' makes the engine fetch a URL (needs guards.images.from_src) (guard image.from_src; it is false in this policy)'])
    }
    await expectEngineUntouched(before)
    expect(tap.blocked()).toEqual([])
    expect((await call(engineSocket, 'GET', `/images/${PREFIX}import:x/json`)).status).toBe(404)
  })

  test('POST /build with networkmode=host or remote= is refused before its context is read', async () => {
    const before = await snapshot(engineSocket)
    const context = tarOneFile('Dockerfile', 'FROM busybox:test\nRUN true\n')
    const build = (query: string): WireRequest => ({ method: 'POST', target: `/build?t=${PREFIX}built&${query}`, body: context, headers: [['Content-Type', 'application/x-tar']] })
    expectRefusal(await send(guarded.socket, build('networkmode=host')), 403, 'DG_DENY_BODY', [violation('query.networkmode', '"host"', 'build.network_mode')])
    expectRefusal(await send(guarded.socket, build(`networkmode=container:${sleeper}`)), 403, 'DG_DENY_BODY', [violation('query.networkmode', `"container:${sleeper}"`, 'build.network_mode')])
    expectRefusal(await send(guarded.socket, { method: 'POST', target: `/build?t=${PREFIX}built&remote=http%3A%2F%2F127.0.0.1%3A9%2Fctx.tar` }), 403, 'DG_DENY_BODY', [violation('query.remote', '"http://127.0.0.1:9/ctx.tar"', 'build.remote')])
    expectRefusal(await send(operator.socket, build('networkmode=host')), 403, 'DG_DENY_OPERATION', ['dockgate: POST /build (ImageBuild) is not allowed by policy "container-operator" [DG_DENY_OPERATION]; to allow it add "ImageBuild" to an allow: list in a policy that extends container-operator (presets with it: ci)'])
    await expectEngineUntouched(before)
    expect(tap.blocked()).toEqual([])
    expect((await call(engineSocket, 'GET', `/images/${PREFIX}built/json`)).status).toBe(404)
  })

  test('POST /build applies the undocumented ulimits= to its RUN steps (direct: ulimit -n is 1234); dockgate refuses ulimits= and cgroupparent= outside the container rules', async () => {
    const context = tarOneFile('Dockerfile', `FROM ${BUSYBOX_IMAGE}\nRUN echo "nofile=$(ulimit -n)"\n`)
    const ulimits = encodeURIComponent('[{"Name":"nofile","Soft":1234,"Hard":1234}]')
    const tag = `${PREFIX}ulimits:x`
    const direct = await send(engineSocket, { method: 'POST', target: `/build?t=${tag}&nocache=1&networkmode=none&ulimits=${ulimits}`, body: context, headers: [['Content-Type', 'application/x-tar']] })
    expect(direct.status).toBe(200)
    expect(direct.body.toString()).toContain('nofile=1234')
    expect((await call(engineSocket, 'DELETE', `/images/${tag}`)).status).toBe(200)

    const before = await snapshot(engineSocket)
    const build = (query: string): WireRequest => ({ method: 'POST', target: `/build?t=${tag}&networkmode=none&${query}`, body: context, headers: [['Content-Type', 'application/x-tar']] })
    expectRefusal(await send(guarded.socket, build(`ulimits=${ulimits}`)), 403, 'DG_DENY_BODY', [
      `ImageBuild denied by policy "${guardedPolicy.name}": `,
      violation('query.ulimits[0].Name', '"nofile"', 'container.ulimits'),
    ])
    expectRefusal(await send(guarded.socket, build(`cgroupparent=%2F${PREFIX}build`)), 403, 'DG_DENY_BODY', [violation('query.cgroupparent', `"/${PREFIX}build"`, 'container.cgroup_parent')])
    await expectEngineUntouched(before)
    expect((await call(engineSocket, 'GET', `/images/${tag}/json`)).status).toBe(404)
  })

  test('a form-encoded body (the engine would read fromSrc from it, ahead of the checked query) is refused', async () => {
    const before = await snapshot(engineSocket)
    const res = await send(operator.socket, {
      method: 'POST', target: `/images/create?fromSrc=-&repo=${PREFIX}form`,
      headers: [['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8']], body: 'fromSrc=http%3A%2F%2F127.0.0.1%3A9%2Fx',
    })
    expectRefusal(res, 400, 'DG_REQ_FORM_BODY', ['request bodies are refused'])
    await expectEngineUntouched(before)
  })

  test('POST /plugins/pull, POST /swarm/init and POST /swarm/join are refused; no plugin, no swarm', async () => {
    const before = await snapshot(engineSocket)
    expect(before.swarm).toBe('inactive')
    expectRefusal(await send(guarded.socket, { method: 'POST', target: `/plugins/pull?remote=vieux/sshfs:latest&name=${PREFIX}sshfs`, body: '[]' }), 403, 'DG_DENY_BODY', [
      `PluginPull denied by policy "${guardedPolicy.name}": `,
      violation('query.remote', '"vieux/sshfs:latest"', 'plugin.allow'),
    ])
    expectRefusal(await send(guarded.socket, { method: 'POST', target: '/swarm/init', body: '{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1:2377"}' }), 403, 'DG_DENY_BODY', [violation('operation', '"SwarmInit"', 'swarm.allow')])
    expectRefusal(await send(guarded.socket, { method: 'POST', target: '/swarm/join', body: '{"ListenAddr":"127.0.0.1:2377","RemoteAddrs":["127.0.0.1:9"],"JoinToken":"x"}' }), 403, 'DG_DENY_BODY', [violation('operation', '"SwarmJoin"', 'swarm.allow')])
    expectRefusal(await send(operator.socket, { method: 'POST', target: '/plugins/pull?remote=vieux/sshfs:latest', body: '[]' }), 403, 'DG_DENY_OPERATION', ['PluginPull'])
    await expectEngineUntouched(before)
    expect(tap.blocked()).toEqual([])
  })

  test('PUT /containers/{id}/archive: the engine writes the file (direct); dockgate refuses it and the file is not there', async () => {
    const direct = await send(engineSocket, { method: 'PUT', target: `/containers/${sleeper}/archive?path=/tmp`, body: tarOneFile(`${PREFIX}direct`, 'x'), headers: [['Content-Type', 'application/x-tar']] })
    expect(direct.status, direct.body.toString()).toBe(200)
    expect((await call(engineSocket, 'HEAD', `/containers/${sleeper}/archive?path=/tmp/${PREFIX}direct`)).status).toBe(200)

    const before = await snapshot(engineSocket)
    const put = (): WireRequest => ({ method: 'PUT', target: `/containers/${sleeper}/archive?path=/tmp`, body: tarOneFile(`${PREFIX}planted`, 'x'), headers: [['Content-Type', 'application/x-tar']] })
    expectRefusal(await send(guarded.socket, put()), 403, 'DG_DENY_BODY', [violation('query.path', '"/tmp"', 'archive.write')])
    expectRefusal(await send(operator.socket, put()), 403, 'DG_DENY_OPERATION', ['PutContainerArchive'])
    await expectEngineUntouched(before)
    expect((await call(engineSocket, 'HEAD', `/containers/${sleeper}/archive?path=/tmp/${PREFIX}planted`)).status).toBe(404)
  })

  test('POST /networks/create with the macvlan driver is refused (driver and parent named); no network is made', async () => {
    const before = await snapshot(engineSocket)
    const sent = `{"Name":"${PREFIX}macvlan","Driver":"macvlan","Options":{"parent":"eth0"}}`
    expectRefusal(await send(guarded.socket, { method: 'POST', target: '/networks/create', body: sent }), 403, 'DG_DENY_BODY', [
      violation('Driver', '"macvlan"', 'network.driver'),
      violation('Options["parent"]', '"eth0"', 'network.parent'),
    ])
    expectRefusal(await send(guarded.socket, { method: 'POST', target: '/networks/create', body: `{"name":"${PREFIX}ipvlan","driver":"ipvlan"}` }), 403, 'DG_DENY_BODY', [violation('Driver', '"ipvlan"', 'network.driver')])
    expectRefusal(await send(operator.socket, { method: 'POST', target: '/networks/create', body: sent }), 403, 'DG_DENY_OPERATION', ['NetworkCreate'])
    await expectEngineUntouched(before)
  })
})

// ---------------------------------------------------------------------------------------------
// Loosenings: exactly the allowed thing reaches the engine, one step outside is still refused
// ---------------------------------------------------------------------------------------------

interface Loosening {
  readonly name: string
  /** The policy's `guards:` section (written as JSON, which YAML reads). */
  readonly guards: () => Record<string, unknown>
  readonly allowed: ReadonlyArray<{
    readonly what: string
    readonly body: () => string
    readonly check: (c: EngineJson) => void | Promise<void>
    /** What reaches the engine when it differs from what was sent (references by full id). */
    readonly forwarded?: () => Promise<string>
  }>
  readonly refused: ReadonlyArray<{ readonly what: string; readonly body: () => string; readonly mentions: () => readonly Mention[] }>
}

const LOOSENINGS: Loosening[] = [
  {
    name: 'container.binds: a path glob, read-only only',
    guards: () => ({ container: { binds: [{ path: `${dir}/allowed/**`, read_only: true }] } }),
    allowed: [
      {
        what: 'Binds <allowed>/data:/data:ro',
        body: () => hc(`"Binds":["${dir}/allowed/data:/data:ro"]`),
        check: (c) => {
          expect(c.HostConfig.Binds).toEqual([`${dir}/allowed/data:/data:ro`])
          expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: `${dir}/allowed/data`, Destination: '/data', RW: false })])
        },
      },
      {
        what: 'Mounts bind <allowed>/data, ReadOnly',
        body: () => hc(`"Mounts":[{"Type":"bind","Source":"${dir}/allowed/data","Target":"/data","ReadOnly":true}]`),
        check: (c) => expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: `${dir}/allowed/data`, RW: false })]),
      },
    ],
    refused: [
      { what: 'the same path without :ro', body: () => hc(`"Binds":["${dir}/allowed/data:/data"]`), mentions: () => [`HostConfig.Binds[0]="${dir}/allowed/data:/data" mounts host path ${dir}/allowed/data writable, which guards.container.binds allows only read-only (guard container.binds; allowed now: ${dir}/allowed/** read-only)`] },
      { what: 'the same path with :ro,rw', body: () => hc(`"Binds":["${dir}/allowed/data:/data:ro,rw"]`), mentions: () => [`HostConfig.Binds[0]="${dir}/allowed/data:/data:ro,rw" mounts host path ${dir}/allowed/data writable, which guards.container.binds allows only read-only (guard container.binds; allowed now: ${dir}/allowed/** read-only)`] },
      { what: 'Mounts bind without ReadOnly', body: () => hc(`"Mounts":[{"Type":"bind","Source":"${dir}/allowed/data","Target":"/data"}]`), mentions: () => [violation('HostConfig.Mounts[0].Source', `"${dir}/allowed/data"`, 'container.binds')] },
      { what: 'a sibling directory with the same prefix', body: () => hc(`"Binds":["${dir}/allowedx:/data:ro"]`), mentions: () => [`HostConfig.Binds[0]="${dir}/allowedx:/data:ro" mounts host path ${dir}/allowedx, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: ${dir}/allowed/** read-only)`] },
      { what: '.. out of the allowed tree', body: () => hc(`"Binds":["${dir}/allowed/../volsrc:/data:ro"]`), mentions: () => [`HostConfig.Binds[0]="${dir}/allowed/../volsrc:/data:ro" names a host path that contains a ".." segment (guard container.binds)`] },
      { what: '/ read-only', body: () => hc('"Binds":["/:/host:ro"]'), mentions: () => [`HostConfig.Binds[0]="/:/host:ro" mounts host path /, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: ${dir}/allowed/** read-only)`] },
    ],
  },
  {
    name: 'container.capabilities: [NET_BIND_SERVICE]',
    guards: () => ({ container: { capabilities: ['NET_BIND_SERVICE'] } }),
    allowed: [
      { what: 'CapAdd NET_BIND_SERVICE', body: () => hc('"CapAdd":["NET_BIND_SERVICE"]'), check: (c) => expect(c.HostConfig.CapAdd).toEqual(['NET_BIND_SERVICE']) },
      { what: 'CapAdd cap_net_bind_service', body: () => hc('"CapAdd":["cap_net_bind_service"]'), check: (c) => expect(c.HostConfig.CapAdd).toEqual(['cap_net_bind_service']) },
    ],
    refused: [
      { what: 'CapAdd NET_RAW', body: () => hc('"CapAdd":["NET_RAW"]'), mentions: () => [violation('HostConfig.CapAdd[0]', '"NET_RAW"', 'container.capabilities')] },
      { what: 'CapAdd NET_ADMIN next to NET_BIND_SERVICE', body: () => hc('"CapAdd":["NET_BIND_SERVICE","NET_ADMIN"]'), mentions: () => [violation('HostConfig.CapAdd[1]', '"NET_ADMIN"', 'container.capabilities')] },
      { what: 'CapAdd ALL', body: () => hc('"CapAdd":["ALL"]'), mentions: () => [violation('HostConfig.CapAdd[0]', '"ALL"', 'container.capabilities')] },
    ],
  },
  {
    name: 'container.namespaces.network: [host]',
    guards: () => ({ container: { namespaces: { network: ['host'] } } }),
    allowed: [{ what: 'NetworkMode host', body: () => hcOnly('"NetworkMode":"host"'), check: (c) => expect(c.HostConfig.NetworkMode).toBe('host') }],
    refused: [
      { what: 'NetworkMode container:<id>', body: () => hcOnly(`"NetworkMode":"container:${sleeper}"`), mentions: () => [`HostConfig.NetworkMode="container:${sleeper}" is not in guards.container.namespaces.network (guard container.namespaces; allowed now: host)`] },
      { what: 'NetworkMode host with PidMode host', body: () => hcOnly('"NetworkMode":"host","PidMode":"host"'), mentions: () => ['HostConfig.PidMode="host" is not in guards.container.namespaces.pid (guard container.namespaces; allowed now: none)'] },
      { what: 'UTSMode host', body: () => hc('"UTSMode":"host"'), mentions: () => [violation('HostConfig.UTSMode', '"host"', 'container.namespaces')] },
    ],
  },
  {
    name: 'container.devices: [/dev/zero]',
    guards: () => ({ container: { devices: ['/dev/zero'] } }),
    allowed: [{
      what: 'Devices /dev/zero',
      body: () => hc('"Devices":[{"PathOnHost":"/dev/zero","PathInContainer":"/dev/z","CgroupPermissions":"rw"}]'),
      check: (c) => expect(c.HostConfig.Devices).toEqual([{ PathOnHost: '/dev/zero', PathInContainer: '/dev/z', CgroupPermissions: 'rw' }]),
    }],
    refused: [
      { what: 'Devices /dev/mem', body: () => hc('"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/z","CgroupPermissions":"rw"}]'), mentions: () => [violation('HostConfig.Devices[0].PathOnHost', '"/dev/mem"', 'container.devices')] },
      { what: 'Devices /dev/../dev/zero', body: () => hc('"Devices":[{"PathOnHost":"/dev/../dev/zero","PathInContainer":"/dev/z","CgroupPermissions":"rw"}]'), mentions: () => ['HostConfig.Devices[0].PathOnHost="/dev/../dev/zero" names a host path that contains a ".." segment (guard container.devices)'] },
      { what: 'a device cgroup rule for it', body: () => hc('"DeviceCgroupRules":["c 1:5 rwm"]'), mentions: () => [violation('HostConfig.DeviceCgroupRules[0]', '"c 1:5 rwm"', 'container.device_cgroup_rules')] },
    ],
  },
  {
    name: 'container.device_cgroup_rules: ["c 1:5 rwm"]',
    guards: () => ({ container: { device_cgroup_rules: ['c 1:5 rwm'] } }),
    allowed: [{ what: 'DeviceCgroupRules c 1:5 rwm', body: () => hc('"DeviceCgroupRules":["c 1:5 rwm"]'), check: (c) => expect(c.HostConfig.DeviceCgroupRules).toEqual(['c 1:5 rwm']) }],
    refused: [
      { what: 'c 1:1 rwm (/dev/mem)', body: () => hc('"DeviceCgroupRules":["c 1:1 rwm"]'), mentions: () => [violation('HostConfig.DeviceCgroupRules[0]', '"c 1:1 rwm"', 'container.device_cgroup_rules')] },
      { what: 'a *:* rwm', body: () => hc('"DeviceCgroupRules":["a *:* rwm"]'), mentions: () => [violation('HostConfig.DeviceCgroupRules[0]', '"a *:* rwm"', 'container.device_cgroup_rules')] },
    ],
  },
  {
    name: 'container.sysctls: [net.ipv4.ip_unprivileged_port_start]',
    guards: () => ({ container: { sysctls: ['net.ipv4.ip_unprivileged_port_start'] } }),
    allowed: [{ what: 'that sysctl', body: () => hc('"Sysctls":{"net.ipv4.ip_unprivileged_port_start":"80"}'), check: (c) => expect(c.HostConfig.Sysctls).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '80' }) }],
    refused: [
      { what: 'net.ipv4.ip_forward', body: () => hc('"Sysctls":{"net.ipv4.ip_forward":"1"}'), mentions: () => [violation('HostConfig.Sysctls["net.ipv4.ip_forward"]', '"1"', 'container.sysctls')] },
      { what: 'the slash form of the allowed one', body: () => hc('"Sysctls":{"net/ipv4/ip_unprivileged_port_start":"80"}'), mentions: () => ['HostConfig.Sysctls["net/ipv4/ip_unprivileged_port_start"]="80" names the sysctl with slashes; write it in dotted form (net.ipv4.ip_forward) (guard container.sysctls)'] },
    ],
  },
  {
    name: 'container.runtimes: [runc, io.containerd.runc.v2]',
    guards: () => ({ container: { runtimes: ['runc', 'io.containerd.runc.v2'] } }),
    allowed: [{ what: 'Runtime io.containerd.runc.v2', body: () => hc('"Runtime":"io.containerd.runc.v2"'), check: (c) => expect(c.HostConfig.Runtime).toBe('io.containerd.runc.v2') }],
    refused: [{ what: 'Runtime io.containerd.runtime.v1.linux', body: () => hc('"Runtime":"io.containerd.runtime.v1.linux"'), mentions: () => [violation('HostConfig.Runtime', '"io.containerd.runtime.v1.linux"', 'container.runtime')] }],
  },
  {
    name: 'container.security_opt: [seccomp=unconfined]',
    guards: () => ({ container: { security_opt: ['seccomp=unconfined'] } }),
    allowed: [
      { what: 'seccomp=unconfined', body: () => hc('"SecurityOpt":["seccomp=unconfined"]'), check: (c) => expect(c.HostConfig.SecurityOpt).toEqual(['seccomp=unconfined']) },
      { what: 'seccomp:unconfined (the same option, old spelling)', body: () => hc('"SecurityOpt":["seccomp:unconfined"]'), check: (c) => expect(c.HostConfig.SecurityOpt).toEqual(['seccomp:unconfined']) },
    ],
    refused: [
      { what: 'apparmor=unconfined', body: () => hc('"SecurityOpt":["apparmor=unconfined"]'), mentions: () => [violation('HostConfig.SecurityOpt[0]', '"apparmor=unconfined"', 'container.security_opt')] },
      { what: 'empty MaskedPaths (needs systempaths=unconfined)', body: () => hc('"SecurityOpt":["seccomp=unconfined"],"MaskedPaths":[]'), mentions: () => [violation('HostConfig.MaskedPaths', '[]', 'container.system_paths')] },
    ],
  },
  {
    name: 'container.cgroup_parents: [dg-ge-*]',
    guards: () => ({ container: { cgroup_parents: [`${PREFIX}*`] } }),
    allowed: [{ what: `CgroupParent ${PREFIX}parent`, body: () => hc(`"CgroupParent":"${PREFIX}parent"`), check: (c) => expect(c.HostConfig.CgroupParent).toBe(`${PREFIX}parent`) }],
    refused: [{ what: 'CgroupParent /', body: () => hc('"CgroupParent":"/"'), mentions: () => [violation('HostConfig.CgroupParent', '"/"', 'container.cgroup_parent')] }],
  },
  {
    name: 'container.privileged: true',
    guards: () => ({ container: { privileged: true } }),
    allowed: [{ what: 'Privileged (created, not started)', body: () => hc('"Privileged":true'), check: (c) => expect(c.HostConfig.Privileged).toBe(true) }],
    refused: [{ what: 'Privileged with PidMode host', body: () => hc('"Privileged":true,"PidMode":"host"'), mentions: () => [violation('HostConfig.PidMode', '"host"', 'container.namespaces')] }],
  },
  {
    // Inheriting mounts is mounting them: the source's host bind must be allowed as a bind too,
    // read-only here, which `:ro` gives. The engine gets the source by its full id.
    name: 'volumes_from: [bind source] + its bind read-only',
    guards: () => ({ container: { volumes_from: [BIND_SOURCE], binds: [{ path: join(dir, 'volsrc'), read_only: true }] } }),
    allowed: [{
      what: 'VolumesFrom it, read-only',
      body: () => hc(`"VolumesFrom":["${BIND_SOURCE}:ro"]`),
      forwarded: async () => hc(`"VolumesFrom":["${(await inspectContainer(engineSocket, BIND_SOURCE)).Id}:ro"]`),
      check: (c) => expect(c.Mounts).toEqual([expect.objectContaining({ Source: join(dir, 'volsrc'), RW: false })]),
    }],
    refused: [
      { what: 'VolumesFrom another container', body: () => hc(`"VolumesFrom":["${PREFIX}sleeper"]`), mentions: () => [violation('HostConfig.VolumesFrom[0]', `"${PREFIX}sleeper"`, 'container.volumes_from')] },
      { what: 'VolumesFrom it, writable (its bind is allowed read-only only)', body: () => hc(`"VolumesFrom":["${BIND_SOURCE}"]`), mentions: () => [`HostConfig.VolumesFrom[0] (container ${BIND_SOURCE}: Mounts[0].Source)="${join(dir, 'volsrc')}" mounts host path ${join(dir, 'volsrc')} writable, which guards.container.binds allows only read-only (guard container.binds; allowed now: ${join(dir, 'volsrc')} read-only)`] },
    ],
  },
  {
    name: 'volumes_from: [bind source, plain] alone',
    guards: () => ({ container: { volumes_from: [BIND_SOURCE, `${PREFIX}sleeper`] } }),
    allowed: [{
      what: 'VolumesFrom the plain container (no host mounts)',
      body: () => hc(`"VolumesFrom":["${PREFIX}sleeper"]`),
      forwarded: async () => hc(`"VolumesFrom":["${(await inspectContainer(engineSocket, `${PREFIX}sleeper`)).Id}"]`),
      check: (c) => expect(c.HostConfig.VolumesFrom).toHaveLength(1),
    }],
    refused: [{ what: 'VolumesFrom it: its host bind is not allowed', body: () => hc(`"VolumesFrom":["${BIND_SOURCE}:ro"]`), mentions: () => [`="${join(dir, 'volsrc')}" mounts host path ${join(dir, 'volsrc')}, which is not in guards.container.binds, even read-only (guard container.binds; allowed now: no host paths)`] }],
  },
  {
    name: 'container.images: [busybox:*]',
    guards: () => ({ container: { images: ['busybox:*'] } }),
    allowed: [{ what: BUSYBOX_IMAGE, body: () => hc('"AutoRemove":false'), check: (c) => expect(c.Config.Image).toBe(BUSYBOX_IMAGE) }],
    refused: [{ what: BIG_IMAGE, body: () => `{"Image":"${BIG_IMAGE}","HostConfig":{"NetworkMode":"none"}}`, mentions: () => [`Image="${BIG_IMAGE}" is not in guards.container.images (guard container.image; allowed now: busybox:*)`] }],
  },
  {
    name: 'container.ulimits: [nofile]',
    guards: () => ({ container: { ulimits: ['nofile'] } }),
    allowed: [{ what: 'Ulimits nofile', body: () => hc('"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}]'), check: (c) => expect(c.HostConfig.Ulimits).toEqual([{ Name: 'nofile', Soft: 1024, Hard: 2048 }]) }],
    refused: [{ what: 'Ulimits rtprio', body: () => hc('"Ulimits":[{"Name":"rtprio","Soft":99,"Hard":99}]'), mentions: () => [violation('HostConfig.Ulimits[0].Name', '"rtprio"', 'container.ulimits')] }],
  },
  {
    name: 'container.group_add: ["1000"]',
    guards: () => ({ container: { group_add: ['1000'] } }),
    allowed: [{ what: 'GroupAdd 1000', body: () => hc('"GroupAdd":["1000"]'), check: (c) => expect(c.HostConfig.GroupAdd).toEqual(['1000']) }],
    refused: [{ what: 'GroupAdd 0', body: () => hc('"GroupAdd":["0"]'), mentions: () => [violation('HostConfig.GroupAdd[0]', '"0"', 'container.group_add')] }],
  },
  {
    name: 'container.oom_score_adj_min: -500',
    guards: () => ({ container: { oom_score_adj_min: -500 } }),
    allowed: [{ what: 'OomScoreAdj -500', body: () => hc('"OomScoreAdj":-500'), check: (c) => expect(c.HostConfig.OomScoreAdj).toBe(-500) }],
    refused: [{ what: 'OomScoreAdj -501', body: () => hc('"OomScoreAdj":-501'), mentions: () => [violation('HostConfig.OomScoreAdj', '-501', 'container.oom_score_adj')] }],
  },
  {
    name: 'volumes.bind_options: true',
    guards: () => ({ volumes: { bind_options: true } }),
    allowed: [{
      what: 'a local volume binding a host directory',
      body: () => hc(`"Mounts":[{"Type":"volume","Source":"${PREFIX}lbind","Target":"/data","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"${dir}/volsrc"}}}}]`),
      check: async (c) => {
        expect(c.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: `${PREFIX}lbind`, Driver: 'local' })])
        expect((await call(engineSocket, 'GET', `/volumes/${PREFIX}lbind`)).json.Options).toEqual({ type: 'none', o: 'bind', device: `${dir}/volsrc` })
      },
    }],
    refused: [
      {
        what: 'a local volume of type ext4 (local_types)',
        body: () => hc(`"Mounts":[{"Type":"volume","Source":"${PREFIX}lext4","Target":"/data","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"ext4","device":"/dev/zero"}}}}]`),
        mentions: () => [violation('HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options["type"]', '"ext4"', 'volume.options')],
      },
      {
        what: 'the same bind through another volume driver',
        body: () => hc(`"Mounts":[{"Type":"volume","Source":"${PREFIX}lother","Target":"/data","VolumeOptions":{"DriverConfig":{"Name":"other","Options":{"type":"none","o":"bind","device":"/"}}}}]`),
        mentions: () => [violation('HostConfig.Mounts[0].VolumeOptions.DriverConfig.Name', '"other"', 'volume.driver')],
      },
      { what: 'a Binds host path (container.binds is a different key)', body: () => hc(`"Binds":["${dir}/volsrc:/data"]`), mentions: () => [`HostConfig.Binds[0]="${dir}/volsrc:/data" mounts host path ${dir}/volsrc, which is not in guards.container.binds (guard container.binds; allowed now: no host paths)`] },
    ],
  },
]

describe.each(LOOSENINGS)('loosening $name', (l) => {
  let proxy: TestProxy
  let loosened: CompiledPolicy

  beforeAll(async () => {
    mkdirSync(join(dir, 'allowed', 'data'), { recursive: true })
    const slug = l.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()
    loosened = policy(`dg-loose-${slug}`, `description: container-operator loosened by one key\nextends: [container-operator]\nguards: ${JSON.stringify(l.guards())}\n`)
    proxy = await startProxy({ policy: loosened, engineSocket: tap.socket })
  })
  afterAll(async () => {
    await proxy?.close()
  })

  test.each(l.allowed)('allowed: $what reaches the engine as sent', async (a) => {
    const name = fresh('loose')
    const sent = a.body()
    const res = await send(proxy.socket, createRequest(name, sent))
    expect(res.status, res.body.toString()).toBe(201)
    const forwarded = clientRequests()
    expect(forwarded).toHaveLength(1)
    expect(forwarded[0]!.body.toString()).toBe(a.forwarded === undefined ? sent : await a.forwarded())
    await a.check(await inspectContainer(engineSocket, name))
  })

  test.each(l.refused)('one step outside: $what is refused', async (r) => {
    const before = await snapshot(engineSocket)
    const name = fresh('loose')
    expectRefusal(await send(proxy.socket, createRequest(name, r.body())), 403, 'DG_DENY_BODY', [`ContainerCreate denied by policy "${loosened.name}": `, ...r.mentions()])
    await expectEngineUntouched(before)
  })
})

describe('loosening exec', () => {
  let users: TestProxy
  let privileged: TestProxy
  beforeAll(async () => {
    users = await startProxy({ policy: policy('dg-loose-exec-users', 'extends: [container-operator]\nguards: { exec: { users: ["1000", "1000:1000"] } }\n'), engineSocket: tap.socket })
    privileged = await startProxy({ policy: policy('dg-loose-exec-privileged', 'extends: [container-operator]\nguards: { exec: { privileged: true } }\n'), engineSocket: tap.socket })
  })
  afterAll(async () => {
    await users?.close()
    await privileged?.close()
  })

  test('exec.users [1000, 1000:1000]: User 1000 reaches the engine; 0, root, 00 and the default user are refused', async () => {
    const ok = await send(users.socket, { method: 'POST', target: `/containers/${sleeper}/exec`, body: '{"User":"1000","Cmd":["id"]}' })
    expect(ok.status, ok.body.toString()).toBe(201)
    expect((await call(engineSocket, 'GET', `/exec/${(ok.json() as { Id: string }).Id}/json`)).json.ProcessConfig.user).toBe('1000')
    tap.clear()
    const before = await snapshot(engineSocket)
    for (const [sent, value] of [['{"User":"0","Cmd":["id"]}', '"0"'], ['{"user":"root","Cmd":["id"]}', '"root"'], ['{"User":"00","Cmd":["id"]}', '"00"'], ['{"Cmd":["id"]}', '""']] as const) {
      expectRefusal(await send(users.socket, { method: 'POST', target: `/containers/${sleeper}/exec`, body: sent }), 403, 'DG_DENY_BODY', [violation('User', value, 'exec.user')])
    }
    await expectEngineUntouched(before)
  })

  test('exec.privileged: a privileged exec reaches the engine (not started); a privileged container is still refused', async () => {
    const ok = await send(privileged.socket, { method: 'POST', target: `/containers/${sleeper}/exec`, body: '{"Privileged":true,"Cmd":["id"]}' })
    expect(ok.status, ok.body.toString()).toBe(201)
    expect((await call(engineSocket, 'GET', `/exec/${(ok.json() as { Id: string }).Id}/json`)).json.ProcessConfig.privileged).toBe(true)
    tap.clear()
    const before = await snapshot(engineSocket)
    expectRefusal(await send(privileged.socket, createRequest(fresh('loose'), PRIVILEGED)), 403, 'DG_DENY_BODY', DENY_PRIVILEGED)
    await expectEngineUntouched(before)
  })
})

// ---------------------------------------------------------------------------------------------
// Investigations (issue 3 helper brief, item 3): what the engine does where the guards cannot see
// ---------------------------------------------------------------------------------------------

describe('engine behaviour the guards rely on', () => {
  /** Runs `sh -c script` with a TTY in a created container and returns what it printed. */
  async function run(socket: string, name: string, hostConfig: Record<string, unknown>, script: string): Promise<{ code: number; output: string; inspect: EngineJson }> {
    const res = await send(socket, createRequest(name, JSON.stringify({ Image: BUSYBOX_IMAGE, Tty: true, Cmd: ['sh', '-c', script], HostConfig: hostConfig })))
    expect(res.status, res.body.toString()).toBe(201)
    const id = (res.json() as { Id: string }).Id
    const started = await send(socket, { method: 'POST', target: `/containers/${id}/start` })
    expect(started.status, started.body.toString()).toBe(204)
    const out = await waitOutput(engineSocket, id)
    return { ...out, inspect: await inspectContainer(engineSocket, id) }
  }
  // One name per line: with a TTY, ls prints columns, whose order depends on how many interfaces
  // the host has.
  const SCRIPT = 'ls -1 /sys/class/net; busybox readlink /proc/self/ns/net'
  const words = (s: string): string[] => s.split(/\s+/).filter((w) => w !== '')

  test('NetworkMode = the id of the host network passes the guard, and the engine gives the container its own network namespace (only lo), not the host\'s', async () => {
    const hostNet = await call(engineSocket, 'GET', '/networks/host')
    expect(hostNet.json.Driver).toBe('host')
    const hostId = hostNet.json.Id as string
    const hostNs = readlinkSync('/proc/self/ns/net')
    const hostIfaces = readdirSync('/sys/class/net').sort()
    expect(hostIfaces.length).toBeGreaterThan(1)

    // Control, on the engine directly: NetworkMode "host" shares the host's namespace.
    const control = await run(engineSocket, fresh('hostnet'), { NetworkMode: 'host' }, SCRIPT)
    expect(control.code).toBe(0)
    expect(words(control.output)).toEqual([...hostIfaces, hostNs])

    for (const ref of [hostId, hostId.slice(0, 12)]) {
      const through = await run(operator.socket, fresh('hostid'), { NetworkMode: ref }, SCRIPT)
      expect(through.code).toBe(0)
      const [iface, ns, ...rest] = words(through.output)
      expect(rest).toEqual([])
      expect(iface).toBe('lo')
      expect(ns).toMatch(/^net:\[\d+\]$/)
      expect(ns).not.toBe(hostNs)
      // The engine does attach an endpoint on the host network object, in the container's own
      // namespace. Engine difference: 20.10 keeps the reference as given, 26.1 stores the full id.
      expect(through.inspect.HostConfig.NetworkMode).toBe(facts.networkModeById === 'as-given' ? ref : hostId)
      expect(Object.keys(through.inspect.NetworkSettings.Networks)).toEqual(['host'])
    }
  })

  test('the engine follows a symlink planted inside a bind source: a later bind of <plant>/root mounts the host\'s / (a path glob cannot see this)', async () => {
    const plant = join(dir, 'plant')
    mkdirSync(plant)
    const a = await run(engineSocket, fresh('plant'), { NetworkMode: 'none', Binds: [`${plant}:/plant`] }, 'busybox ln -s / /plant/root')
    expect(a.code).toBe(0)
    expect(lstatSync(join(plant, 'root')).isSymbolicLink()).toBe(true)
    expect(readlinkSync(join(plant, 'root'))).toBe('/')
    const b = await run(engineSocket, fresh('follow'), { NetworkMode: 'none', Binds: [`${plant}/root:/host:ro`] }, `ls /host${dir}`)
    expect(b.code).toBe(0)
    expect(words(b.output)).toContain('plant')
    expect(b.inspect.Mounts).toEqual([expect.objectContaining({ Source: `${plant}/root`, Destination: '/host', RW: false })])
  })
})
