/**
 * Plugins run as root on the host with whatever mounts, devices and capabilities they ask for
 * (moby plugin/manager_linux.go): PluginPull, PluginUpgrade, PluginCreate, PluginSet and PluginEnable are
 * refused unless guards.plugins.allow is true or lists the plugin (reference globs, matched like
 * images: `vieux/sshfs:latest`, `docker.io/vieux/sshfs:latest`). Every name the request carries
 * (the remote reference and the local name or alias) must be allowed. Bodies are not read.
 */
import { ANY } from '../body/shape.js'
import { ANY_GLOB, type GlobList } from './glob.js'
import { imageRefProblem } from './image-ref.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Findings } from './values.js'

/** Why a plugin reference is not allowed, or undefined when it is. */
export function pluginRefProblem(ref: string, allow: GlobList): string | undefined {
  if (allow === ANY_GLOB) return undefined
  if (allow.patterns.length === 0) return 'is a plugin, and plugins are not allowed (guards.plugins.allow)'
  return imageRefProblem(ref, allow, 'guards.plugins.allow')
}

/** Where each plugin operation carries plugin names. */
const NAMES: Readonly<Record<string, ReadonlyArray<{ readonly from: 'query' | 'params'; readonly key: string }>>> = {
  PluginPull: [{ from: 'query', key: 'remote' }, { from: 'query', key: 'name' }],
  PluginUpgrade: [{ from: 'params', key: 'name' }, { from: 'query', key: 'remote' }],
  PluginCreate: [{ from: 'query', key: 'name' }],
  PluginSet: [{ from: 'params', key: 'name' }],
  PluginEnable: [{ from: 'params', key: 'name' }],
}

export function checkPlugin(ctx: GuardContext): Violation[] {
  const findings = new Findings()
  const allow = ctx.rules.plugins.allow
  const refs: Array<readonly [string, string]> = []
  for (const { from, key } of NAMES[ctx.operationId] ?? []) {
    const values = from === 'query' ? ctx.query.getAll(key) : ctx.params[key] === undefined ? [] : [ctx.params[key] ?? '']
    for (const v of values) if (v !== '') refs.push([`${from}.${key}`, v])
  }
  if (refs.length === 0 && allow !== ANY_GLOB) {
    findings.add('plugin.allow', 'operation', ctx.operationId, 'names no plugin that guards.plugins.allow could check')
  }
  for (const [field, ref] of refs) {
    const problem = pluginRefProblem(ref, allow)
    if (problem !== undefined) findings.add('plugin.allow', field, ref, problem)
  }
  return findings.list
}

export const pluginGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkPlugin(ctx),
}

export const PLUGIN_OPERATIONS: readonly string[] = Object.keys(NAMES)
