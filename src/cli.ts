#!/usr/bin/env node
/** The `dockgate` command. */

// SIGHUP asks for a reload (reload.ts). Node's default for it is to exit (129), so a handler is
// installed before anything else loads: a SIGHUP that comes while dockgate is still starting is
// remembered, and main() reloads once it has started.
let hupWhileLoading = false
const remember = (): void => {
  hupWhileLoading = true
}
process.on('SIGHUP', remember)
const { main } = await import('./main.js')

const early = { pending: () => hupWhileLoading, release: () => void process.off('SIGHUP', remember) }

main(process.argv.slice(2), process.env, early).then(
  (code) => {
    process.exitCode = code
    // The log destination writes what it has batched on exit (log-destination.ts).
    setImmediate(() => process.exit(code))
  },
  (err: unknown) => {
    // A bug, not a user error: say so briefly (the stack goes to debug output only).
    process.stderr.write(`dockgate: internal error: ${err instanceof Error ? err.message : String(err)}\n`)
    if (process.env['DOCKGATE_DEBUG']) process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n')
    process.exit(70)
  },
)
