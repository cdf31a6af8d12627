/**
 * ServiceCreate / ServiceUpdate: a swarm service's task template schedules containers outside
 * every ContainerCreate check (moby daemon/cluster/executor/container), so the template gets the same checks with the
 * same rules (guards.container.*): mounts, added capabilities, sysctls, groups, ulimits,
 * OOM score, image; `Privileges` are mapped onto SecurityOpt spellings
 * (`SELinuxContext.Disable` → `label=disable`, `Seccomp.Mode: unconfined` → `seccomp=unconfined`,
 * `custom` → `seccomp=custom`, `AppArmor.Mode: disabled` → `apparmor=unconfined`).
 * Plugin tasks (`Runtime: plugin`, `PluginSpec`) need guards.plugins.allow.
 *
 * Networks: a target named `host` needs guards.container.namespaces.network. The docker CLI
 * sends network *ids* (it resolves `--network host` to the host network's id before creating the
 * service): an id cannot be checked without asking the engine (not done here: guards are pure).
 */
import { serviceReferences } from './references.js'
import type { JsonValue } from '../body/json-value.js'
import {
  checkCapabilities,
  checkGroups,
  checkImage,
  checkLogDriver,
  checkOomScoreAdj,
  checkSecurityOption,
  checkSysctls,
  checkUlimits,
  type Check,
} from './checks.js'
import { checkMounts } from './mounts.js'
import { pluginRefProblem } from './plugin.js'
import { SERVICE_SPEC } from './shapes.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { bodyFields, type Fields, Findings } from './values.js'

/** `Privileges` of a ContainerSpec, as the SecurityOpt entries the swarm executor turns them into. */
function checkPrivileges(c: Check, cs: Fields): void {
  const p = cs.struct('Privileges', 'container.security_opt')
  if (p === undefined) return
  const cred = p.struct('CredentialSpec', 'service.credential_spec')
  if (cred !== undefined && cred.obj.entries.some(([, v]) => v !== null && v !== '')) {
    c.findings.add('service.credential_spec', cred.path, cred.obj, 'is a credential spec, which the daemon reads from its own files or registry')
  }
  const se = p.struct('SELinuxContext', 'container.security_opt')
  if (se !== undefined) {
    if (se.bool('Disable', 'container.security_opt') === true) {
      checkSecurityOption(c, se.at('Disable'), 'true', 'label=disable', false, 'disables SELinux labelling')
    }
    for (const part of ['User', 'Role', 'Type', 'Level']) {
      const v = se.string(part, 'container.security_opt')
      if (v !== undefined && v !== '') {
        checkSecurityOption(c, se.at(part), v, `label=${part.toLowerCase()}:${v}`, false, 'sets SELinux labels')
      }
    }
  }
  const seccomp = p.struct('Seccomp', 'container.security_opt')
  const seccompMode = seccomp?.string('Mode', 'container.security_opt') ?? ''
  if (seccomp !== undefined && seccompMode !== '' && seccompMode !== 'default') {
    const canonical = seccompMode === 'unconfined' ? 'seccomp=unconfined' : 'seccomp=custom'
    checkSecurityOption(c, seccomp.at('Mode'), seccompMode, canonical, false, 'replaces the default seccomp profile')
  }
  const apparmor = p.struct('AppArmor', 'container.security_opt')
  const apparmorMode = apparmor?.string('Mode', 'container.security_opt') ?? ''
  if (apparmor !== undefined && apparmorMode !== '' && apparmorMode !== 'default') {
    checkSecurityOption(c, apparmor.at('Mode'), apparmorMode, 'apparmor=unconfined', false, 'disables AppArmor')
  }
}

/** `Networks[].Target`: the host network by name. */
function checkNetworks(c: Check, fields: Fields): void {
  for (const n of fields.structs('Networks', 'container.namespaces')) {
    const target = n.string('Target', 'container.namespaces')
    if (target === undefined) continue
    const lower = target.toLowerCase()
    if ((lower === 'host' || lower.startsWith('container:')) && !c.rules.container.namespaces.network.matches(target)) {
      c.findings.add('container.namespaces', n.at('Target'), target, 'is not in guards.container.namespaces.network')
    }
  }
}

function checkContainerSpec(c: Check, cs: Fields): void {
  const image = cs.string('Image', 'container.image')
  if (image !== undefined) checkImage(c, cs.at('Image'), image)
  checkMounts(c, cs)
  checkCapabilities(c, cs, 'CapabilityAdd')
  checkSysctls(c, cs, 'Sysctls')
  checkGroups(c, cs, 'Groups')
  checkUlimits(c, cs)
  checkOomScoreAdj(c, cs)
  checkPrivileges(c, cs)
}

function checkPluginTask(c: Check, tt: Fields): void {
  const spec = tt.struct('PluginSpec', 'plugin.allow')
  const refs = [spec?.string('Remote', 'plugin.allow'), spec?.string('Name', 'plugin.allow')].filter((r): r is string => r !== undefined && r !== '')
  if (refs.length === 0) refs.push('')
  for (const ref of refs) {
    const problem = pluginRefProblem(ref, c.rules.plugins.allow)
    if (problem !== undefined) c.findings.add('plugin.allow', tt.at('PluginSpec'), ref, problem)
  }
}

export function checkService(body: JsonValue | undefined, ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const c: Check = { findings, rules: ctx.rules, self: ctx.self }
  const spec = bodyFields(body, findings, 'service.body')
  if (spec === undefined) return findings.list
  checkNetworks(c, spec)
  const tt = spec.struct('TaskTemplate', 'service.body')
  if (tt === undefined) return findings.list
  const runtime = tt.string('Runtime', 'service.runtime') ?? ''
  const hasPluginSpec = tt.raw('PluginSpec') !== undefined && tt.raw('PluginSpec') !== null
  if (runtime === 'plugin' || hasPluginSpec) checkPluginTask(c, tt)
  else if (runtime !== '' && runtime !== 'container') findings.add('service.runtime', tt.at('Runtime'), runtime, 'is not a task runtime clients may choose')
  const attachment = tt.raw('NetworkAttachmentSpec')
  if (attachment !== undefined && attachment !== null) {
    findings.add('service.runtime', tt.at('NetworkAttachmentSpec'), attachment, 'makes an attachment task, which only the engine makes')
  }
  const cs = tt.struct('ContainerSpec', 'service.body')
  if (cs !== undefined) checkContainerSpec(c, cs)
  checkNetworks(c, tt)
  const log = tt.struct('LogDriver', 'container.log_driver')
  if (log !== undefined) checkLogDriver(c, log.at('Name'), log.string('Name', 'container.log_driver') ?? '')
  return findings.list
}

export const serviceGuard: OperationGuard = {
  shape: SERVICE_SPEC,
  body: 'json',
  check: checkService,
  references: serviceReferences,
}
