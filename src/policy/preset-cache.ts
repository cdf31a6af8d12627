/**
 * The shipped presets as JSON, made at build time (`npm run build` runs scripts/build-presets.mjs
 * after tsc): each preset's YAML text and its parsed value, for the presets that passed the
 * policy schema then, with the schema they passed.
 *
 * Loading a preset from it needs neither the YAML parser nor ajv's compiled validators (about
 * 10–20 MiB of RSS at start; bench/README.md). It is used only when the preset's text is exactly
 * the one that was checked and the schema is the one running now; otherwise the preset is parsed
 * and validated as any policy file. Everything after the schema (operations, globs, extends, guard
 * rules) is checked at load as always. Positions for a warning about a cached preset come from
 * parsing its text then.
 */
import { readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { parseYaml, type JsonPath, type YamlFile } from '../problems.js'
import { packageRoot, presetDir } from './presets.js'

/** Where the build writes it, relative to the package root. */
export const PRESET_CACHE_FILE = 'dist/presets.json'

export interface PresetCache {
  /** The policy schema the presets were checked against (load.ts SCHEMA_FINGERPRINT). */
  readonly schema: string
  /**
   * By file name (`full.yaml`): the text checked, its value, and the positions every load asks
   * for (each rule's, which compiled rules carry as `file:line:col`), by path joined with `.`.
   */
  readonly presets: Readonly<Record<string, { readonly source: string; readonly value: unknown; readonly positions: Readonly<Record<string, readonly [number, number]>> }>>
}

/** The paths whose positions the cache holds: each rule's (compile.ts names rules by them). */
export function cachedPaths(value: unknown): JsonPath[] {
  const rules = (value as { rules?: unknown } | null)?.rules
  return Array.isArray(rules) ? rules.map((_, i) => ['rules', i]) : []
}

/** When set, the cache is ignored: the build checks presets the ordinary way (withoutCache). */
let bypass = false

/** Runs `fn` with the cache ignored. */
export function withoutCache<T>(fn: () => T): T {
  const was = bypass
  bypass = true
  try {
    return fn()
  } finally {
    bypass = was
  }
}

function readCache(): PresetCache | undefined {
  if (bypass) return undefined
  try {
    return JSON.parse(readFileSync(join(packageRoot(), PRESET_CACHE_FILE), 'utf8')) as PresetCache
  } catch {
    return undefined
  }
}

/**
 * The preset at `file` as a YamlFile whose value comes from the cache, or undefined when `file` is
 * not a shipped preset, has no entry, or its text or the schema changed since the build.
 * The cache is read at each call (start and reloads only), and not kept.
 */
export function cachedPreset(file: string, text: string, display: string, schema: () => string): YamlFile | undefined {
  if (dirname(file) !== presetDir()) return undefined
  return presetFromCache(readCache(), file, text, display, schema)
}

/** cachedPreset with the cache given (tests). */
export function presetFromCache(cache: PresetCache | undefined, file: string, text: string, display: string, schema: () => string): YamlFile | undefined {
  const entry = cache?.presets[basename(file)]
  if (cache === undefined || entry === undefined || entry.source !== text || cache.schema !== schema()) return undefined
  let parsed: YamlFile | undefined
  const real = (): YamlFile => (parsed ??= parseYaml(text, display).yaml)
  return {
    file: display,
    value: entry.value,
    locate: (path: JsonPath, key?: boolean) => {
      const known = key === true ? undefined : entry.positions[path.join('.')]
      return known === undefined ? real().locate(path, key) : { line: known[0], col: known[1] }
    },
    problem: (path: JsonPath, message: string, key?: boolean) => real().problem(path, message, key),
  }
}
