/**
 * Field checks shared by ContainerCreate, ContainerUpdate and the service task template: one
 * function per escalation path of docs/engine-notes.md "Escalation paths a no-privileged policy must
 * close", each reading one field (in any case the client spelled it, through Fields) and recording
 * what the policy does not allow.
 */
import { capabilityAllowed, normalizeCapability } from './caps.js'
import { imageRefProblem } from './image-ref.js'
import { normalizeHostPath } from './paths.js'
import { canonicalCgroupRule, type GuardRules } from './rules.js'
import { parseSecurityOpt } from './security-opt.js'
import type { SelfIdentity } from './types.js'
import { canonicalUser } from './users.js'
import type { Fields, Findings } from './values.js'

/** What every check needs: where to record, what is allowed, and who we are. */
export interface Check {
  readonly findings: Findings
  readonly rules: GuardRules
  readonly self: SelfIdentity
}

/** `Sysctls["net.ipv4.ip_forward"]`: map keys are data and may contain dots. */
export function mapKey(path: string, key: string): string {
  return `${path}[${JSON.stringify(key)}]`
}

/** `CapAdd`, legacy `Capabilities`, service `CapabilityAdd`: every spelling Docker accepts. */
export function checkCapabilities(c: Check, fields: Fields, name: string): void {
  const allowed = new Set(c.rules.container.capabilities)
  for (const [i, raw] of fields.strings(name, 'container.capabilities')) {
    const cap = normalizeCapability(raw)
    if (capabilityAllowed(cap, allowed)) continue
    const detail = cap === undefined ? 'is not a capability name dockgate can read' : `adds ${cap}, which is not in guards.container.capabilities`
    c.findings.add('container.capabilities', `${fields.at(name)}[${i}]`, raw, detail)
  }
}

/** Refuses a canonical security option unless it is safe or listed in `guards.container.security_opt`. */
export function checkSecurityOption(c: Check, field: string, value: string, canonical: string, safe: boolean, risk?: string): void {
  if (safe || c.rules.container.securityOpt.includes(canonical)) return
  c.findings.add('container.security_opt', field, value, `${risk ?? 'loosens confinement'} (${canonical} is not in guards.container.security_opt)`)
}

/** `SecurityOpt`: seccomp/apparmor unconfined, label disable, no-new-privileges=false, … */
export function checkSecurityOpts(c: Check, fields: Fields): void {
  for (const [i, raw] of fields.strings('SecurityOpt', 'container.security_opt')) {
    const opt = parseSecurityOpt(raw)
    checkSecurityOption(c, `${fields.at('SecurityOpt')}[${i}]`, raw, opt.canonical, opt.safe, opt.risk)
  }
}

/**
 * `MaskedPaths` / `ReadonlyPaths`: any client-supplied list (even a longer one) replaces the
 * daemon's defaults; an empty list unmasks /proc/kcore, /sys/firmware, … without Privileged
 * (moby daemon/oci_linux.go WithMaskedPaths). Allowed only with `systempaths=unconfined` in guards.container.security_opt.
 */
export function checkSystemPaths(c: Check, fields: Fields): void {
  if (c.rules.container.securityOpt.includes('systempaths=unconfined')) return
  for (const name of ['MaskedPaths', 'ReadonlyPaths']) {
    const v = fields.raw(name)
    if (v === undefined || v === null) continue
    c.findings.add('container.system_paths', fields.at(name), v, 'replaces the default masked/read-only /proc and /sys paths (needs systempaths=unconfined in guards.container.security_opt)')
  }
}

/** `Sysctls`: names must match guards.container.sysctls (dotted form; `/` forms are refused). */
export function checkSysctls(c: Check, fields: Fields, name: string): void {
  for (const [key, value] of fields.map(name, 'container.sysctls') ?? []) {
    const field = mapKey(fields.at(name), key)
    if (key.includes('/')) c.findings.add('container.sysctls', field, value, 'names the sysctl with slashes; write it in dotted form (net.ipv4.ip_forward)')
    else if (!c.rules.container.sysctls.matches(key)) c.findings.add('container.sysctls', field, value, 'is not in guards.container.sysctls')
  }
}

/** `GroupAdd` / service `Groups`: supplementary groups must match guards.container.group_add. */
export function checkGroups(c: Check, fields: Fields, name: string): void {
  for (const [i, raw] of fields.strings(name, 'container.group_add')) {
    const group = canonicalUser(raw)
    if (group !== undefined && !group.includes(':') && c.rules.container.groupAdd.matches(group)) continue
    c.findings.add('container.group_add', `${fields.at(name)}[${i}]`, raw, 'is not in guards.container.group_add')
  }
}

