/**
 * Reading /metrics as Prometheus would: the exposition text parsed by prom2javascript (a parser of
 * the Prometheus text format, prom2json-like output), not by a regex of our own.
 * (parse-prometheus-text-format was tried first: it merges the series of a labelled histogram into one.)
 */
import { getMetricsFromIterator } from 'prom2javascript'

export interface Sample {
  readonly labels?: Readonly<Record<string, string>>
  /** Counters, gauges, untyped. */
  readonly value?: number
  /** Histograms: cumulative counts by upper bound, then count and sum. */
  readonly buckets?: Readonly<Record<string, number>>
  readonly count?: number
  readonly sum?: number
}

export interface Family {
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  readonly help: string
  readonly data: readonly Sample[]
}

export type Families = Readonly<Record<string, Family>>

export async function parseMetrics(text: string): Promise<Families> {
  return (await getMetricsFromIterator(text.split('\n')[Symbol.iterator]())) as Families
}

export function family(families: Families, name: string): Family {
  const f = families[name]
  if (f === undefined) throw new Error(`no metric family ${name} in ${Object.keys(families).join(', ')}`)
  return f
}

/** Every sample of a family as `{labels…} value` lines (histograms: `count=N`), sorted: for exact comparisons. */
export function series(families: Families, name: string): string[] {
  return family(families, name).data.map((m) => `${JSON.stringify(m.labels ?? {})} ${m.value ?? `count=${m.count ?? ''}`}`).sort()
}
