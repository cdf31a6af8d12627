/**
 * A bench target running as a child process: wait until it answers HEAD /_ping, stop it with
 * SIGTERM (then SIGKILL), and kill it if the bench itself exits. Shared by dockgate, HAProxy and
 * the bare proxy.
 */
import { readFileSync } from 'node:fs'
import { waitForPing } from './engine.mjs'

/** Waits for `child` to answer on `socket`; on failure stops it and throws with the tail of its log. */
export async function wrapChild({ child, name, socket, logPath, version }) {
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const onExit = () => { try { child.kill('SIGKILL') } catch { /* gone */ } }
  process.once('exit', onExit)
  let stopping
  const stop = () => (stopping ??= (async () => {
    process.removeListener('exit', onExit)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(killer)
    }
  })())
  try {
    await waitForPing(socket, 20_000, () => (child.exitCode !== null ? `${name} exited with ${child.exitCode}` : undefined))
  } catch (err) {
    await stop()
    let text = ''
    try { text = readFileSync(logPath, 'utf8') } catch { /* none */ }
    throw new Error(`${err.message}\n--- ${logPath} ---\n${text.split('\n').slice(-20).join('\n')}`)
  }
  return { socket, pid: child.pid, name, logPath, version, stop }
}
