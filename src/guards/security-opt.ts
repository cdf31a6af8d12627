/**
 * `HostConfig.SecurityOpt` entries, read the way the daemon reads them (moby
 * `daemon/daemon_unix.go` parseSecurityOpt): `key=value`, the deprecated `key:value` form, and the
 * bare words `no-new-privileges` and `disable` (= `label=disable`).
 *
 * Each entry gets a canonical spelling (`seccomp:unconfined` → `seccomp=unconfined`); the policy's
 * `guards.container.security_opt` list is written in, and compared in, that spelling. Only the
 * options that keep the daemon's defaults pass without being listed. Anything else, known or not,
 * must be listed exactly: an unknown option is refused by the engine anyway, and a known one
 * (`label=type:spc_t`, a custom AppArmor profile) can unconfine the container.
 */

export interface SecurityOpt {
  /** The spelling policies use: `seccomp=unconfined`, `label=disable`, `no-new-privileges=false`. */
  readonly canonical: string
  /** True when the option keeps (or tightens) the daemon's default confinement. */
  readonly safe: boolean
  /** Why it is not safe, for the violation's detail. */
  readonly risk?: string
}

/** Go's strconv.ParseBool. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/** Every inline seccomp profile canonicalises to this, so a policy can allow "any custom profile". */
export const SECCOMP_CUSTOM = 'seccomp=custom'

export function parseSecurityOpt(raw: string): SecurityOpt {
  if (raw === 'no-new-privileges') return { canonical: 'no-new-privileges=true', safe: true }
  if (raw === 'disable') return unsafe('label=disable', 'disables SELinux labelling')
  const sep = raw.includes('=') ? '=' : raw.includes(':') ? ':' : undefined
  if (sep === undefined) return unsafe(raw, 'is not an option the engine knows')
  const at = raw.indexOf(sep)
  const key = raw.slice(0, at)
  const value = raw.slice(at + 1)
  switch (key) {
    case 'seccomp':
      if (value === 'builtin') return { canonical: 'seccomp=builtin', safe: true }
      if (value === 'unconfined') return unsafe('seccomp=unconfined', 'disables the seccomp filter')
      // The docker CLI inlines the profile file's JSON; it can allow every syscall.
      return unsafe(SECCOMP_CUSTOM, 'replaces the default seccomp profile with a custom one')
    case 'apparmor':
      if (value === 'docker-default') return { canonical: 'apparmor=docker-default', safe: true }
      return unsafe(`apparmor=${value}`, value === 'unconfined' ? 'disables AppArmor' : 'replaces the default AppArmor profile')
    case 'label':
      return unsafe(`label=${value}`, value === 'disable' ? 'disables SELinux labelling' : 'sets SELinux labels (a type like spc_t unconfines)')
    case 'no-new-privileges':
      if (TRUE.has(value)) return { canonical: 'no-new-privileges=true', safe: true }
      if (FALSE.has(value)) return unsafe('no-new-privileges=false', 'lets setuid binaries gain privileges')
      return unsafe(`no-new-privileges=${value}`, 'is not a boolean')
    case 'systempaths':
      return unsafe(`systempaths=${value}`, 'unmasks /proc and /sys paths')
    case 'writable-cgroups':
      if (FALSE.has(value)) return { canonical: 'writable-cgroups=false', safe: true }
      return unsafe(`writable-cgroups=${value}`, 'makes the cgroup filesystem writable')
    default:
      return unsafe(`${key}=${value}`, 'is not an option dockgate knows to be safe')
  }
}

function unsafe(canonical: string, risk: string): SecurityOpt {
  return { canonical, safe: false, risk }
}

/** Canonical spelling of a policy's `security_opt` entry (same rules as the body's). */
export function canonicalSecurityOpt(raw: string): string {
  return parseSecurityOpt(raw).canonical
}
