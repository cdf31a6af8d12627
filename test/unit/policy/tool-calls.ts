/**
 * What each tool sends, as method + request target (+ JSON body), for the preset tables in
 * tool-presets.test.ts. The sources are named in each preset's header (policies/<name>.yaml);
 * query strings are spelled the way each client writes them (Go clients percent-encode their
 * filters, curl scripts do not).
 */

export interface Call {
  readonly method: string
  readonly target: string
  /** JSON body (a value to stringify, or raw text). */
  readonly body?: unknown
}

/** `HEAD /_ping` then `GET /_ping`: how the Go clients negotiate (moby client/ping.go). */
export const NEGOTIATE: readonly Call[] = [
  { method: 'HEAD', target: '/_ping' },
  { method: 'GET', target: '/_ping' },
]

/** The API version the test engine (dockerd 20.10) negotiates to. */
export const V = '/v1.41'

export const get = (target: string): Call => ({ method: 'GET', target })
export const post = (target: string, body?: unknown): Call => (body === undefined ? { method: 'POST', target } : { method: 'POST', target, body })
export const del = (target: string): Call => ({ method: 'DELETE', target })
export const head = (target: string): Call => ({ method: 'HEAD', target })
export const put = (target: string): Call => ({ method: 'PUT', target })

/** Each call as the negotiated client sends it (`/v1.41/…`) and unversioned (`…`). */
export function both(calls: readonly Call[]): Call[] {
  return calls.flatMap((c) => [{ ...c, target: `${V}${c.target}` }, c])
}

/** Each call under a fixed version prefix. */
export function at(version: string, calls: readonly Call[]): Call[] {
  return calls.map((c) => ({ ...c, target: `/v${version}${c.target}` }))
}

const enc = (v: unknown): string => encodeURIComponent(JSON.stringify(v))

export const ID = '7249b9f740d4b66da949bbb2cdf7236b88c966cfe8e50cefcd947037ebe68464'
const EXEC = 'a330b5c8e59d5557d4d12000a2f9007f34f1ad7d1aad6c036d1b0445b3b80c12'
const IMAGE_ID = 'sha256:9a3542720754562d4043fca93d423b8b9101c7c5c6732d54ac3c8e86bdc6618b'

/** A network connect body as Watchtower and WUD send it (endpoint settings from inspect). */
const CONNECT = { Container: ID, EndpointConfig: { Aliases: ['web'], NetworkID: 'n1' } }

/**
 * Calls per tool preset, in the order the tool makes them. Only calls the preset must let
 * through; what it must refuse is in DANGEROUS and EXTRA_REFUSALS.
 */
