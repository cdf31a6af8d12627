/**
 * The Markdown results table: absolute figures and ratios to direct for dockgate and each peer,
 * and issue 11's goal with dockgate's verdict.
 */

/** ✓ / ✗ for a metric against its goal, or '' when it has none (or a side is missing). */
export function verdict(m) {
  const b = m.budget
  if (!b) return ''
  const { direct: d, dockgate: g } = m
  const p = b.peer === undefined ? undefined : m.peers?.[b.peer]
  switch (b.kind) {
    case 'ratio-min': return ok(typeof d === 'number' && typeof g === 'number' && g / d >= b.value)
    case 'added-max': return ok(typeof d === 'number' && typeof g === 'number' && g - d <= b.value)
    case 'max': return ok(typeof g === 'number' && g <= b.value)
    case 'true': return ok(g === true)
    // Judged only when the peer ran and has its figure.
    case 'peer-ratio-min': return typeof p === 'number' && typeof g === 'number' ? ok(g >= p) : ''
    case 'peer-max': return typeof p === 'number' && typeof g === 'number' ? ok(g <= b.value * p) : ''
    default: return ''
  }
}
const ok = (pass) => (pass ? '✓' : '✗')

function fmt(x, unit) {
  if (x === undefined || x === null) return '—'
  if (typeof x === 'boolean') return x ? 'yes' : 'NO'
  if (!Number.isFinite(x)) return String(x)
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2
  return `${x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}${unit === 'bool' ? '' : ` ${unit}`}`
}

function ratio(d, g) {
  if (typeof d !== 'number' || typeof g !== 'number' || d === 0) return '—'
  return `${(g / d).toFixed(2)}×`
}

const cell = (s) => String(s).split('\n')[0].replaceAll('|', '\\|').slice(0, 160)

/** Names of the peers that appear in any scenario, in order of first appearance. */
export function peerNames(scenarios) {
  const names = []
  for (const s of scenarios) {
    for (const m of s.metrics ?? []) for (const n of Object.keys(m.peers ?? {})) if (!names.includes(n)) names.push(n)
    for (const n of Object.keys(s.peerErrors ?? {})) if (!names.includes(n)) names.push(n)
  }
  return names
}

/** @param {{title: string, metrics?: object[], error?: string, peerErrors?: Record<string, string>}[]} scenarios */
export function markdownTable(scenarios) {
  const peers = peerNames(scenarios)
  const head = ['scenario', 'metric', 'direct', 'dockgate', 'dockgate/direct', ...peers.flatMap((p) => [p, `${p}/direct`]), 'goal', 'dockgate vs goal']
  const rows = [`| ${head.join(' | ')} |`, `|---|---|${head.slice(2, -2).map(() => '---:').join('|')}|---|:-:|`]
  for (const s of scenarios) {
    if (s.error) {
      rows.push(`| ${s.title} | **failed** | ${cell(s.error)} |${' |'.repeat(head.length - 3)}`)
      continue
    }
    s.metrics.forEach((m, i) => {
      const peerCells = peers.flatMap((p) => {
        const failed = s.peerErrors?.[p]
        if (failed !== undefined) return i === 0 ? [`fails: ${cell(failed)}`, ''] : ['', '']
        const v = m.peers?.[p]
        return [fmt(v, m.unit), typeof v === 'boolean' ? '—' : ratio(m.direct, v)]
      })
      rows.push(`| ${[i === 0 ? s.title : '', m.name, fmt(m.direct, m.unit), fmt(m.dockgate, m.unit), typeof m.dockgate === 'boolean' ? '—' : ratio(m.direct, m.dockgate), ...peerCells, m.budget?.text ?? '', verdict(m)].join(' | ')} |`)
    })
  }
  return rows.join('\n')
}
