/**
 * `dockgate check --config FILE`: the policy (and tenant) a request would be judged by on one of
 * the server's listeners, read from the same configuration file the server reads (config.ts, with
 * the same environment). A config with one listener needs nothing more; with several, `--listener
 * ADDR` names one; `--client NAME` picks one of that listener's `clients:` entries (by its `name`,
 * or `clients[i]`), else the policy of connections that match no entry.
 */
import { formatAddress, loadConfig, parseAddress, type ListenerConfig } from './config.js'
import type { CompiledPolicy } from './policy/compile.js'
import { orList } from './problems.js'

/** What `check` judges by, and the words that say where it came from. */
export interface CheckTarget {
  readonly policy: CompiledPolicy
  readonly tenant: string | undefined
  /** `listener unix:///run/dockgate/ci.sock, client ci` */
  readonly where: string
}

export interface ConfigChoice {
  readonly file: string
  readonly listener: string | undefined
  readonly client: string | undefined
}

/** The listener and client chosen, or a usage problem (a sentence naming what to choose from). Throws ConfigError for a broken config. */
export function targetFromConfig(choice: ConfigChoice, env: NodeJS.ProcessEnv): CheckTarget | { problem: string } {
  const config = loadConfig(['--config', choice.file], env)
  if (!('listeners' in config)) return { problem: 'the configuration file did not load' }
  const all = config.listeners.map((l) => formatAddress(l.address))
  let listener: ListenerConfig | undefined
  if (choice.listener !== undefined) {
    const parsed = parseAddress(choice.listener, { allowPort0: true })
    if ('error' in parsed) return { problem: `--listener ${choice.listener}: ${parsed.error}` }
    const want = formatAddress(parsed.address)
    listener = config.listeners.find((l) => formatAddress(l.address) === want)
    if (listener === undefined) return { problem: `${choice.file} has no listener ${want}; its listeners: ${all.join(', ')}` }
  } else if (config.listeners.length === 1) {
    listener = config.listeners[0]
  } else {
    return { problem: `${choice.file} has ${config.listeners.length} listeners; choose one with --listener ${orList(all)}` }
  }
  if (listener === undefined) return { problem: `${choice.file} has no listeners` }
  const at = `listener ${formatAddress(listener.address)}`
  if (choice.client === undefined) {
    const others = listener.clients.length === 0 ? '' : ' (a connection that matches none of its clients: entries)'
    return { policy: listener.policy, tenant: listener.tenant, where: `${at}${others}` }
  }
  const entry = listener.clients.find((c) => c.label === choice.client)
  if (entry === undefined) {
    const labels = listener.clients.map((c) => c.label)
    return { problem: `${at} has no clients: entry ${JSON.stringify(choice.client)}${labels.length === 0 ? ' (it has no clients: entries)' : `; its entries: ${labels.join(', ')}`}` }
  }
  return { policy: entry.policy, tenant: entry.tenant, where: `${at}, client ${entry.label}` }
}
