/**
 * Linux capability names the way the engine reads them.
 *
 * moby normalises `CapAdd`/`CapDrop` (and the legacy `Capabilities` field) with Go's
 * `strings.ToUpper` and adds a `CAP_` prefix when missing; `ALL` stands for every capability
 * (moby `oci/caps/utils.go` NormalizeLegacyCapabilities). So `sys_admin`, `Cap_Sys_Admin` and
 * `CAP_SYS_ADMIN` are one capability. Go's ToUpper is Unicode-aware (`ſys_admin` → `SYS_ADMIN`),
 * JavaScript's differs in corners: a capability with anything but printable ASCII is refused
 * instead of being guessed at.
 */

/** Every capability the Linux kernel defines (capability.h, up to CAP_CHECKPOINT_RESTORE). */
export const KNOWN_CAPABILITIES: ReadonlySet<string> = new Set([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
])

/** The word for "every capability"; `CAP_ALL` is read as ALL too (the engine refuses it, we do not guess). */
export const ALL_CAPABILITIES = 'ALL'

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/

/**
 * The canonical name (`CAP_SYS_ADMIN` or `ALL`) of a capability as a client or policy wrote it,
 * or undefined when it cannot be read safely (empty, spaces, non-ASCII).
 */
export function normalizeCapability(raw: string): string | undefined {
  if (!PRINTABLE_ASCII.test(raw)) return undefined
  const upper = raw.toUpperCase()
  if (upper === ALL_CAPABILITIES || upper === 'CAP_ALL') return ALL_CAPABILITIES
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`
}

/**
 * True when the capability a client asked for is covered by the policy's list (canonical names).
 * `ALL` in the list covers everything; `ALL` asked for needs `ALL` in the list.
 */
export function capabilityAllowed(canonical: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (allowed.has(ALL_CAPABILITIES)) return true
  return canonical !== undefined && allowed.has(canonical)
}
