/**
 * NetworkCreate (`POST /networks/create`): macvlan and ipvlan networks put containers directly on
 * a host interface's LAN (moby libnetwork drivers/macvlan, drivers/ipvlan); the driver must be in guards.networks.drivers
 * (default bridge, overlay), a `parent` interface option in guards.networks.parent, and
 * `ConfigFrom` (options and IPAM taken from a config-only network) needs
 * guards.networks.config_from.
 *
 * NetworkConnect / NetworkDisconnect: dockgate's own container may not be attached to a network
 * a client controls, nor cut off from its own.
 */
import { networkConnectReferences } from './references.js'
import type { JsonValue } from '../body/json-value.js'
import { mapKey } from './checks.js'
import { checkSelfRef, SELF_GUARD } from './self.js'
import { NETWORK_CONNECT, NETWORK_CREATE } from './shapes.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { bodyFields, Findings } from './values.js'

export function checkNetworkCreate(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const n = ctx.rules.networks
  const top = bodyFields(body, findings, 'network.body')
  if (top === undefined) return findings.list
  const driver = top.string('Driver', 'network.driver') ?? ''
  // An empty driver is the daemon's default, bridge.
  if (!n.drivers.matches(driver === '' ? 'bridge' : driver)) {
    findings.add('network.driver', 'Driver', driver, 'is not in guards.networks.drivers')
  }
  for (const [key, value] of top.map('Options', 'network.parent') ?? []) {
    if (key !== 'parent') continue
    if (typeof value !== 'string' || !n.parent.matches(value)) {
      findings.add('network.parent', mapKey('Options', key), value, 'is not in guards.networks.parent')
    }
  }
  const from = top.struct('ConfigFrom', 'network.config_from')
  const source = from?.string('Network', 'network.config_from')
  if (source !== undefined && source !== '' && !n.configFrom) {
    findings.add('network.config_from', 'ConfigFrom.Network', source, 'needs guards.networks.config_from')
  }
  return findings.list
}

export const networkCreateGuard: OperationGuard = {
  shape: NETWORK_CREATE,
  body: 'json',
  check: checkNetworkCreate,
}

export function checkNetworkConnect(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const top = bodyFields(body, findings, 'network.body')
  const container = top?.string('Container', SELF_GUARD)
  if (container !== undefined) checkSelfRef(findings, 'Container', container, ctx.self)
  return findings.list
}

export const networkConnectGuard: OperationGuard = {
  shape: NETWORK_CONNECT,
  body: 'json',
  check: checkNetworkConnect,
  references: networkConnectReferences,
}
