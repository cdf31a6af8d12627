/**
 * A listener's two modes, as the config file, flags and variables write them:
 *
 * - the decision mode: `mode: audit` (decide as usual, refuse nothing, record would-deny) or
 *   `mode: enforce` (the default); `--audit-only` / DOCKGATE_AUDIT_ONLY for every listener;
 * - the unix socket's file mode: `socket_mode: "0660"`, or `mode: "0660"` as before (a listener
 *   that sets both writes `mode: audit` and `socket_mode: "0660"`).
 */
import { didYouMean } from './problems.js'

export const DECISION_MODES = ['audit', 'enforce'] as const
export type DecisionMode = (typeof DECISION_MODES)[number]

/** What a listener's `mode:` value is: a decision mode, or (anything else) a socket file mode to check. */
export function decisionMode(value: unknown): DecisionMode | undefined {
  return DECISION_MODES.find((m) => m === value)
}

/** `"0660"` → 0o660. YAML reads an unquoted 0660 as the decimal number 660, hence strings only. */
export function parseSocketMode(value: unknown, key: 'mode' | 'socket_mode' | 'flag'): { mode: number } | { error: string } {
  if (typeof value === 'number') return { error: `write the mode as a quoted octal string, like "0660" (unquoted, YAML reads ${value} as a decimal number)` }
  const m = /^(?:0o?)?([0-7]{1,3})$/.exec(String(value))
  if (m !== null) return { mode: parseInt(m[1] ?? '', 8) }
  const text = String(value)
  const decision = key === 'mode' && /^[a-z]+$/i.test(text)
    ? ` nor a decision mode (${DECISION_MODES.join(' or ')})${didYouMean(text.toLowerCase(), DECISION_MODES)}`
    : ''
  return { error: `${JSON.stringify(value)} is not an octal mode of at most 0777, like "0660"${decision}` }
}

/** DOCKGATE_AUDIT_ONLY and the like: exactly 1, true, 0 or false. */
export function parseSwitch(text: string): boolean | undefined {
  return text === '1' || text === 'true' ? true : text === '0' || text === 'false' ? false : undefined
}