/** `OomScoreAdj`: below guards.container.oom_score_adj_min shields the container from the OOM killer. */
export function checkOomScoreAdj(c: Check, fields: Fields): void {
  const v = fields.integer('OomScoreAdj', 'container.oom_score_adj')
  if (v !== undefined && v < BigInt(c.rules.container.oomScoreAdjMin)) {
    c.findings.add('container.oom_score_adj', fields.at('OomScoreAdj'), fields.raw('OomScoreAdj'), `is below guards.container.oom_score_adj_min (${c.rules.container.oomScoreAdjMin})`)
  }
}

/** `Ulimits`: each name must match guards.container.ulimits. */
export function checkUlimits(c: Check, fields: Fields): void {
  for (const u of fields.structs('Ulimits', 'container.ulimits')) {
    const name = u.string('Name', 'container.ulimits')
    if (name === undefined || !c.rules.container.ulimits.matches(name)) {
      c.findings.add('container.ulimits', u.at('Name'), u.raw('Name'), 'is not in guards.container.ulimits')
    }
  }
}

/**
 * The container.Resources fields that reach the host: devices, device cgroup rules, device
 * requests (GPUs), cgroup parent, ulimits, unlimited pids, OOM-kill disable. Shared by create
 * and update (whose body is Resources + RestartPolicy).
 */
export function checkResources(c: Check, fields: Fields): void {
  const r = c.rules.container
  for (const d of fields.structs('Devices', 'container.devices')) {
    const raw = d.string('PathOnHost', 'container.devices')
    const path = raw === undefined ? undefined : normalizeHostPath(raw)
    if (path === undefined || !path.ok) {
      c.findings.add('container.devices', d.at('PathOnHost'), d.raw('PathOnHost'), path?.ok === false ? `names a host path that ${path.problem}` : 'names no host device')
    } else if (!r.devices.matches(path.path)) {
      c.findings.add('container.devices', d.at('PathOnHost'), raw, 'is not in guards.container.devices')
    }
  }
  for (const [i, rule] of fields.strings('DeviceCgroupRules', 'container.device_cgroup_rules')) {
    if (!r.deviceCgroupRules.includes(canonicalCgroupRule(rule))) {
      c.findings.add('container.device_cgroup_rules', `${fields.at('DeviceCgroupRules')}[${i}]`, rule, 'is not in guards.container.device_cgroup_rules')
    }
  }
  const requests = fields.array('DeviceRequests', 'container.device_requests')
  if (requests !== undefined && requests.length > 0 && !r.deviceRequests) {
    requests.forEach((req, i) => c.findings.add('container.device_requests', `${fields.at('DeviceRequests')}[${i}]`, req, 'needs guards.container.device_requests'))
  }
  const parent = fields.string('CgroupParent', 'container.cgroup_parent')
  if (parent !== undefined && parent !== '' && !r.cgroupParents.matches(parent)) {
    c.findings.add('container.cgroup_parent', fields.at('CgroupParent'), parent, 'is not in guards.container.cgroup_parents')
  }
  checkUlimits(c, fields)
  const pids = fields.integer('PidsLimit', 'container.pids_limit')
  if (pids !== undefined && pids < 0n && !r.unlimitedPids) {
    c.findings.add('container.pids_limit', fields.at('PidsLimit'), fields.raw('PidsLimit'), 'removes the pids limit (needs guards.container.unlimited_pids)')
  }
  if (fields.bool('OomKillDisable', 'container.oom_kill_disable') === true && !r.oomKillDisable) {
    c.findings.add('container.oom_kill_disable', fields.at('OomKillDisable'), true, 'needs guards.container.oom_kill_disable')
  }
}

/** An image reference against guards.container.images. */
export function checkImage(c: Check, field: string, image: string): void {
  const problem = imageRefProblem(image, c.rules.container.images, 'guards.container.images')
  if (problem !== undefined) c.findings.add('container.image', field, image, problem)
}

/** A logging driver (`HostConfig.LogConfig.Type`, service `LogDriver.Name`) against guards.container.log_drivers. */
export function checkLogDriver(c: Check, field: string, driver: string): void {
  if (driver !== '' && !c.rules.container.logDrivers.matches(driver)) {
    c.findings.add('container.log_driver', field, driver, 'is not in guards.container.log_drivers')
  }
}
