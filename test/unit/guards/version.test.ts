/** versionBelow compares as moby's versions.LessThan does. */
import { describe, expect, test } from 'vitest'
import { compareVersions, versionBelow } from '../../../src/guards/index.js'

describe('versionBelow', () => {
  test.each([
    { v: '1.23', floor: '1.24', below: true },
    { v: '1.4', floor: '1.24', below: true },
    { v: '1.24', floor: '1.24', below: false },
    { v: '1.24.', floor: '1.24', below: false },
    { v: '1.024', floor: '1.24', below: false },
    { v: '1.23.9', floor: '1.24', below: true },
    { v: '1', floor: '1.24', below: true },
    { v: '2', floor: '1.24', below: false },
    { v: '1.41', floor: '1.24', below: false },
    { v: '.', floor: '1.24', below: true },
    { v: '', floor: '1.24', below: true },
    { v: '1..24', floor: '1.24', below: true },
    { v: '1.99999999999999999999', floor: '1.24', below: false },
    { v: '1.99999999999999999999', floor: '1.9223372036854775807', below: false },
    { v: '1.24x', floor: '1.24', below: true },
  ])('$v below $floor: $below', ({ v, floor, below }) => {
    expect(versionBelow(v, floor)).toBe(below)
  })

  test('compareVersions is symmetric', () => {
    expect(compareVersions('1.4', '1.24')).toBe(-1)
    expect(compareVersions('1.24', '1.4')).toBe(1)
    expect(compareVersions('1.24.0', '1.24')).toBe(0)
  })
})
