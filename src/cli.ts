#!/usr/bin/env node
/** The `dockgate` command. */
import { main } from './main.js'

// http-proxy 1.18 calls util._extend, which Node ≥22 reports at run time (DEP0060) on every
// start. The call is harmless there (a shallow copy); keep the operator's stderr for real news.
const emitWarning = process.emitWarning.bind(process)
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1]
  if (code === 'DEP0060') return
  ;(emitWarning as (...a: unknown[]) => void)(warning, ...rest)
}) as typeof process.emitWarning

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code
    // Pino flushes on exit; give pending writes a tick.
    setImmediate(() => process.exit(code))
  },
  (err: unknown) => {
    // A bug, not a user error: say so briefly (the stack goes to debug output only).
    process.stderr.write(`dockgate: internal error: ${err instanceof Error ? err.message : String(err)}\n`)
    if (process.env['DOCKGATE_DEBUG']) process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n')
    process.exit(70)
  },
)
