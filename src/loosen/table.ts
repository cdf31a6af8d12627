/**
 * From one refusal to the narrowest `guards:` entry that lets exactly that value through: one row
 * per guard id the guards emit (src/guards/, target.ts, recreate/), kept as data so that a test can
 * hold the table to the guards (test/unit/loosen.test.ts greps them for ids).
 *
 * A row reads only what a violation carries (guard id, field, value, detail), so it works on a
 * live refusal and on an audit record alike. Values are rendered by guards/values.ts renderValue:
 * strings JSON-quoted, long ones cut with `…` — a cut value is not known exactly and is never
 * loosened. Observed values become literal globs (globLiteral), never patterns.
 *
 * Some refusals have no loosening: dockgate's own container, bodies of the wrong JSON type, legacy
 * top-level HostConfig fields, things dockgate cannot read. Their row says why.
 */
import { ALL_CAPABILITIES, KNOWN_CAPABILITIES, normalizeCapability } from '../guards/caps.js'
import { globLiteral } from '../guards/glob.js'
import { parseImageRef } from '../guards/image-ref.js'
import { READ_ONLY_MOUNT } from '../guards/mounts.js'
import { normalizeHostPath } from '../guards/paths.js'
import { canonicalCgroupRule } from '../guards/rules-compile.js'
import { canonicalSecurityOpt } from '../guards/security-opt.js'
import type { Violation } from '../guards/types.js'
import { canonicalUser } from '../guards/users.js'

/** A key of the policy's `guards:` section, as the file writes it: `container.capabilities`. */
export type GuardKey = string

export type Loosening =
  /** `key: true`. */
  | { readonly kind: 'flag'; readonly key: GuardKey }
  /** One more entry of the list at `key`, already in the policy's spelling (a literal glob or an exact value). */
  | { readonly kind: 'item'; readonly key: GuardKey; readonly item: string }
  /** `container.binds: [{ path, read_only }]`, `path` a literal glob. */
  | { readonly kind: 'bind'; readonly path: string; readonly readOnly: boolean }
  /** The lowest value allowed at `key` (`container.oom_score_adj_min`). */
  | { readonly kind: 'min'; readonly key: GuardKey; readonly value: number }

/** What lets a refused value through: one loosening, and where one refusal hides the next, those too. */
export type LooseningOutcome = { readonly loosen: Loosening; readonly also?: readonly Loosening[] } | { readonly cannot: string }

/** Every loosening of an outcome (none when it cannot be loosened). */
export function loosenings(outcome: LooseningOutcome): readonly Loosening[] {
  return 'cannot' in outcome ? [] : [outcome.loosen, ...(outcome.also ?? [])]
}

type Row = (v: Violation) => LooseningOutcome

/** The string a violation's value holds, or undefined when it is not an exact, uncut string. */
export function stringValue(value: string): string | undefined {
  if (!value.startsWith('"')) return undefined
  try {
    const s: unknown = JSON.parse(value)
    return typeof s === 'string' ? s : undefined
  } catch {
    return undefined // cut with …, or not JSON
  }
}

/** The key of a map field as guards write it: `HostConfig.Sysctls["net.ipv4.ip_forward"]` → `net.ipv4.ip_forward`. */
function mapKeyOf(field: string): string | undefined {
  const m = /\[("(?:[^"\\]|\\.)*")\]\)?$/.exec(field)
  return m === null ? undefined : stringValue(m[1]!)
}

const cannot = (why: string): LooseningOutcome => ({ cannot: why })
const flag = (key: GuardKey): Row => () => ({ loosen: { kind: 'flag', key } })
const never = (why: string): Row => () => cannot(why)
const unreadable = (v: Violation): LooseningOutcome => cannot(`${v.field}=${v.value} is not a value dockgate can allow exactly`)

/** A row that adds the violation's string value (mapped by `spell`) to the list at `key`. */
function item(key: GuardKey, spell: (s: string, v: Violation) => string | undefined = globLiteral): Row {
  return (v) => {
    const s = stringValue(v.value)
    const spelled = s === undefined || s === '' ? undefined : spell(s, v)
    return spelled === undefined ? unreadable(v) : { loosen: { kind: 'item', key, item: spelled } }
  }
}