export const TOOL_CALLS: Readonly<Record<string, readonly Call[]>> = {
  traefik: [
    ...NEGOTIATE,
    ...both([
      get('/version'),
      get('/containers/json?all=1'),
      get(`/containers/${ID}/json`),
      get('/containers/db/json'),
      get(`/events?filters=${enc({ type: { container: true } })}`),
    ]),
    // Traefik ≤ 3.6.0 / ≤ 2.11.30: fixed API 1.24, no ping.
    ...at('1.24', [get('/version'), get('/containers/json'), get(`/containers/${ID}/json`), get(`/events?filters=${enc({ type: { container: true } })}`)]),
  ],
  'traefik-swarm': [
    ...NEGOTIATE,
    ...both([
      get('/version'),
      get('/services'),
      get(`/networks?filters=${enc({ scope: { swarm: true } })}`),
      get(`/networks?filters=${enc({ driver: { overlay: true } })}`),
      get(`/tasks?filters=${enc({ 'desired-state': { running: true }, service: { svc1: true } })}`),
      get('/nodes/n1abc'),
    ]),
  ],
  'portainer-read-only': [
    ...NEGOTIATE,
    ...both([
      get('/info'), get('/version'), get('/plugins'),
      get('/events?since=1700000000&until=1700000600'),
      get('/containers/json?all=1'), get(`/containers/${ID}/json`), get(`/containers/${ID}/top?ps_args=-ef`),
      get(`/containers/${ID}/stats?stream=false`),
      get(`/containers/${ID}/logs?stdout=1&stderr=1&timestamps=1&since=0&tail=100`),
      get('/images/json?all=0'), get('/images/ghcr.io/org/app:1.2/json'), get(`/images/${IMAGE_ID}/history`),
      get('/networks'), get('/networks/n1'), get('/volumes'), get('/volumes/data'),
      get('/services'), get('/services/s1'), get('/services/s1/logs?stdout=1'), get('/tasks'), get('/tasks/t1'), get('/tasks/t1/logs?stdout=1'),
      get('/nodes'), get('/nodes/n1'),
    ]),
  ],
  homepage: [
    get('/containers/json?all=true'),
    get('/containers/web/json'),
    get('/containers/web/stats?stream=false'),
  ],
  watchtower: [
    // containrrr/watchtower: fixed /v1.25, no ping.
    ...at('1.25', [
      get(`/containers/json?filters=${enc({ status: { running: true } })}`),
      get(`/containers/${ID}/json`),
      get(`/images/${IMAGE_ID}/json`),
      post('/images/create?fromImage=ghcr.io%2Forg%2Fapp&tag=1.2'),
      get('/images/ghcr.io/org/app:1.2/json'),
      post(`/containers/${ID}/kill?signal=SIGTERM`),
      del(`/containers/${ID}?force=1&v=1`),
      post(`/networks/web/disconnect`, { Container: ID, Force: true }),
      post(`/networks/web/connect`, CONNECT),
      post(`/containers/${ID}/start`),
      post(`/containers/${ID}/rename?name=9f1c0e2a7b`),
      del(`/images/${IMAGE_ID}?force=1`),
    ]),
    // nicholas-fedor/watchtower: negotiates, /info, stop instead of kill, update of the restart policy.
    ...NEGOTIATE,
    ...both([
      get('/info'),
      post(`/containers/${ID}/stop?signal=SIGTERM&t=10`),
      post(`/containers/${ID}/update`, { RestartPolicy: { Name: 'no' } }),
    ]),
  ],
  'watchtower-hooks': [
    ...at('1.25', [
      post(`/containers/${ID}/exec`, { User: '', AttachStdout: true, AttachStderr: true, Cmd: ['sh', '-c', '/pre-update.sh'] }),
      post(`/exec/${EXEC}/start`, { Detach: false, Tty: false }),
      get(`/exec/${EXEC}/json`),
    ]),
  ],
  'watchtower-monitor-only': [
    ...at('1.25', [
      get(`/containers/json?filters=${enc({ status: { running: true } })}`),
      get(`/containers/${ID}/json`),
      get(`/images/${IMAGE_ID}/json`),
      post('/images/create?fromImage=nginx&tag=latest'),
    ]),
    ...NEGOTIATE,
    ...both([get('/info')]),
  ],
  dozzle: [
    ...NEGOTIATE,
    ...both([
      get('/info'), get('/version'),
      get(`/containers/json?all=1&filters=${enc({ label: { 'dev.dozzle.group=web': true } })}`),
      get(`/containers/${ID}/json`),
      get(`/containers/${ID}/logs?follow=1&stdout=1&stderr=1&tail=300&timestamps=1&since=1700000000`),
      get(`/containers/${ID}/logs?stdout=1&stderr=1&timestamps=1&since=1700000000&until=1700000600`),
      get(`/containers/${ID}/stats?stream=1`),
      get('/events'),
    ]),
  ],
  'dozzle-actions': [
    ...both([
      post(`/containers/${ID}/start`), post(`/containers/${ID}/stop`), post(`/containers/${ID}/restart`), del(`/containers/${ID}`),
      post('/images/create?fromImage=nginx%3Alatest'),
    ]),
  ],
  'dozzle-shell': [
    ...both([
      post(`/containers/${ID}/attach?stream=1&stdin=1&stdout=1&stderr=1`),
      post(`/containers/${ID}/exec`, { AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Cmd: ['sh'] }),
      post(`/exec/${EXEC}/start`, { Detach: false, Tty: true }),
      post(`/exec/${EXEC}/resize?h=40&w=120`),
    ]),
  ],
  diun: [
    ...NEGOTIATE,
    ...both([
      get('/version'),
      get(`/containers/json?filters=${enc({ status: { running: true } })}`),
      get('/images/crazymax/diun:latest/json'),
      get(`/images/${IMAGE_ID}/json`),
    ]),
  ],
  autoheal: [
    // Written by curl without percent-encoding (willfarrell/docker-autoheal docker-entrypoint).
    get('/containers/json?filters={"health":["unhealthy"],"label":["autoheal=true"],"status":["running"]}'),
    get('/containers/json?filters={"health":["unhealthy"]}'),
    post(`/containers/${ID}/restart?t=10`),
  ],
  'nginx-proxy': [
    get('/_ping'),
    get('/version'), get('/info'),
    get('/containers/json?all=1'), get(`/containers/${ID}/json`), get('/networks'),
    get(`/events?filters=${enc({ event: ['start', 'stop', 'die', 'health_status', 'connect', 'disconnect'] })}`),
  ],
  'nginx-proxy-notify': [
    post('/containers/nginx-proxy/kill?signal=1'),
    post(`/containers/${ID}/restart?t=10`),
    get(`/containers/json?filters=${enc({ label: ['com.github.nginx-proxy.nginx'] })}`),
  ],
  'acme-companion': [
    get('/containers/json'),
    get('/containers/3f2a1b0c9d8e/json'),
    get('/containers/nginx-proxy/json'),
    post('/containers/nginx-proxy/exec', { AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false,
      Cmd: ['sh', '-c', '/app/docker-entrypoint.sh /usr/local/bin/docker-gen /app/nginx.tmpl /etc/nginx/conf.d/default.conf; /usr/sbin/nginx -s reload'] }),
    post(`/exec/${EXEC}/start`, { Detach: false, Tty: false }),
    post('/containers/docker-gen/kill?signal=SIGHUP'),
  ],
  'uptime-kuma': [get('/containers/json?all=true'), get('/containers/web/json')],
  netdata: [get(`/containers/${ID}/json`), ...NEGOTIATE, get(`${V}/containers/${ID}/json`)],
  crowdsec: [
    ...NEGOTIATE,
    ...both([
      get('/info'), get('/containers/json'), get(`/containers/${ID}/json`),
      get(`/containers/${ID}/logs?follow=1&since=2024-01-01T00%3A00%3A00Z&stderr=1&stdout=1`),
      get(`/containers/${ID}/logs?follow=0&stderr=1&stdout=1&until=2024-01-02T00%3A00%3A00Z`),
      get(`/events?filters=${enc({ type: { container: true } })}`),
    ]),
  ],
  prometheus: [...NEGOTIATE, ...both([get('/containers/json'), get(`/containers/json?filters=${enc({ label: { 'prometheus.io/scrape=true': true } })}`), get('/networks')])],
  'prometheus-swarm': [...NEGOTIATE, ...both([get('/services'), get('/tasks'), get(`/tasks?filters=${enc({ 'desired-state': { running: true } })}`), get('/nodes'), get('/networks')])],
  alloy: [...NEGOTIATE, ...both([get('/containers/json'), get('/networks'), get(`/containers/${ID}/json`), get(`/containers/${ID}/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=1700000000`)])],
  promtail: [...NEGOTIATE, ...both([get('/containers/json'), get('/networks'), get(`/containers/${ID}/json`), get(`/containers/${ID}/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=1700000000`)])],
  vector: [
    ...at('1.52', [
      get(`/events?since=1700000000&filters=${enc({ type: ['container'], event: ['start', 'die'] })}`),
      get(`/containers/json?all=false&filters=${enc({ status: ['running'] })}`),
      get(`/containers/${ID}/json`),
      get(`/containers/${ID}/logs?follow=true&stdout=true&stderr=true&since=1700000000&timestamps=true`),
    ]),
  ],
  'fluent-bit': [get('/events')],
  glance: [get('/containers/json?all=true'), get('/containers/json?all=false')],
  homarr: [
    get('/containers/json?all=true'),
    get(`/containers/${ID}/stats?stream=false&one-shot=true`),
    get(`/containers/${ID}/json`),
    get(`/containers/${ID}/logs?tail=100&stdout=true&stderr=true&follow=false`),
    get(`/containers/${ID}/logs?tail=100&stdout=true&stderr=true&follow=true`),
  ],
  'homarr-actions': [post(`/containers/${ID}/start`), post(`/containers/${ID}/stop`), post(`/containers/${ID}/restart`), del(`/containers/${ID}`)],
  wud: [
    get('/containers/json'), get('/containers/json?all=true'),
    get('/images/ghcr.io/getwud/wud:8.1.0/json'), get(`/images/${IMAGE_ID}/json`),
    get(`/events?filters=${enc({ type: ['container'], event: ['create', 'destroy', 'start', 'stop', 'pause', 'unpause', 'die', 'update'] })}`),
    get(`/containers/${ID}/json`),
    post('/images/create?fromImage=ghcr.io%2Fgetwud%2Fwud&tag=8.2.0'),
    post(`/containers/${ID}/stop`),
    del(`/containers/${ID}`),
    post(`/containers/${ID}/wait?condition=removed`),
    post('/networks/backend/connect', CONNECT),
    post(`/containers/${ID}/start`),
    get('/images/json'),
    del(`/images/${IMAGE_ID}`),
    del('/images/ghcr.io/getwud/wud:8.1.0'),
  ],
  'caddy-docker-proxy': [
    ...NEGOTIATE,
    ...both([
      get('/info'), get('/containers/json'), get('/containers/json?all=1'), get(`/containers/${ID}/json`),
      get('/networks/caddy'), get('/networks'),
      get(`/events?filters=${enc({ scope: { swarm: true, local: true }, type: { service: true, container: true, config: true, network: true } })}`),
    ]),
  ],
  beszel: [
    get('/version'), get('/containers/json'), get('/containers/7249b9f740d4/stats?stream=0&one-shot=1'),
    get('/info'), get(`/containers/${ID}/json`), get('/containers/7249b9f740d4/logs?stdout=1&stderr=1&tail=200'),
  ],
  cadvisor: [...NEGOTIATE, ...both([get('/info'), get('/version'), get(`/containers/${ID}/json`), get('/images/json')])],
  'home-assistant': [
    get('/version'),
    ...at('1.41', [
      get('/info'), get('/containers/json?all=1'), get('/events'),
      get('/containers/web/json'), get('/containers/web/stats?stream=0'),
      post('/containers/web/start'), post('/containers/web/stop?t=10'), post('/containers/web/restart'),
    ]),
  ],
}

