/**
 * What dockgate remembers of the containers an updater removed, so that it can re-create them:
 * the engine's own inspect of each, taken by the target step just before the removal was
 * forwarded and kept only once the engine confirmed it (2xx). Keyed by the policy that removed it
 * and the container's name; bounded in count and in time; in memory only (a restart of dockgate
 * forgets, and a re-create after it is checked as any create).
 */
import type { ContainerInfo, EngineFacts } from '../engine-client.js'
import type { Violation } from '../guards/types.js'
import type { CompiledPolicy } from '../policy/compile.js'

/** Who may re-create what they removed: the same policy, and within a tenant, the same tenant. */
export interface RecreateScope {
  readonly policy: CompiledPolicy
  readonly tenant?: string | undefined
}

/** The store key of a scope: the policy file, and the tenant when there is one. */
export function scopeKey(scope: RecreateScope): string {
  return scope.tenant === undefined ? scope.policy.source : `${scope.policy.source}\u0000tenant ${scope.tenant}`
}

/** Most removed containers remembered at once; the oldest are forgotten first. */
export const MAX_REMOVED = 1000

export interface RemovedContainer {
  /** scopeKey of the policy (and tenant) that removed it: only that scope may re-create it. */
  readonly scope: string
  /** Its name, without the leading `/`. */
  readonly name: string
  readonly oldId: string
  /** When the engine confirmed the removal (dockgate's clock, ms). */
  readonly removedAt: number
  /** The engine's inspect of it before the removal. */
  readonly info: ContainerInfo
  /** The engine it ran on, for what the engine fills in by default. */
  readonly facts: EngineFacts
  /** What the ContainerCreate guard refuses in its definition under that policy: what it may keep. */
  readonly had: readonly Violation[]
  /** removed → creating (a re-create is forwarded) → recreated (the engine created it). */
  state: 'removed' | 'creating' | 'recreated'
  /** When the re-create ('removed'), or the start of the re-created container ('recreated'), stops being allowed. */
  until: number
  /** The policy's window (guards.container.recreate.within_ms) when it was removed. */
  readonly withinMs: number
  /** When the engine created the replacement. */
  recreatedAt?: number
}

export class RecreateStore {
  readonly #byKey = new Map<string, RemovedContainer>()

  constructor(
    /** dockgate's clock, in ms (tests pass their own). */
    readonly now: () => number = Date.now,
    private readonly max: number = MAX_REMOVED,
  ) {}

  static key(scope: string, name: string): string {
    return `${scope}\u0000${name.replace(/^\//, '')}`
  }

  /** Remembers a removal the engine confirmed; a newer removal under the same name replaces an older one. */
  remember(entry: Omit<RemovedContainer, 'state' | 'until' | 'removedAt'>): RemovedContainer {
    const now = this.now()
    const key = RecreateStore.key(entry.scope, entry.name)
    this.#byKey.delete(key)
    const removed: RemovedContainer = { ...entry, removedAt: now, state: 'removed', until: now + entry.withinMs }
    this.#byKey.set(key, removed)
    while (this.#byKey.size > this.max) this.#byKey.delete(this.#byKey.keys().next().value!)
    return removed
  }

  /** The removal remembered under this name, expired or not (callers say which). */
  find(scope: string, name: string): RemovedContainer | undefined {
    this.#sweep()
    return this.#byKey.get(RecreateStore.key(scope, name))
  }

  /** Forgets entries whose window ended more than a window ago (kept a while to say "too late"). */
  #sweep(): void {
    const now = this.now()
    for (const [key, e] of this.#byKey) {
      if (now > e.until + e.withinMs) this.#byKey.delete(key)
    }
  }

  get size(): number {
    return this.#byKey.size
  }
}
