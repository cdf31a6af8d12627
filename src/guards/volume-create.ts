/**
 * VolumeCreate (`POST /volumes/create`): a `local` volume with `type=none,o=bind,device=/` is a
 * bind mount of the host's root that any container can then mount by name (docs/engine-notes.md,
 * "Escalation paths"). Drivers must be in guards.volumes.drivers (default local);
 * local-driver options are checked by checkLocalDriverOptions. Options of another allowed driver
 * are that driver's business.
 */
import type { JsonValue } from '../body/json-value.js'
import type { Check } from './checks.js'
import { checkLocalDriverOptions, checkVolumeDriver } from './mounts.js'
import { VOLUME_CREATE } from './shapes.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { bodyFields, Findings } from './values.js'

export function checkVolumeCreate(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const c: Check = { findings, rules: ctx.rules, self: ctx.self }
  const top = bodyFields(body, findings, 'volume.body')
  if (top === undefined) return findings.list
  const driver = top.string('Driver', 'volume.driver') ?? ''
  checkVolumeDriver(c, 'Driver', driver)
  const options = top.map('DriverOpts', 'volume.options')
  if (options !== undefined && options.length > 0 && (driver === '' || driver === 'local')) {
    checkLocalDriverOptions(c, 'DriverOpts', options)
  }
  return findings.list
}

export const volumeCreateGuard: OperationGuard = {
  shape: VOLUME_CREATE,
  body: 'json',
  check: checkVolumeCreate,
}