/** An image or plugin reference in the spelling the allowlists match (`busybox:latest`), as a literal. */
function reference(s: string): string | undefined {
  const ref = parseImageRef(s)
  return ref.kind === 'name' ? globLiteral(ref.forms[0]!) : undefined
}

/** A bind source: Binds specs carry their mode; Mounts sources say read-only in the detail. */
const bind: Row = (v) => {
  const s = stringValue(v.value)
  // `mounts host path /x, which is not in …` / `… writable, which guards.container.binds allows only
  // read-only`; older audit records said `host path /x is not in …` / `may only be mounted read-only`.
  const d = v.detail ?? ''
  if (s === undefined || !/^(mounts )?host path \//.test(d) || !/(is not in|may only be mounted read-only|allows only read-only)/.test(d)) {
    return cannot(`${v.field}=${v.value} is not a host path dockgate can read exactly`)
  }
  let source = s
  let readOnly = d.endsWith(READ_ONLY_MOUNT)
  if (/Binds\[\d+\]$/.test(v.field)) {
    const [src = '', , mode = ''] = s.split(':')
    const opts = mode.split(',')
    source = src
    readOnly = opts.includes('ro') && !opts.includes('rw')
  }
  const path = normalizeHostPath(source)
  if (!path.ok) return cannot(`host path ${path.problem}`)
  return { loosen: { kind: 'bind', path: globLiteral(path.path), readOnly } }
}

const namespaces: Row = (v) => {
  const ns = /guards\.container\.namespaces\.(network|pid|ipc|uts|userns|cgroupns|cgroup)\b/.exec(v.detail ?? '')?.[1]
  return ns === undefined ? unreadable(v) : item(`container.namespaces.${ns}`)(v)
}

const capability: Row = item('container.capabilities', (s) => {
  const cap = normalizeCapability(s)
  if (cap === ALL_CAPABILITIES) return cap
  return cap !== undefined && KNOWN_CAPABILITIES.has(cap) ? cap.slice('CAP_'.length) : undefined
})

const securityOpt: Row = (v) => {
  const canonical = /\(([^()]+) is not in guards\.container\.security_opt\)$/.exec(v.detail ?? '')?.[1]
  return canonical === undefined ? unreadable(v) : { loosen: { kind: 'item', key: 'container.security_opt', item: canonicalSecurityOpt(canonical) } }
}

/** A map key (`Sysctls["…"]`, `Annotations["…"]`, `Options["parent"]` holds the value) as a literal. */
const mapKey = (key: GuardKey): Row => (v) => {
  const k = mapKeyOf(v.field)
  return k === undefined || (v.detail ?? '').startsWith('names the sysctl with slashes') ? unreadable(v) : { loosen: { kind: 'item', key, item: globLiteral(k) } }
}

const oomScore: Row = (v) => {
  const n = Number(v.value)
  return /^-?\d+$/.test(v.value) && n >= -1000 && n <= 1000 ? { loosen: { kind: 'min', key: 'container.oom_score_adj_min', value: n } } : unreadable(v)
}

const volumeOptions: Row = (v) => {
  const d = v.detail ?? ''
  if (d.includes('(needs guards.volumes.bind_options)')) return { loosen: { kind: 'flag', key: 'volumes.bind_options' } }
  if (d === 'is not in guards.volumes.local_types') return item('volumes.local_types', (s) => s)(v)
  return cannot(`${v.field}=${v.value}: ${d || 'not an option of the local driver'}; nothing to loosen`)
}

const BODY = 'the body is not the JSON the engine expects here; nothing to loosen, fix the client'

