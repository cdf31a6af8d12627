/**
 * What an operation refusal says: the operation by route and operationId, which policy refused
 * it, and what would allow it — the policy line to add (or the deny rule in the way) and the
 * shipped presets that already allow it. The docker CLI prints the message verbatim, so it has
 * to tell a user what to do without the README at hand.
 *
 *   POST /containers/{id}/kill (ContainerKill) is not allowed by policy "read-only"
 *   → hint: to allow it add "ContainerKill" to an allow: list in a policy that extends read-only
 *           (presets with it: container-operator, ci, acme-companion, …)
 */
import { readCompatEnv } from '../compat/tecnativa.js'
import { FILE_ACCESS, POST, SECTIONS } from '../compat/tecnativa-vars.js'
import { allOperations } from '../endpoints.js'
import type { Operation } from '../types.js'
import { PolicyLoader, type CompiledPolicy } from './compile.js'
import { decide, type Decision } from './decide.js'
import { listPresets, presetPath } from './presets.js'

/** How many presets a hint names before `…`. */
const MAX_PRESETS = 3

/** Presets never suggested: `full` turns every guard off, and is never the way to allow one operation. */
const NOT_SUGGESTED: ReadonlySet<string> = new Set(['full'])

/** The general-purpose presets, named before the presets made for one tool, narrowest first. */
const GENERAL: readonly string[] = ['events-only', 'read-only', 'container-operator', 'ci']

/** The refusal's two parts: what was refused (the message) and what would allow it (the hint). */
export interface OperationAdvice {
  readonly message: string
  readonly hint: string
}

export function operationAdvice(policy: CompiledPolicy, op: Operation, decision: Decision): OperationAdvice {
  const what = `${op.method} ${op.template} (${op.id})`
  if (decision.rule !== undefined) {
    // A deny rule matched: no allow can win over it (decide.ts).
    return {
      message: `${what} is ${decision.reason} of policy "${policy.name}"`,
      hint: `to allow it narrow or remove rule ${decision.rule} (a deny wins over every allow)`,
    }
  }
  const presets = presetsAllowing(op.id)
  const listed = presets.length === 0
    ? ' (no preset has it)'
    : ` (presets with it: ${presets.slice(0, MAX_PRESETS).join(', ')}${presets.length > MAX_PRESETS ? ', …' : ''})`
  const message = `${what} is not allowed by policy "${policy.name}"`
  if (policy.source === ENV_POLICY_SOURCE) {
    // The policy made from Tecnativa-style variables (compat/tecnativa.ts): the variables are the line.
    const vars = variablesFor(op)
    const set = vars?.map((v) => `${v}=1`)
    const how = set === undefined ? 'choose a policy with --policy' : `set ${set.length === 1 ? set[0]! : `${set.slice(0, -1).join(', ')} and ${set[set.length - 1]!}`}, or choose a policy with --policy`
    return { message, hint: `to allow it ${how}${listed}` }
  }
  const where = isPreset(policy)
    ? `an allow: list in a policy that extends ${policy.name}`
    : 'the policy\'s allow: list'
  return { message, hint: `to allow it add "${op.id}" to ${where}${listed}` }
}

/** CompiledPolicy.source of the policy compat/tecnativa.ts makes from environment variables. */
const ENV_POLICY_SOURCE = 'environment'

/**
 * The Tecnativa-style variables that open an operation: its section's, the file-access one where
 * dockgate asks for it, POST=1 for a method other than GET and HEAD. Checked by making the policy
 * those variables alone would make and deciding on the operation; undefined when they would not
 * allow it (then the hint names no variable rather than a wrong one).
 */
function variablesFor(op: Operation): string[] | undefined {
  const section = SECTIONS.find((sec) => op.template.toLowerCase().startsWith(sec.prefix))
  if (section === undefined) return undefined
  const vars = [section.variable]
  for (const [variable, ids] of Object.entries(FILE_ACCESS)) if (ids.includes(op.id)) vars.push(variable)
  if (op.method !== 'GET' && op.method !== 'HEAD') vars.push(POST)
  const made = readCompatEnv(Object.fromEntries(vars.map((v) => [v, '1'])), { policyChosen: false }).policy
  if (made === undefined) return undefined
  const d = decide(made, { method: op.method, path: op.template.replace(/\{[^}]+\}/g, 'x'), operation: op })
  return d.allow ? vars : undefined
}

function isPreset(policy: CompiledPolicy): boolean {
  return policy.source === presetPath(policy.name)
}

let byOperation: ReadonlyMap<string, readonly string[]> | undefined

/**
 * The shipped presets (but `full`) that allow an operation: the general ones first (GENERAL), then
 * the tool presets narrowest first (fewest operations allowed), then by name. Every preset is
 * loaded once, on the first call: main.ts makes it at start, so that no refusal waits for it.
 */
export function presetsAllowing(id: string): readonly string[] {
  byOperation ??= indexPresets()
  return byOperation.get(id) ?? []
}

function indexPresets(): Map<string, readonly string[]> {
  const loader = new PolicyLoader()
  const ops = allOperations()
  const sized: Array<{ name: string; allowed: Set<string> }> = []
  for (const name of listPresets()) {
    if (NOT_SUGGESTED.has(name)) continue
    const policy = loader.load(name).policy
    if (policy === undefined) continue // a broken preset is reported where it is used
    const allowed = new Set<string>()
    for (const op of ops) {
      const d = decide(policy, { method: op.method, path: op.template.replace(/\{[^}]+\}/g, 'x'), operation: op })
      if (d.allow && d.rule !== undefined) allowed.add(op.id)
    }
    sized.push({ name, allowed })
  }
  const rank = (name: string): number => {
    const i = GENERAL.indexOf(name)
    return i < 0 ? GENERAL.length : i
  }
  sized.sort((a, b) => rank(a.name) - rank(b.name) || a.allowed.size - b.allowed.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const out = new Map<string, string[]>()
  for (const { name, allowed } of sized) {
    for (const id of allowed) {
      const list = out.get(id)
      if (list === undefined) out.set(id, [name])
      else list.push(name)
    }
  }
  return out
}
