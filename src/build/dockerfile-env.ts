/**
 * What the legacy builder's variables hold at each instruction, as far as dockgate can know.
 *
 * moby builder/dockerfile/evaluator.go dispatch() expands words with the stage's runConfig.Env
 * (the base image's environment, then the stage's ENV), followed by the build args the stage
 * allows (builder/dockerfile/buildargs.go FilterAllowed: ARGs declared in the stage and the
 * built-in proxy variables, valued from the `buildargs` query parameter, else the ARG default, else
 * the meta ARG before the first FROM). The environment wins over build args.
 *
 * The base image's environment is not read by dockgate: it is known only for `FROM scratch`
 * (empty but for PATH, builder/dockerfile/dispatchers.go beginStage/setDefaultPath); for any other
 * base a variable the stage has not set with ENV is Unknown.
 */
import type { Lookup, Unknown, VarValue } from './shell-word.js'

/** The `buildargs` query parameter: name → value (null: named without a value), or unreadable. */
export type BuildArgs = ReadonlyMap<string, string | null> | 'unreadable'

/** buildargs.go builtinAllowedBuildArgs. */
const BUILTIN_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy'])

/** system.DefaultPathEnv on Linux. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export const UNREADABLE_ARGS: Unknown = { unknown: 'the buildargs query parameter could not be read' }
const POISONED: Unknown = { unknown: 'an earlier ENV or ARG set a variable whose name dockgate could not expand' }

/** A declared ARG's default: its expanded value, or null when declared without one. */
type Declared = string | null | Unknown

export class BuildEnv {
  /** Meta ARGs (before the first FROM). */
  private readonly meta = new Map<string, Declared>()
  private metaPoisoned = false
  private stage: { vars: Map<string, VarValue>; baseKnown: boolean; args: Map<string, Declared>; poisoned: boolean } | undefined

  constructor(private readonly buildArgs: BuildArgs) {}

  get inStage(): boolean {
    return this.stage !== undefined
  }

  /** getBuildArg: the query's value, else the default, else the meta ARG's. */
  private buildArg(name: string, declared: Declared | undefined): VarValue {
    if (this.buildArgs === 'unreadable') return UNREADABLE_ARGS
    const given = this.buildArgs.get(name)
    if (given !== undefined && given !== null) return given
    if (declared === undefined || declared === null) {
      if (this.metaPoisoned) return POISONED
      const meta = this.meta.get(name)
      return meta === undefined ? null : meta
    }
    return declared
  }

  /** The lookup in effect before the first FROM (meta ARG and FROM expansion). */
  readonly metaLookup: Lookup = (name) => {
    if (this.metaPoisoned) return POISONED
    if (!this.meta.has(name) && !BUILTIN_ARGS.has(name)) return null
    return this.buildArg(name, this.meta.get(name))
  }

  /** The lookup in effect at the current instruction. */
  readonly lookup: Lookup = (name) => {
    const s = this.stage
    if (s === undefined) return this.metaLookup(name)
    if (s.poisoned) return POISONED
    const v = s.vars.get(name)
    if (v !== undefined) return v
    if (!s.baseKnown) return { unknown: `$${name} is not set by ENV in this stage, so it may come from the base image's environment, which dockgate does not read` }
    if (!s.args.has(name) && !BUILTIN_ARGS.has(name)) return null
    return this.buildArg(name, s.args.get(name))
  }

  /** FROM: a new stage, its environment known only for `scratch`. */
  beginStage(baseKnown: boolean): void {
    const vars = new Map<string, VarValue>()
    if (baseKnown) vars.set('PATH', DEFAULT_PATH)
    this.stage = { vars, baseKnown, args: new Map(), poisoned: false }
  }

  /** ARG name[=default], key and default already expanded (undefined key: could not be expanded). */
  declareArg(name: string | undefined, value: Declared): void {
    if (name === undefined) {
      if (this.stage) this.stage.poisoned = true
      else this.metaPoisoned = true
      return
    }
    if (this.stage) this.stage.args.set(name, value)
    else this.meta.set(name, value)
  }

  /** ENV name=value (undefined name: could not be expanded). */
  setEnv(name: string | undefined, value: VarValue): void {
    if (!this.stage) return
    if (name === undefined) this.stage.poisoned = true
    else this.stage.vars.set(name, value)
  }
}