/** `docker-compose` 1.29's create body (docker-py), captured for a service with a named volume and network_mode none. */
export const COMPOSE_CREATE = {
  Tty: false, OpenStdin: false, StdinOnce: false, AttachStdin: false, AttachStdout: false, AttachStderr: false,
  Cmd: ['sleep', '300'], Image: 'busybox:test', Volumes: { '/data': {} }, NetworkDisabled: false,
  HostConfig: { NetworkMode: 'none', VolumesFrom: [], Binds: ['dgp_data:/data:rw'], PortBindings: {}, Links: [], LogConfig: { Type: '', Config: {} } },
  Labels: { 'com.docker.compose.project': 'dgp', 'com.docker.compose.service': 'app', 'com.docker.compose.oneoff': 'False', 'com.docker.compose.version': '1.29.2' },
}

/** The docker CLI (20.10 and 28) and docker-compose 1.29 in a CI job; both negotiate to /v1.41 here. */
export function ciCalls(cliCreateBody: unknown): Call[] {
  const enc2 = (v: unknown): string => encodeURIComponent(JSON.stringify(v))
  const composeFilter = enc2({ label: ['com.docker.compose.project=dgp', 'com.docker.compose.oneoff=False'] })
  return [
    ...NEGOTIATE,
    get('/version'),
    ...at('1.41', [
      get('/version'), get('/info'), get('/events?filters=%7B%7D'),
      // docker run --rm / -d, logs, exec, cp
      post('/containers/create?name=ci1', cliCreateBody),
      post(`/containers/${ID}/attach?stderr=1&stdout=1&stream=1`),
      post(`/containers/${ID}/wait?condition=next-exit`),
      post(`/containers/${ID}/start`),
      post(`/containers/${ID}/resize?h=24&w=80`),
      get('/containers/ci1/json'),
      get(`/containers/${ID}/logs?stderr=1&stdout=1&tail=all`),
      post('/containers/ci1/exec', { User: '', Privileged: false, Tty: false, AttachStdin: true, AttachStderr: true, AttachStdout: true, Detach: false, DetachKeys: '', Env: null, WorkingDir: '', Cmd: ['cat'] }),
      post(`/exec/${EXEC}/start`, { Detach: false, Tty: false }),
      get(`/exec/${EXEC}/json`),
      head('/containers/ci1/archive?path=%2Ff'),
      put('/containers/ci1/archive?noOverwriteDirNonDir=true&path=%2F'),
      get('/containers/ci1/archive?path=%2Ff'),
      del('/containers/ci1?force=1'),
      post('/containers/ci1/stop?t=10'), post('/containers/ci1/kill?signal=KILL'), post('/containers/ci1/restart?t=10'),
      get('/containers/ci1/top'),
      // docker pull, docker build (legacy, then BuildKit with its session)
      post('/images/create?fromImage=busybox&tag=latest'),
      post('/build?buildargs=%7B%7D&cachefrom=%5B%5D&cgroupparent=&cpuperiod=0&cpuquota=0&cpusetcpus=&cpusetmems=&cpushares=0&dockerfile=Dockerfile&labels=%7B%7D&memory=0&memswap=0&networkmode=none&rm=1&shmsize=0&t=leg%3Atest&target=&ulimits=null&version=1'),
      post('/build?buildargs=%7B%7D&buildid=339c7dc0&cachefrom=%5B%5D&cgroupparent=&cpuperiod=0&cpuquota=0&cpusetcpus=&cpusetmems=&cpushares=0&dockerfile=&labels=%7B%7D&memory=0&memswap=0&networkmode=none&remote=client-session&rm=1&session=k7iqgp2kt7d1j3i5ckz7eo9ll&shmsize=0&t=bk%3Atest&target=&ulimits=null&version=2'),
      post('/build/cancel?id=339c7dc0'),
      // docker-compose up / down -v
      get(`/containers/json?limit=-1&all=1&size=0&trunc_cmd=0&filters=${composeFilter}`),
      get('/images/busybox:test/json'),
      get('/volumes/dgp_data'), post('/volumes/create', { Name: 'dgp_data', Driver: 'local', DriverOpts: {}, Labels: { 'com.docker.compose.project': 'dgp', 'com.docker.compose.volume': 'data' } }),
      get('/networks/dgp_default'),
      post('/networks/create', { Name: 'dgp_default', Driver: null, Options: null, IPAM: { Driver: 'default', Config: [], Options: {} }, CheckDuplicate: true, Labels: { 'com.docker.compose.network': 'default', 'com.docker.compose.project': 'dgp' } }),
      post('/containers/create?name=dgp_app_1', COMPOSE_CREATE),
      post(`/networks/dgp_default/disconnect`, { Container: ID, Force: false }),
      post(`/networks/dgp_default/connect`, { Container: ID, EndpointConfig: { Aliases: ['app', '7249b9f740d4'], Links: [] } }),
      post(`/containers/${ID}/rename?name=7249b9f740d4_dgp_app_1`),
      post(`/containers/${ID}/stop?t=10`),
      del(`/containers/${ID}?v=True&link=False&force=False`),
      del('/volumes/dgp_data'), del('/networks/dgp_default'),
      get('/networks'), get('/volumes'),
    ]),
    // POST /session is sent unversioned by CLI 20.10 (build_buildkit.go).
    post('/session'),
  ]
}

