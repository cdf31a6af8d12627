/**
 * SIGHUP: read the configuration again — the config file, every policy and TLS file it names,
 * with the flags and environment dockgate was started with — and apply it whole, or not at all.
 *
 * - Valid: it applies to the next request (server.ts reload): listeners added and removed,
 *   policies, clients and tenants of existing ones changed, TLS files re-read. Open streams and
 *   hijacked sessions continue under the configuration that admitted them.
 * - Not valid (any problem anywhere, or a new address that cannot be bound): the configuration in
 *   use stays, every problem is logged as `file:line:col: message`, and the failure is counted.
 * - Every reload is logged, and counted by result (dockgate_config_reloads_total). dockgate never
 *   exits on SIGHUP. Reloads never overlap: a SIGHUP during one is done after it, once.
 */
import type { Logger } from 'pino'
import { loadConfig, type Config } from './config.js'
import { allowsOperation } from './policy/allows.js'
import { ConfigError, formatProblem } from './problems.js'
import { formatAddress, type RunningDockgate } from './server.js'

/** What the start of dockgate, and each reload, says about a configuration before it is used. */
export function announceConfig(config: Config, logger: Logger): void {
  for (const w of config.warnings) logger.warn(w)
  for (const l of config.listeners) {
    if (l.auditOnly) {
      logger.warn({ listener: formatAddress(l.address), auditOnly: true },
        `!!! ${formatAddress(l.address)} is in AUDIT-ONLY mode: its policy REFUSES NOTHING there. What policy "${l.policy.name}" would refuse is forwarded ` +
          'and recorded as decision "would-deny" (only requests dockgate cannot read exactly, or that reach into dockgate itself, are still refused). ' +
          'Use it to observe a tool (then `dockgate learn`), never to protect an engine. !!!')
    }
    for (const policy of [l.policy, ...l.clients.map((c) => c.policy)]) {
      if (policy.unguarded) {
        logger.warn(
          `!!! ${formatAddress(l.address)} uses policy "${policy.name}", which allows EVERY Engine API call with body guards OFF. ` +
            `Any client of this socket is root on this host. Use it only to debug or to record traffic. !!!`,
        )
      } else if (policy.guards.build.grpc && allowsOperation(policy, 'BuildKitGrpc')) {
        logger.warn(
          `!!! ${formatAddress(l.address)} uses policy "${policy.name}", which opens POST /grpc (BuildKit's raw gRPC API, guards.build.grpc). ` +
            'dockgate cannot inspect it: every build option passes unchecked, including host networking for build steps and, ' +
            'where the daemon allows it, the security.insecure entitlement (privileged build steps). !!!',
        )
      }
    }
  }
}

export interface Reloader {
  /** Asks for a reload (a SIGHUP arrived); resolves when that reload, or the one it joined, is done. */
  request(): Promise<void>
}

export interface ReloaderOptions {
  readonly argv: readonly string[]
  readonly env: NodeJS.ProcessEnv
  readonly logger: Logger
  readonly running: RunningDockgate
  /** The configuration dockgate started with. */
  readonly initial?: Config
  /** Before a valid configuration is applied (socket directories); a thrown error fails the reload. */
  readonly prepare?: (next: Config) => void
  /** After it was applied (the engine watch follows a new upstream). */
  readonly applied?: (next: Config, previous: Config) => void
}

export function createReloader(opts: ReloaderOptions): Reloader {
  const { logger, running } = opts
  const metrics = running.metrics
  let current = opts.initial
  let busy: Promise<void> | undefined
  let again = false

  const fail = (problems: readonly string[], why: string): void => {
    for (const p of problems) logger.error({ reload: 'failure' }, p)
    logger.error({ reload: { result: 'failure', problems } }, `configuration reload failed: ${why}; the configuration in use stays`)
    metrics.reloads.inc({ result: 'failure' })
    metrics.lastReloadSuccessful.set(0)
  }

  async function once(): Promise<void> {
    logger.info('SIGHUP: reloading the configuration')
    let next
    try {
      next = loadConfig(opts.argv, opts.env)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      fail(err.problems.map(formatProblem), `${err.problems.length} problem(s)`)
      return
    }
    if ('help' in next || 'version' in next) return // not with the arguments dockgate runs with
    announceConfig(next, logger)
    try {
      opts.prepare?.(next)
    } catch (err) {
      fail([(err as Error).message], 'a new listener\'s socket directory is not usable')
      return
    }
    // Before the listeners' loggers are made from it, so that the new level reaches them.
    const level = logger.level
    logger.level = next.logLevel
    let summary
    try {
      summary = await running.reload(next)
    } catch (err) {
      logger.level = level
      fail([(err as Error).message], 'a new address could not be bound')
      return
    }
    if (current !== undefined) opts.applied?.(next, current)
    current = next
    if (summary.problems.length > 0) {
      fail(summary.problems, 'the new configuration was applied except where listed')
      return
    }
    metrics.reloads.inc({ result: 'success' })
    metrics.lastReloadSuccessful.set(1)
    metrics.lastReloadSuccessTime.set(Date.now() / 1000)
    const list = (what: string, names: readonly string[]): string => (names.length === 0 ? '' : `; ${what} ${names.join(', ')}`)
    logger.info({ reload: { result: 'success', ...summary } },
      `configuration reloaded${list('added', summary.added)}${list('removed', summary.removed)}${list('updated', summary.updated)}`)
  }

  async function loop(): Promise<void> {
    do {
      again = false
      try {
        await once()
      } catch (err) {
        // A bug: say so, count it, keep running with what is in use.
        logger.error({ err }, 'internal error during a configuration reload')
        metrics.reloads.inc({ result: 'failure' })
        metrics.lastReloadSuccessful.set(0)
      }
    } while (again)
    busy = undefined
  }

  return {
    request() {
      if (busy !== undefined) {
        again = true
        return busy
      }
      busy = loop()
      return busy
    },
  }
}
