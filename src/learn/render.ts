/**
 * The learned policy as YAML, each entry with a comment saying how often, with which decisions, by
 * whom and on which listener it was seen; what stays refused is listed at the end.
 */
import { Document, isMap, isScalar, isSeq, type Node, type YAMLMap, type YAMLSeq } from 'yaml'
import type { SectionEntry } from '../loosen/section.js'
import type { Operation } from '../types.js'
import type { Learned, Seen } from './build.js'
import { describeClient, SEEN_DECISIONS, type SeenRecord } from './records.js'

/** Rule names by the first path segment of an operation's route. */
const AREAS: Readonly<Record<string, string>> = {
  containers: 'containers', exec: 'exec', images: 'images', commit: 'images', distribution: 'images',
  build: 'build', session: 'build', grpc: 'build', networks: 'networks', volumes: 'volumes', plugins: 'plugins',
  swarm: 'swarm', services: 'swarm', tasks: 'swarm', nodes: 'swarm', secrets: 'swarm', configs: 'swarm',
}

/** A comment holds one line: control characters (a subject can carry any) become spaces. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ')
}

function list(items: readonly string[], max: number): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`
}

/** `3× (allow 1, would-deny 2) by uid 1000 on unix:///run/dockgate.sock`. */
export function seenSummary(records: readonly SeenRecord[]): string {
  const decisions = SEEN_DECISIONS.map((d) => [d, records.filter((r) => r.decision === d).length] as const).filter(([, n]) => n > 0)
  const clients = [...new Set(records.map((r) => describeClient(r.client)))]
  const listeners = [...new Set(records.map((r) => r.listener).filter((l) => l !== ''))]
  const on = listeners.length === 0 ? '' : ` on ${list(listeners, 2)}`
  return oneLine(`${records.length}× (${decisions.map(([d, n]) => `${d} ${n}`).join(', ')}) by ${list(clients, 3)}${on}`)
}

function entryComment(e: SectionEntry<Seen>, extended: string | undefined): string {
  if (e.inherited) return ` from ${extended ?? 'the defaults'} (this list replaces the inherited one)`
  const first = e.tags[0]!
  const others = [...new Set(e.tags.map((t) => t.record.operation))].filter((op) => op !== first.record.operation)
  const also = others.length === 0 ? '' : ` (also ${list(others, 3)})`
  return ` ${seenSummary(e.tags.map((t) => t.record))}: ${oneLine(`${first.record.operation} ${first.violation.field}=${first.violation.value}`)}${also}`
}

function ruleName(area: string, taken: ReadonlySet<string>): string {
  let name = `learned-${area}`
  for (let i = 2; taken.has(name); i++) name = `learned-${area}-${i}`
  return name
}

function groupRules(ops: Learned['operations'], taken: ReadonlySet<string>): Array<{ name: string; ops: Array<readonly [Operation, SeenRecord[]]> }> {
  const groups = new Map<string, Array<readonly [Operation, SeenRecord[]]>>()
  for (const entry of ops) {
    const area = AREAS[entry[0].template.split('/')[1] ?? ''] ?? 'system'
    groups.set(area, [...(groups.get(area) ?? []), entry])
  }
  return [...groups].map(([area, list]) => ({ name: ruleName(area, taken), ops: list }))
}

/** The node at `path` in the document (a key path into maps, indexes into sequences). */
function nodeAt(doc: Document, path: ReadonlyArray<string | number>): Node | undefined {
  const n: unknown = doc.getIn(path, true)
  return isMap(n) || isSeq(n) || isScalar(n) ? n : undefined
}

/** Prints the learned policy. */
export function renderPolicy(learned: Learned): string {
  const rules = groupRules(learned.operations, new Set(learned.base?.rules.map((r) => r.name) ?? []))
  const raw: Record<string, unknown> = {
    description: `learned by dockgate learn from ${learned.records.length} audit records made under policy "${learned.policy}"`,
  }
  if (learned.extends !== undefined) raw['extends'] = [learned.extends]
  if (rules.length > 0 || learned.extends === undefined) raw['rules'] = rules.map((g) => ({ name: g.name, allow: g.ops.map(([op]) => op.id) }))
  const guards = learned.section.toRaw()
  if (learned.floor !== undefined) guards['api_version_floor'] = learned.floor.version
  if (Object.keys(guards).length > 0) raw['guards'] = guards
  const doc = new Document(raw)

  rules.forEach((g, i) => {
    const seq = nodeAt(doc, ['rules', i, 'allow']) as YAMLSeq | undefined
    g.ops.forEach(([, records], j) => {
      const item = seq?.items[j]
      if (isScalar(item)) item.comment = ` ${seenSummary(records)}`
    })
  })
  for (const [key, entries] of learned.section.entries()) {
    const path = ['guards', ...key.split('.')]
    const node = nodeAt(doc, path)
    if (isSeq(node)) {
      node.flow = false
      entries.forEach((e, j) => {
        const item = (node as YAMLSeq).items[j]
        if (isMap(item)) (item as YAMLMap).commentBefore = entryComment(e, learned.extends)
        else if (isScalar(item)) item.comment = entryComment(e, learned.extends)
      })
    } else if (isScalar(node) && entries[0] !== undefined) {
      node.comment = entryComment(entries[0], learned.extends)
    }
  }
  if (learned.floor !== undefined) {
    const node = nodeAt(doc, ['guards', 'api_version_floor'])
    if (isScalar(node)) node.comment = ` ${seenSummary(learned.floor.records)}: the lowest API version seen`
  }

  const decisions = SEEN_DECISIONS.map((d) => [d, learned.records.filter((r) => r.decision === d).length] as const)
    .filter(([, n]) => n > 0).map(([d, n]) => `${d} ${n}`).join(', ')
  doc.commentBefore = [
    ` Learned by \`dockgate learn\` from ${learned.records.length} audit records (${decisions}) made under policy "${oneLine(learned.policy)}".`,
    ' Every entry below was seen, with how often, with which decision and by whom; review it before use.',
    ' Under this policy the same requests pass; anything else is refused as usual.',
    ...(learned.baseNote === undefined ? [] : [` Note: ${oneLine(learned.baseNote)}.`]),
  ].join('\n')
  if (learned.notLearned.length > 0) {
    doc.comment = [
      ' Not learned: these stay refused under this policy too.',
      ...learned.notLearned.map((n) => ` - ${oneLine(n.what)}: ${oneLine(n.why)}; ${seenSummary(n.records)}`),
    ].join('\n')
  }
  // No folding: a long description or bind path stays on one line.
  return doc.toString({ lineWidth: 0 })
}
