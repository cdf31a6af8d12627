#!/usr/bin/env node
/** The `dockgate` command. */
import { main } from './main.js'

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