/** Every guard id, and how a refusal of it is loosened (or why it cannot be). */
export const LOOSENINGS: Readonly<Record<string, Row>> = {
  'archive.write': flag('archive.write'),
  'build.grpc': flag('build.grpc'),
  'build.network_mode': (v) => (stringValue(v.value)?.toLowerCase() === 'host' ? { loosen: { kind: 'flag', key: 'build.network_host' } } : cannot("joining another container's network in a build is never allowed")),
  'build.outputs': (v) => (v.field.endsWith('.Type') ? item('build.outputs', (s) => s)(v) : unreadable(v)),
  'build.fetch_urls': flag('build.fetch_urls'),
  'build.push': flag('build.push'),
  // A remote context's Dockerfile cannot be checked for URL fetches: once remote= is allowed, the
  // same request is refused by build.fetch_urls (build-context.ts), so both go together.
  'build.remote': (v) => ({
    loosen: { kind: 'flag', key: 'build.remote' },
    ...(stringValue(v.value) === 'client-session' ? {} : { also: [{ kind: 'flag', key: 'build.fetch_urls' }] }),
  }),
  'checkpoint.dir': never('a checkpoint directory on the host is never allowed (only the engine default)'),
  'container.annotations': mapKey('container.annotations'),
  'container.binds': bind,
  'container.body': never(BODY),
  'container.capabilities': capability,
  'container.cgroup_parent': item('container.cgroup_parents'),
  'container.device_cgroup_rules': item('container.device_cgroup_rules', canonicalCgroupRule),
  'container.device_requests': flag('container.device_requests'),
  'container.devices': item('container.devices', (s) => {
    const p = normalizeHostPath(s)
    return p.ok ? globLiteral(p.path) : undefined
  }),
  'container.group_add': item('container.group_add', (s) => {
    const g = canonicalUser(s)
    return g === undefined || g.includes(':') ? undefined : globLiteral(g)
  }),
  'container.image': item('container.images', reference),
  'container.legacy_hostconfig': never('HostConfig fields at the top level of the body are never allowed: send them inside HostConfig'),
  'container.links': never(BODY),
  'container.log_driver': item('container.log_drivers'),
  'container.mounts': never('a mount dockgate cannot read (no type, an unknown type, a host path as volume name); nothing to loosen'),
  'container.namespaces': namespaces,
  'container.oom_kill_disable': flag('container.oom_kill_disable'),
  'container.oom_score_adj': oomScore,
  'container.pids_limit': (v) => ((v.detail ?? '').includes('unlimited_pids') ? { loosen: { kind: 'flag', key: 'container.unlimited_pids' } } : unreadable(v)),
  'container.privileged': flag('container.privileged'),
  'container.recreate': never('the re-create allowance applies only to what a container removed through the same policy had'),
  'container.runtime': item('container.runtimes', (s) => s),
  'container.security_opt': securityOpt,
  'container.start_body': never('a start request never carries a body (old API versions apply it as HostConfig)'),
  'container.sysctls': mapKey('container.sysctls'),
  'container.system_paths': () => ({ loosen: { kind: 'item', key: 'container.security_opt', item: 'systempaths=unconfined' } }),
  'container.tmpfs': never('a tmpfs mount that is a bind mount is never allowed'),
  'container.ulimits': item('container.ulimits'),
  'container.volumes_from': item('container.volumes_from', (s) => globLiteral(s.split(':')[0] ?? '')),
  'exec.body': never(BODY),
  'exec.privileged': flag('exec.privileged'),
  'exec.user': item('exec.users', (s) => {
    const u = canonicalUser(s)
    return u === undefined ? undefined : globLiteral(u)
  }),
  'image.from_src': flag('images.from_src'),
  'image.import': flag('images.import'),
  'image.pull': item('images.pull', reference),
  'network.body': never(BODY),
  'network.config_from': flag('networks.config_from'),
  'network.driver': item('networks.drivers'),
  'network.parent': item('networks.parent'),
  'plugin.allow': (v) => (v.field === 'operation' ? cannot('the request names no plugin; only guards.plugins.allow: true would let it through') : item('plugins.allow', reference)(v)),
  'self': never("dockgate's own container: no policy can allow this"),
  'service.body': never(BODY),
  'service.credential_spec': never('credential specs are read by the daemon from its own files; never allowed'),
  'service.runtime': never('attachment tasks and unknown runtimes are made by the engine, never by clients'),
  'swarm.allow': flag('swarm.allow'),
  'target': never('dockgate cannot read the definition of the container named; nothing to loosen'),
  'volume.body': never(BODY),
  'volume.driver': item('volumes.drivers'),
  'volume.options': volumeOptions,
}

/** The narrowest loosening that lets this one violation through, or why there is none. */
export function loosen(v: Violation): LooseningOutcome {
  const row = LOOSENINGS[v.guard]
  return row === undefined ? cannot(`unknown guard ${JSON.stringify(v.guard)}`) : row(v)
}
