/** The body budget shared by every connection, and the collection it asks for after a burst. */
import { describe, expect, test } from 'vitest'
import { BodyBudget } from '../../src/body.js'
import { reclaimAfterBursts } from '../../src/reclaim.js'

describe('BodyBudget', () => {
  test('takes up to its limit, then refuses with DG_LIMIT_BODY_BUDGET', () => {
    const b = new BodyBudget(100)
    b.take(60)
    b.take(40)
    expect(() => b.take(1)).toThrow(expect.objectContaining({ code: 'DG_LIMIT_BODY_BUDGET', status: 503 }))
    b.give(40)
    expect(b.held).toBe(60)
    expect(() => b.take(40)).not.toThrow()
  })

  test('reports its peak each time it drains to zero', () => {
    const peaks: number[] = []
    const b = new BodyBudget(1000, (p) => peaks.push(p))
    b.take(300)
    b.take(200)
    b.give(300)
    b.give(200)
    b.take(10)
    b.give(10)
    b.give(0)
    expect(peaks).toEqual([500, 10])
  })
})

describe('reclaimAfterBursts', () => {
  test('collects after a burst, at most once per interval, never after small peaks', () => {
    let now = 0
    let runs = 0
    const onDrained = reclaimAfterBursts(() => now, () => runs++)
    onDrained(1024)
    expect(runs).toBe(0)
    now = 60_000
    onDrained(64 * 1024 * 1024)
    expect(runs).toBe(1)
    now += 1_000
    onDrained(64 * 1024 * 1024)
    expect(runs).toBe(1)
    now += 10_000
    onDrained(64 * 1024 * 1024)
    expect(runs).toBe(2)
  })
})
