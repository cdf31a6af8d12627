/**
 * API version comparison exactly as the engine does it (moby `api/types/versions/compare.go`):
 * split on `.`, read each part with Go's `strconv.Atoi` ignoring errors, pad the shorter version
 * with zeros, compare part by part. So `1.4` < `1.24`, `1.24.` equals `1.24`, `1.024` equals
 * `1.24`, and a part that is not a number counts as 0.
 */

/** Go's int range on the 64-bit platforms dockerd runs on. */
const INT_MAX = 2n ** 63n - 1n
const INT_MIN = -(2n ** 63n)

/** `strconv.Atoi(part)` with the error ignored: the parsed value, clamped on overflow, or 0. */
function atoi(part: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(part)) return 0n
  const n = BigInt(part)
  // On ErrRange, Atoi returns the clamped value (strconv.ParseInt), and compare ignores the error.
  return n > INT_MAX ? INT_MAX : n < INT_MIN ? INT_MIN : n
}

/** -1, 0 or 1 as moby's `versions.compare(v1, v2)`. */
export function compareVersions(v1: string, v2: string): -1 | 0 | 1 {
  if (v1 === v2) return 0
  const a = v1.split('.')
  const b = v2.split('.')
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = atoi(a[i] ?? '')
    const y = atoi(b[i] ?? '')
    if (x > y) return 1
    if (y > x) return -1
  }
  return 0
}

/** moby `versions.LessThan(v, floor)`: true when the engine would treat `v` as older than `floor`. */
export function versionBelow(v: string, floor: string): boolean {
  return compareVersions(v, floor) < 0
}
