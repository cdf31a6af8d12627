/** JSON schema of the policy's `guards:` section; the keys are documented on GuardRules (rules.ts). */

const bool = { type: 'boolean' } as const
const strings = { type: 'array', items: { type: 'string', minLength: 1 } } as const
const section = (properties: Record<string, unknown>): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: false,
  properties,
})

/** JSON-schema fragment for the policy file's `guards:` key (additionalProperties: false everywhere). */
export const guardRulesSchema: Record<string, unknown> = section({
  api_version_floor: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$' },
  container: section({
    privileged: bool,
    capabilities: strings,
    namespaces: section({
      network: strings,
      pid: strings,
      ipc: strings,
      uts: strings,
      userns: strings,
      cgroupns: strings,
      cgroup: strings,
    }),
    binds: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path'],
        properties: { path: { type: 'string', minLength: 1 }, read_only: bool },
      },
    },
    volumes_from: strings,
    devices: strings,
    device_cgroup_rules: strings,
    device_requests: bool,
    security_opt: strings,
    sysctls: strings,
    cgroup_parents: strings,
    runtimes: strings,
    group_add: strings,
    oom_score_adj_min: { type: 'integer', minimum: -1000, maximum: 1000 },
    oom_kill_disable: bool,
    ulimits: strings,
    unlimited_pids: bool,
    annotations: strings,
    images: strings,
    log_drivers: strings,
  }),
  exec: section({ privileged: bool, users: strings }),
  volumes: section({ drivers: strings, local_types: strings, bind_options: bool }),
  plugins: section({ allow: { anyOf: [bool, strings] } }),
  images: section({ from_src: bool, import: bool, pull: strings }),
  build: section({ remote: bool, network_host: bool, outputs: strings, push: bool, grpc: bool, fetch_urls: bool }),
  swarm: section({ allow: bool }),
  networks: section({ drivers: strings, parent: strings, config_from: bool }),
  archive: section({ write: bool }),
})

