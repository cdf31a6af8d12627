/** The Markdown results table: absolute figures, ratio dockgate/direct, budget of issue 4. */

/** ✓ / ✗ for a metric against its budget, or '' when it has none (or a side is missing). */
export function verdict(m) {
  const b = m.budget
  if (!b) return ''
  const { direct: d, dockgate: g } = m
  switch (b.kind) {
    case 'ratio-min': return ok(typeof d === 'number' && typeof g === 'number' && g / d >= b.value)
    case 'added-max': return ok(typeof d === 'number' && typeof g === 'number' && g - d <= b.value)
    case 'max': return ok(typeof g === 'number' && g <= b.value)
    case 'true': return ok(g === true)
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

function ratio(m) {
  const { direct: d, dockgate: g } = m
  if (typeof d !== 'number' || typeof g !== 'number' || d === 0) return '—'
  return `${(g / d).toFixed(2)}×`
}

/** @param {{title: string, metrics?: object[], error?: string}[]} scenarios */
export function markdownTable(scenarios) {
  const rows = [
    '| scenario | metric | direct | dockgate | dockgate/direct | budget | vs budget |',
    '|---|---|---:|---:|---:|---|:-:|',
  ]
  for (const s of scenarios) {
    if (s.error) {
      rows.push(`| ${s.title} | **failed** | ${s.error.split('\n')[0].replaceAll('|', '\\|').slice(0, 160)} | | | | ✗ |`)
      continue
    }
    s.metrics.forEach((m, i) => {
      rows.push(`| ${i === 0 ? s.title : ''} | ${m.name} | ${fmt(m.direct, m.unit)} | ${fmt(m.dockgate, m.unit)} | ${ratio(m)} | ${m.budget?.text ?? ''} | ${verdict(m)} |`)
    })
  }
  return rows.join('\n')
}
