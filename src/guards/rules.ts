// STUB written by the lead to fix the interface; the guards helper replaces the body of this file.
/** The compiled, frozen loosening rules of a policy's `guards:` section. */
export interface GuardRules {
  /** Lowest API version accepted in a `/vX.Y/` prefix (default "1.24"). */
  readonly apiVersionFloor: string
}

/** JSON-schema fragment for the policy file's `guards:` key (additionalProperties: false everywhere). */
export const guardRulesSchema: Record<string, unknown> = { type: 'object', additionalProperties: false, properties: {} }

export const DEFAULT_GUARD_RULES: GuardRules = Object.freeze({ apiVersionFloor: '1.24' })

export interface GuardRulesProblem {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/** Applies a (schema-valid) `guards:` section on top of `base` (the rules inherited via extends). */
export function compileGuardRules(raw: unknown, base: GuardRules): { rules: GuardRules; problems: GuardRulesProblem[] } {
  void raw
  return { rules: base, problems: [] }
}
