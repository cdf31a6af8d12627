/**
 * Everything that can put a host path into a container: `Binds` strings, `Mounts` (bind, volume
 * with driver options, image, tmpfs flags), local-driver volume options, `HostConfig.Tmpfs`,
 * `VolumeDriver` (docs/engine-notes.md, "Escalation paths").
 */
import type { JsonValue } from '../body/json-value.js'
import { mapKey, checkImage, type Check } from './checks.js'
import { isHostPath, normalizeHostPath } from './paths.js'
import type { Fields } from './values.js'

/**
 * Volume names (moby `daemon/names` RestrictedNamePattern, used by the local driver, asks for two
 * or more of these characters; other drivers may allow one): a relative path like `./etc` is not one.
 */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** Mount flags that turn a tmpfs or local-volume mount into a bind of some path. */
const BIND_FLAGS = new Set(['bind', 'rbind'])

/**
 * Ends the detail of a refused read-only bind, so that the refusal (and `dockgate learn`, which
 * reads it back from an audit record) can tell a read-only mount from a writable one when the
 * value is only the source (`Mounts[0].Source`).
 */
export const READ_ONLY_MOUNT = ', even read-only'

/**
 * A host path used as a bind source: refused unless a guards.container.binds rule matches the
 * normalised path, and, when every matching rule says read_only, the mount is read-only.
 */
export function checkHostPath(c: Check, field: string, value: JsonValue, source: string, readOnly: boolean): void {
  const path = normalizeHostPath(source)
  if (!path.ok) {
    c.findings.add('container.binds', field, value, `names a host path that ${path.problem}`)
    return
  }
  const matching = c.rules.container.binds.filter((b) => b.matches(path.path))
  if (matching.length === 0) {
    c.findings.add('container.binds', field, value, `mounts host path ${path.path}, which is not in guards.container.binds${readOnly ? READ_ONLY_MOUNT : ''}`)
  } else if (!readOnly && matching.every((b) => b.readOnly)) {
    c.findings.add('container.binds', field, value, `mounts host path ${path.path} writable, which guards.container.binds allows only read-only`)
  }
}

/**
 * `HostConfig.Binds`: `[source:]target[:mode]` (moby volume/mounts linuxParser): a source that
 * starts with `/` is a host path, anything else a volume name. `:ro` (without `rw`) is read-only.
 */
export function checkBinds(c: Check, hc: Fields): void {
  for (const [i, spec] of hc.strings('Binds', 'container.binds')) {
    const field = `${hc.at('Binds')}[${i}]`
    const parts = spec.split(':')
    const [source = '', , mode = ''] = parts
    if (parts.length > 3 || source === '') {
      c.findings.add('container.binds', field, spec, 'is not a bind specification dockgate can read')
    } else if (parts.length === 1) {
      continue // an anonymous volume at a container path
    } else if (isHostPath(source)) {
      const opts = mode.split(',')
      checkHostPath(c, field, spec, source, opts.includes('ro') && !opts.includes('rw'))
    } else if (!VOLUME_NAME.test(source)) {
      c.findings.add('container.binds', field, spec, 'has a source that is neither an absolute host path nor a volume name')
    }
  }
}

/** A volume driver (`HostConfig.VolumeDriver`, `DriverConfig.Name`, `VolumeCreate.Driver`). */
export function checkVolumeDriver(c: Check, field: string, driver: string): void {
  if (driver !== '' && !c.rules.volumes.drivers.matches(driver)) {
    c.findings.add('volume.driver', field, driver, 'is not in guards.volumes.drivers')
  }
}

/**
 * Options of the `local` volume driver (moby volume/local: `type`, `o`, `device`, `size`), which
 * runs `mount -t <type> -o <o> <device>` on the host. `type=none,o=bind,device=/` is a bind mount
 * of the host's root; `device=/dev/sda1` mounts a host disk; overlay's `lowerdir=/…` reads host
 * paths. Anything naming a host path needs guards.volumes.bind_options; other types need
 * guards.volumes.local_types (default tmpfs). `o=bindable` is not `bind`: options are compared
 * whole, after splitting on commas.
 */
