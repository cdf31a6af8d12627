/** Deep freezing for values validated once at start-up (the loaded config and the compiled policy are deep-frozen). */

/**
 * Freezes `value` and every object and array reachable from it. Functions (compiled glob
 * matchers) are left as they are: the frozen object holding one cannot swap it, and freezing
 * a library's closure state is not ours to do.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value
  Object.freeze(value)
  for (const key of Reflect.ownKeys(value)) {
    deepFreeze((value as Record<string | symbol, unknown>)[key])
  }
  return value
}
