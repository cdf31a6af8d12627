/**
 * Where the shipped presets live, and how a policy reference (`read-only`, `./ci.yaml`) names a file.
 *
 * A bare name — no `/` and no `.yaml`/`.yml` ending — is a preset: `policies/<name>.yaml` in the
 * package. Anything else is a path. So `extends: [base]` never picks up a stray `base.yaml` from
 * the current directory; the user writes `./base.yaml` for that.
 */
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Preset names as they may appear in files and flags. */
export const PRESET_NAME = /^[a-z0-9][a-z0-9-]*$/

let root: string | undefined

/**
 * The package root: the nearest directory above this module with both `package.json` and
 * `policies/`. This module sits at `src/policy/` under vitest and at `dist/policy/` after build;
 * walking up works for both and for an installed package.
 */
export function packageRoot(): string {
  if (root !== undefined) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'policies'))) return (root = dir)
    const up = dirname(dir)
    if (up === dir) throw new Error(`dockgate: cannot find the package root (policies/) above ${fileURLToPath(import.meta.url)}`)
    dir = up
  }
}

export function presetDir(): string {
  return join(packageRoot(), 'policies')
}

/** Names of the shipped presets, sorted. */
export function listPresets(): string[] {
  return readdirSync(presetDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .filter((n) => PRESET_NAME.test(n))
    .sort()
}

/** True when `ref` names a preset rather than a file. */
export function isPresetRef(ref: string): boolean {
  return !ref.includes('/') && !/\.ya?ml$/i.test(ref)
}

export function presetPath(name: string): string {
  return join(presetDir(), `${name}.yaml`)
}

/** The shipped `full` preset, the only file allowed to say `unguarded: true`. */
export function isShippedFull(absPath: string): boolean {
  return absPath === presetPath('full')
}

export type PolicyRef =
  | { readonly kind: 'preset'; readonly name: string; readonly path: string }
  | { readonly kind: 'file'; readonly path: string }

/** Resolves a reference: presets to `policies/<name>.yaml`, paths relative to `baseDir`. */
export function resolvePolicyRef(ref: string, baseDir: string): PolicyRef {
  if (isPresetRef(ref)) return { kind: 'preset', name: ref, path: presetPath(ref) }
  return { kind: 'file', path: resolve(baseDir, ref) }
}