/** A refusal expected of a preset: the call and the error code, with the guard when it is a body refusal. */
export interface Refusal extends Call {
  readonly code: string
  readonly guard?: string
}

const PRIVILEGED = { Image: 'busybox:test', HostConfig: { Privileged: true } }
const ROOT_BIND = { Image: 'busybox:test', HostConfig: { Binds: ['/:/host'] } }
const SOCKET_BIND = { Image: 'busybox:test', HostConfig: { Binds: ['/var/run/docker.sock:/var/run/docker.sock'] } }

/**
 * Calls no tool preset opens unless the tool documents a need for them: each is refused by the
 * policy (DG_DENY_OPERATION) in every preset that does not allow the operation.
 */
export const DANGEROUS: readonly Call[] = [
  post('/containers/create', PRIVILEGED),
  post(`/containers/${ID}/exec`, { Cmd: ['sh'], Privileged: true }),
  post(`/exec/${EXEC}/start`, { Detach: false, Tty: false }),
  post(`/containers/${ID}/attach?stream=1&stdin=1&stdout=1`),
  get(`/containers/${ID}/archive?path=%2Fetc%2Fshadow`),
  head(`/containers/${ID}/archive?path=%2F`),
  put(`/containers/${ID}/archive?path=%2F`),
  get(`/containers/${ID}/export`),
  get('/images/get?names=busybox'),
  post('/images/busybox/push?tag=latest'),
  post('/build?remote=http%3A%2F%2F169.254.169.254%2F'),
  post('/grpc'),
  post('/session'),
  post('/swarm/init', { ListenAddr: '0.0.0.0:2377' }),
  get('/swarm'),
  get('/secrets'),
  post('/plugins/pull?remote=vieux%2Fsshfs', []),
  post('/volumes/create', { Name: 'x', Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device: '/' } }),
  post('/commit?container=web'),
]

