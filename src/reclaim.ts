/**
 * Giving memory back after a burst of held bodies. Bodies read for inspection are Buffers outside
 * V8's heap; when many connections that held them go away at once (1,000 clients each sending a
 * create body one byte short of 1 MiB, then leaving), nothing allocates afterwards, so V8 has no
 * reason to collect them and the process keeps hundreds of MiB it no longer uses. When the body
 * budget drains after such a burst, dockgate asks V8 for a full collection — at most once per
 * interval, and only after a burst, never on the request path.
 *
 * Node has no API for a collection without the `--expose-gc` flag; the flag is set at run time,
 * once, the first time it is needed (v8.setFlagsFromString), and `gc` taken from a fresh context.
 */
import v8 from 'node:v8'
import vm from 'node:vm'

/** A burst is a budget that held at least this many bytes since the last collection. */
const BURST_BYTES = 32 * 1024 * 1024
/** Fewest milliseconds between two collections. */
const MIN_INTERVAL_MS = 10_000

let gc: (() => void) | undefined

function collect(): void {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc')
    gc = vm.runInNewContext('gc') as () => void
  }
  gc()
  // Buffers are released in a second pass, once their finalizers have run.
  setImmediate(() => gc?.())
}

/** Returns the function the body budget calls with its peak whenever it drains to zero. */
export function reclaimAfterBursts(now: () => number = Date.now, run: () => void = collect): (peak: number) => void {
  let last = 0
  return (peak) => {
    if (peak < BURST_BYTES || now() - last < MIN_INTERVAL_MS) return
    last = now()
    run()
  }
}
