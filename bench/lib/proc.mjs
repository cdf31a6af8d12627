/**
 * A process's memory and CPU from /proc (proc(5)): VmRSS and VmHWM (peak RSS) from
 * /proc/<pid>/status, utime + stime from /proc/<pid>/stat in clock ticks.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const MIB = 1024 * 1024

/** Clock ticks per second (sysconf(_SC_CLK_TCK)); 100 on Linux unless told otherwise. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** { rssMiB, hwmMiB } of `pid`, or undefined when it is gone. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return { rssMiB: (kb('VmRSS') * 1024) / MIB, hwmMiB: (kb('VmHWM') * 1024) / MIB }
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system) used by `pid` so far, or NaN when it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based) — comm may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK
  } catch {
    return NaN
  }
}

/**
 * Samples a process's RSS every `everyMs` while running; `peak()` is the highest sample since the
 * last `resetPeak()`. (VmHWM is the lifetime peak and cannot be reset per scenario.)
 */
export function rssSampler(pid, everyMs = 50) {
  let peak = 0
  const sample = () => {
    const m = memory(pid)
    if (m && m.rssMiB > peak) peak = m.rssMiB
  }
  const timer = setInterval(sample, everyMs)
  timer.unref()
  sample()
  return {
    peak: () => (sample(), peak),
    resetPeak: () => { peak = 0; sample() },
    stop: () => clearInterval(timer),
  }
}