export function checkLocalDriverOptions(c: Check, path: string, entries: ReadonlyArray<readonly [string, JsonValue]>): void {
  const v = c.rules.volumes
  const opts = new Map<string, string>()
  for (const [key, value] of entries) {
    const field = mapKey(path, key)
    if (typeof value !== 'string') c.findings.wrongType('volume.options', field, value, 'a string')
    else if (!['type', 'o', 'device', 'size'].includes(key)) c.findings.add('volume.options', field, value, 'is not an option of the local driver')
    else opts.set(key, value)
  }
  const type = opts.get('type')
  const o = opts.get('o')
  const device = opts.get('device')
  const hostPathType = type !== undefined && ['none', 'bind', 'rbind'].includes(type.toLowerCase())
  if (!v.bindOptions) {
    if (hostPathType) c.findings.add('volume.options', mapKey(path, 'type'), type, 'bind-mounts a host path (needs guards.volumes.bind_options)')
    for (const opt of (o ?? '').split(',')) {
      const [name = '', value] = splitOnce(opt.trim(), '=')
      if (BIND_FLAGS.has(name.toLowerCase())) {
        c.findings.add('volume.options', mapKey(path, 'o'), o ?? '', `has option "${name}", which bind-mounts a host path (needs guards.volumes.bind_options)`)
      } else if (value !== undefined && value.startsWith('/')) {
        c.findings.add('volume.options', mapKey(path, 'o'), o ?? '', `has option "${name}", which names a host path (needs guards.volumes.bind_options)`)
      }
    }
    if (device !== undefined && isHostPath(device)) {
      c.findings.add('volume.options', mapKey(path, 'device'), device, 'is a host path (needs guards.volumes.bind_options)')
    }
  }
  if (type === undefined) {
    if (o !== undefined || device !== undefined) c.findings.add('volume.options', mapKey(path, 'type'), null, 'is missing, and local driver options without a type are refused')
  } else if (!hostPathType && !v.localTypes.includes(type)) {
    c.findings.add('volume.options', mapKey(path, 'type'), type, 'is not in guards.volumes.local_types')
  }
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const at = s.indexOf(sep)
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)]
}

/** Tmpfs mount options: a `bind` flag would make runc bind-mount a path instead. */
function checkTmpfsFlags(c: Check, field: string, options: readonly string[], value: JsonValue): void {
  if (options.some((o) => BIND_FLAGS.has(o.trim().toLowerCase()))) {
    c.findings.add('container.tmpfs', field, value, 'makes a tmpfs mount a bind mount, which is never allowed')
  }
}

/** `HostConfig.Tmpfs`: `{ "/run": "rw,noexec,size=64m" }`. */
export function checkTmpfsMap(c: Check, hc: Fields): void {
  for (const [target, value] of hc.map('Tmpfs', 'container.tmpfs') ?? []) {
    const field = mapKey(hc.at('Tmpfs'), target)
    if (typeof value !== 'string') c.findings.wrongType('container.tmpfs', field, value, 'a string')
    else checkTmpfsFlags(c, field, value.split(','), value)
  }
}

/** One `Mounts[]` entry (api/types/mount.Mount), for containers and service task templates. */
export function checkMount(c: Check, m: Fields): void {
  const type = m.string('Type', 'container.mounts')
  switch (type) {
    case 'bind': {
      const source = m.string('Source', 'container.binds') ?? ''
      // A non-recursive read-only mount leaves the submounts below it writable.
      const nonRecursive = m.struct('BindOptions', 'container.binds')?.bool('ReadOnlyNonRecursive', 'container.binds') === true
      const readOnly = m.bool('ReadOnly', 'container.binds') === true && !nonRecursive
      checkHostPath(c, m.at('Source'), source, source, readOnly)
      return
    }
    case 'volume': {
      const source = m.string('Source', 'container.mounts')
      if (source !== undefined && isHostPath(source)) {
        c.findings.add('container.mounts', m.at('Source'), source, 'is not a volume name')
      }
      const config = m.struct('VolumeOptions', 'container.mounts')?.struct('DriverConfig', 'volume.driver')
      if (config === undefined) return
      const driver = config.string('Name', 'volume.driver') ?? ''
      checkVolumeDriver(c, config.at('Name'), driver)
      const options = config.map('Options', 'volume.options')
      if (options !== undefined && options.length > 0 && (driver === '' || driver === 'local')) {
        checkLocalDriverOptions(c, config.at('Options'), options)
      }
      return
    }
    case 'tmpfs': {
      const t = m.struct('TmpfsOptions', 'container.tmpfs')
      for (const [i, item] of (t?.array('Options', 'container.tmpfs') ?? []).entries()) {
        const field = `${t?.at('Options') ?? ''}[${i}]`
        if (Array.isArray(item) && item.every((s) => typeof s === 'string')) checkTmpfsFlags(c, field, item.slice(0, 1) as string[], item)
        else c.findings.wrongType('container.tmpfs', field, item, 'an array of strings')
      }
      return
    }
    case 'image': {
      const source = m.string('Source', 'container.image')
      if (source !== undefined) checkImage(c, m.at('Source'), source)
      return
    }
    case undefined:
      c.findings.add('container.mounts', m.at('Type'), m.raw('Type') ?? null, 'is missing, and a mount needs a type')
      return
    default:
      // npipe (Windows host pipes), cluster (CSI volumes), and anything newer than dockgate.
      c.findings.add('container.mounts', m.at('Type'), type, 'is not a mount type dockgate allows')
  }
}

/** `Mounts` of a HostConfig or ContainerSpec. */
export function checkMounts(c: Check, fields: Fields): void {
  for (const m of fields.structs('Mounts', 'container.mounts')) checkMount(c, m)
}
