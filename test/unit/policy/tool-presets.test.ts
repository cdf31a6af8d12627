/**
 * Each tool preset replayed with its tool's calls through the steps `dockgate check` runs
 * (the admission steps of live traffic, offline: test/support/admit.ts): none may be refused. Then the calls no tool
 * needs: refused by the policy, or by a body guard where the preset opens the operation.
 * (Whether an exec, attach, start or archive reaches a given existing container is decided
 * against the engine, in the integration tests.)
 */
import { describe, expect, test } from 'vitest'
import { admitOffline } from '../../support/admit.js'
import { isDockgateError } from '../../../src/errors.js'
import { normalize } from '../../../src/normalize.js'
import { loadPolicy, type CompiledPolicy } from '../../../src/policy/compile.js'
import { decide } from '../../../src/policy/decide.js'
import { listPresets } from '../../../src/policy/presets.js'
import { fixture } from '../guards/helpers.js'
import {
  ciCalls, DANGEROUS, GUARD_REFUSALS, post, RECREATE_FROM_INSPECT, RECREATE_TRIPS, TOOL_CALLS, V, type Call,
} from './tool-calls.js'

type Outcome = { readonly allowed: true } | { readonly allowed: false; readonly code: string; readonly guards: readonly string[]; readonly message: string }

function replay(policy: CompiledPolicy, call: Call): Outcome {
  try {
    admitOffline(policy, call.method, call.target, call.body)
    return { allowed: true }
  } catch (err) {
    if (!isDockgateError(err)) throw err
    return { allowed: false, code: err.code, guards: (err.source.violations ?? []).map((v) => `${v.guard} ${v.field}`), message: err.message }
  }
}

const cache = new Map<string, CompiledPolicy>()
const policy = (name: string): CompiledPolicy => {
  let p = cache.get(name)
  if (p === undefined) cache.set(name, (p = loadPolicy(name)))
  return p
}

const CALLS: Readonly<Record<string, readonly Call[]>> = {
  ...TOOL_CALLS,
  ci: ciCalls(JSON.parse(fixture('cli28/container-create.run-plain.api141.json')) as unknown),
}
const TOOLS = Object.keys(CALLS).sort()

/**
 * Operations among DANGEROUS that a preset opens on purpose, because a documented feature of its
 * tool needs them (each preset's header says which). Guards and the target check still apply.
 */
const OPENED: Readonly<Record<string, readonly string[]>> = {
  ci: ['ExecStart', 'ContainerAttach', 'ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive', 'Session'],
  'watchtower-hooks': ['ExecStart'],
  'acme-companion': ['ExecStart'],
  'dozzle-shell': ['ExecStart', 'ContainerAttach'],
}

describe('tool presets', () => {
  test('every preset issue 8 names is shipped, and every tool preset has its calls here', () => {
    const named = ['traefik', 'traefik-swarm', 'portainer-read-only', 'homepage', 'watchtower', 'watchtower-monitor-only', 'dozzle',
      'diun', 'autoheal', 'nginx-proxy', 'acme-companion', 'uptime-kuma', 'netdata', 'crowdsec', 'prometheus', 'prometheus-swarm',
      'alloy', 'promtail', 'vector', 'fluent-bit', 'glance', 'homarr', 'wud', 'caddy-docker-proxy', 'beszel', 'cadvisor',
      'home-assistant', 'ci']
    expect(listPresets()).toEqual(expect.arrayContaining(named))
    const general = ['read-only', 'events-only', 'container-operator', 'full']
    expect(TOOLS).toEqual(listPresets().filter((p) => !general.includes(p)))
  })

  describe.each(TOOLS)('%s', (preset) => {
    test.each(CALLS[preset]!.map((c) => [`${c.method} ${c.target}`, c] as const))('lets through %s', (_name, call) => {
      expect(replay(policy(preset), call)).toEqual({ allowed: true })
    })

    test.each(DANGEROUS.map((c) => [`${c.method} ${c.target}`, c] as const))('refuses %s unless its tool needs it', (_name, call) => {
      const p = policy(preset)
      const api = normalize(call.method, call.target)
      const result = replay(p, call)
      if (!decide(p, api).allow) {
        expect(result).toMatchObject({ allowed: false, code: 'DG_DENY_OPERATION' })
      } else if (!(OPENED[preset] ?? []).includes(api.operation.id)) {
        // The preset allows the operation: a body guard must refuse this use of it.
        expect(result).toMatchObject({ allowed: false, code: 'DG_DENY_BODY' })
      } else {
        expect(result).toEqual({ allowed: true })
      }
    })
  })

  const refusals = Object.entries(GUARD_REFUSALS).flatMap(([preset, list]) => list.map((r) => [preset, `${r.method} ${r.target}`, r] as const))
  test.each(refusals)('%s refuses %s', (preset, _name, r) => {
    const result = replay(policy(preset), r)
    expect(result).toMatchObject({ allowed: false, code: r.code })
    if (r.guard !== undefined && !result.allowed) expect(result.guards.map((g) => g.split(' ')[0])).toContain(r.guard)
  })

  // Live, the re-create allowance (guards.container.recreate) admits this create after the removal
  // it follows (test/unit/recreate.test.ts, test/integration/recreate.test.ts); offline, as
  // `dockgate check` runs it, no removal is known and the create is judged as a new container.
  test.each(['watchtower', 'wud', 'dozzle-actions'])('%s: a plain container re-created from its inspect, with no removal known, trips exactly the engine-filled defaults', (preset) => {
    const path = preset === 'watchtower' ? '/v1.25/containers/create?name=web' : preset === 'wud' ? '/containers/create?name=web' : `${V}/containers/create?name=web`
    const result = replay(policy(preset), post(path, RECREATE_FROM_INSPECT))
    expect(result).toMatchObject({ allowed: false, code: 'DG_DENY_BODY', guards: RECREATE_TRIPS })
  })

  test('autoheal\'s unencoded filter is decided on as the engine reads it', () => {
    const api = normalize('GET', '/containers/json?filters={"health":["unhealthy"],"label":["autoheal=true"]}')
    expect(api.query.get('filters')).toBe('{"health":["unhealthy"],"label":["autoheal=true"]}')
  })
})