/** Refusals by a body guard, for presets that allow the operation. */
export const GUARD_REFUSALS: Readonly<Record<string, readonly Refusal[]>> = {
  watchtower: [
    { ...post('/v1.25/containers/create?name=web', PRIVILEGED), code: 'DG_DENY_BODY', guard: 'container.privileged' },
    { ...post('/v1.25/containers/create?name=web', ROOT_BIND), code: 'DG_DENY_BODY', guard: 'container.binds' },
    { ...post('/v1.25/images/create?fromSrc=http%3A%2F%2F169.254.169.254%2F&repo=x'), code: 'DG_DENY_BODY', guard: 'image.from_src' },
    { ...post(`/v1.41/containers/${ID}/update`, { Devices: [{ PathOnHost: '/dev/mem', PathInContainer: '/dev/mem', CgroupPermissions: 'rwm' }] }), code: 'DG_DENY_BODY', guard: 'container.devices' },
  ],
  'watchtower-hooks': [
    { ...post(`/v1.25/containers/${ID}/exec`, { Cmd: ['sh'], Privileged: true }), code: 'DG_DENY_BODY', guard: 'exec.privileged' },
  ],
  'dozzle-actions': [
    { ...post('/v1.41/containers/create?name=web', SOCKET_BIND), code: 'DG_DENY_BODY', guard: 'container.binds' },
  ],
  'dozzle-shell': [
    { ...post(`/v1.41/containers/${ID}/exec`, { Cmd: ['sh'], Privileged: true, Tty: true }), code: 'DG_DENY_BODY', guard: 'exec.privileged' },
  ],
  'acme-companion': [
    { ...post('/containers/nginx-proxy/exec', { Cmd: ['sh'], Privileged: true }), code: 'DG_DENY_BODY', guard: 'exec.privileged' },
  ],
  wud: [
    { ...post('/containers/create?name=web', { ...PRIVILEGED, HostConfig: { CapAdd: ['SYS_ADMIN'] } }), code: 'DG_DENY_BODY', guard: 'container.capabilities' },
  ],
  ci: [
    { ...post('/v1.41/containers/create', PRIVILEGED), code: 'DG_DENY_BODY', guard: 'container.privileged' },
    { ...post('/v1.41/containers/create', ROOT_BIND), code: 'DG_DENY_BODY', guard: 'container.binds' },
    { ...post('/v1.41/containers/create', SOCKET_BIND), code: 'DG_DENY_BODY', guard: 'container.binds' },
    { ...post('/v1.41/containers/create', { Image: 'busybox:test', HostConfig: { NetworkMode: 'host' } }), code: 'DG_DENY_BODY', guard: 'container.namespaces' },
    { ...post(`/v1.41/containers/${ID}/exec`, { Cmd: ['sh'], Privileged: true }), code: 'DG_DENY_BODY', guard: 'exec.privileged' },
    { ...post('/v1.41/build?networkmode=host&version=1'), code: 'DG_DENY_BODY', guard: 'build.network_mode' },
    { ...post('/v1.41/build?networkmode=host&remote=client-session&session=abc&version=2'), code: 'DG_DENY_BODY', guard: 'build.network_mode' },
    { ...post('/v1.41/build?remote=https%3A%2F%2Fgithub.com%2Fx%2Fy.git&version=2'), code: 'DG_DENY_BODY', guard: 'build.remote' },
    { ...post('/v1.41/build?remote=client-session&version=2'), code: 'DG_DENY_BODY', guard: 'build.remote' },
    { ...post('/v1.41/build?remote=client-session2&session=abc&version=2'), code: 'DG_DENY_BODY', guard: 'build.remote' },
    { ...post('/v1.41/build?cgroupparent=%2F&version=2&remote=client-session&session=abc'), code: 'DG_DENY_BODY', guard: 'container.cgroup_parent' },
    { ...post(`/v1.41/build?outputs=${encodeURIComponent('[{"Type":"image","Attrs":{"push":"true","name":"r.example/x"}}]')}`), code: 'DG_DENY_BODY', guard: 'build.outputs' },
    { ...post('/grpc'), code: 'DG_DENY_OPERATION' },
    { ...post('/v1.41/volumes/create', { Name: 'x', Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device: '/' } }), code: 'DG_DENY_BODY', guard: 'volume.options' },
    { ...post('/v1.41/networks/create', { Name: 'lan', Driver: 'macvlan', Options: { parent: 'eth0' } }), code: 'DG_DENY_BODY', guard: 'network.driver' },
    { ...get(`/v1.41/containers/${ID}/export`), code: 'DG_DENY_OPERATION' },
    { ...post('/v1.41/images/busybox/push'), code: 'DG_DENY_OPERATION' },
    { ...post('/v1.41/images/create?fromSrc=-&repo=busybox&tag=test'), code: 'DG_DENY_BODY', guard: 'image.import' },
    { ...post('/v1.23/containers/ci1/start', { Binds: ['/:/host'] }), code: 'DG_DENY_API_VERSION' },
  ],
}

