/**
 * Wiring only: flags/env → loadConfig → startDockgate; SIGHUP → reload (reload.ts);
 * SIGTERM/SIGINT → graceful close.
 * Start-up problems (flags, config, policies, listeners) exit with code 2 and a list of
 * `file:line:col: message` lines — never a stack trace.
 */
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import { createLogger } from './log.js'
import { createLogDestination } from './log-destination.js'
import { loadConfig } from './config.js'
import { ConfigError, formatProblem } from './problems.js'
import { presetsAllowing } from './policy/advice.js'
import { startDockgate, type RunningDockgate } from './server.js'
import { announceConfig, createReloader, type Reloader } from './reload.js'
import { formatAddress } from './upstream.js'
import { ListenError } from './listen.js'
import { discoverSelf } from './self.js'
import { currentIdentity, probeEngine } from './engine-probe.js'
import { watchEngine } from './engine-watch.js'
import { prepareSocketDirs, type SocketPlan } from './socket-dir.js'
import type { Config } from './config.js'

export const EXIT_USAGE = 2

/** SIGHUPs that came before main() could handle them (cli.ts); main() takes over from it. */
export interface EarlyHup {
  pending(): boolean
  release(): void
}

export async function main(argv: string[], env: NodeJS.ProcessEnv, early?: EarlyHup): Promise<number> {
  // The subcommands are loaded when asked for: serving needs none of them (learn's YAML writer,
  // check's and healthcheck's TLS client), and each module loaded costs RSS for the whole run.
  if (argv[0] === 'check') {
    const { check } = await import('./check.js')
    return check(argv.slice(1), env, {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      stdin: () => readFileSync(0),
    })
  }
  if (argv[0] === 'healthcheck') {
    const { healthcheck } = await import('./healthcheck.js')
    return healthcheck(argv.slice(1), env, { out: (s) => process.stdout.write(s) })
  }
  if (argv[0] === 'learn') {
    const { learn } = await import('./learn/command.js')
    return learn(argv.slice(1), {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      stdin: () => readFileSync(0),
    })
  }
  let loaded
  try {
    loaded = loadConfig(argv, env)
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`dockgate: ${formatProblem(p)}\n`)
      process.stderr.write(`dockgate: ${err.problems.length} problem(s); see dockgate --help\n`)
      return EXIT_USAGE
    }
    throw err
  }
  if ('help' in loaded) {
    process.stdout.write(loaded.help)
    return 0
  }
  if ('version' in loaded) {
    process.stdout.write(loaded.version + '\n')
    return 0
  }
  const config = loaded
  // Allowed requests' audit records are written in batches (log-destination.ts): off the hot
  // path. On a terminal, log.ts formats for reading (pino-pretty) and writes each line at once.
  const logger: Logger = createLogger(config.logLevel, process.stdout.isTTY === true ? undefined : createLogDestination())
  announceConfig(config, logger)
  // From here on SIGHUP reloads (reload.ts); one that comes while dockgate is still starting is
  // done as soon as it has started. Without a handler, node would exit 129 and leave the sockets.
  let reloader: Reloader | undefined
  let hupWhileStarting = false
  let stopping = false
  const onHup = (): void => {
    if (stopping) logger.info('SIGHUP while stopping: ignored')
    else if (reloader === undefined) hupWhileStarting = true
    else void reloader.request()
  }
  process.on('SIGHUP', onHup)
  if (early?.pending() === true) hupWhileStarting = true
  early?.release()
  const identity = currentIdentity()
  // Which presets have each operation, for the hint of an operation refusal (policy/advice.ts):
  // read now (about 150 ms), not on the first refusal while clients wait.
  presetsAllowing('SystemPing')
  try {
    for (const dir of prepareSocketDirs(socketPlans(config), identity)) logger.info(`created socket directory ${dir} (mode 0755)`)
  } catch (err) {
    if (err instanceof ListenError) {
      process.stderr.write(`dockgate: ${err.message}\n`)
      return EXIT_USAGE
    }
    throw err
  }
  // Say at once whether the engine can be reached (and what to change if not); keep trying after.
  const watch = (upstream: Config['upstream']): ReturnType<typeof watchEngine> => watchEngine(upstream, { logger, probe: () => probeEngine(upstream, identity) })
  let engine = watch(config.upstream)
  await engine.settled
  let running: RunningDockgate
  try {
    running = await startDockgate(config, { logger, self: discoverSelf() })
  } catch (err) {
    engine.close()
    if (err instanceof ListenError) {
      process.stderr.write(`dockgate: ${err.message}\n`)
      return EXIT_USAGE
    }
    throw err
  }
  reloader = createReloader({
    argv, env, logger, running,
    // New unix listeners' directories, as at start; a problem there fails the reload.
    prepare: (next) => {
      for (const dir of prepareSocketDirs(socketPlans(next), identity)) logger.info(`created socket directory ${dir} (mode 0755)`)
    },
    applied: (next, previous) => {
      if (formatAddress(next.upstream) === formatAddress(previous.upstream)) return
      engine.close()
      engine = watch(next.upstream)
    },
    initial: config,
  })
  if (hupWhileStarting) void reloader.request()
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      engine.close()
      logger.info(`${signal}: closing listeners and open streams`)
      running.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown')
          resolve(1)
        },
      )
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
}

/** The unix sockets dockgate will create, with the owner and group asked for. */
function socketPlans(config: Config): SocketPlan[] {
  const plans: SocketPlan[] = []
  for (const l of config.listeners) if (l.address.kind === 'unix') plans.push({ path: l.address.path, uid: l.uid, gid: l.gid })
  if (config.admin?.kind === 'unix') plans.push({ path: config.admin.path })
  return plans
}
