/**
 * API version comparison as the engine does it (moby api/types/versions.compare): split on '.',
 * compare numerically field by field, missing fields count as 0. So "1.4" < "1.24".
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.')
  const pb = b.split('.')
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.parseInt(pa[i] ?? '0', 10) || 0
    const y = Number.parseInt(pb[i] ?? '0', 10) || 0
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

export function versionBelow(v: string, floor: string): boolean {
  return compareVersions(v, floor) < 0
}