/**
 * The create body an updater sends to re-create a plain container (`docker run -d --network none
 * busybox:test sleep 300`) on dockerd 20.10: its inspected Config and HostConfig, as
 * containrrr/watchtower (GetCreateConfig, GetCreateHostConfig), WUD (cloneContainer) and Dozzle
 * (ContainerCreate from the inspect) copy them. The inspected HostConfig carries what the engine
 * filled in: the default MaskedPaths and ReadonlyPaths, and CgroupnsMode "host" on a cgroup v1 host.
 */
export const RECREATE_FROM_INSPECT = {
  Hostname: '7249b9f740d4', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false,
  OpenStdin: false, StdinOnce: false, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sleep', '300'],
  Image: 'busybox:test', Volumes: null, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: {},
  HostConfig: {
    Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'none', PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null,
    CapAdd: null, CapDrop: null, CgroupnsMode: 'host', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
    IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false,
    ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: 'runc', ConsoleSize: [0, 0],
    Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0, BlkioWeightDevice: [],
    BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null, CpuPeriod: 0,
    CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null,
    DeviceRequests: null, KernelMemory: 0, KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null,
    OomKillDisable: false, PidsLimit: null, Ulimits: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
    MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
    ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  },
  NetworkingConfig: { EndpointsConfig: { none: { IPAMConfig: null, Links: null, Aliases: null, NetworkID: 'n0', EndpointID: 'e0', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null } } },
}

/** Guards the plain re-create above trips as a new container, field by field (the re-create allowance reads them as the engine's defaults). */
export const RECREATE_TRIPS = ['container.namespaces HostConfig.CgroupnsMode', 'container.system_paths HostConfig.MaskedPaths', 'container.system_paths HostConfig.ReadonlyPaths']
