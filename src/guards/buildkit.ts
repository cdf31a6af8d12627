/**
 * What BuildKit adds to the build API, and what dockgate can and cannot check of it.
 *
 * A BuildKit build through `/build` (docker CLI 20.10 with DOCKER_BUILDKIT=1) is two requests: the
 * client first opens `POST /session` (hijacked, h2c), through which the daemon later pulls the
 * context, the Dockerfile, secrets and the SSH agent from the client; then it sends
 * `POST /build?version=2&session=<id>&remote=client-session&…` with an empty body. `client-session`
 * is not a URL: it tells the daemon the context comes over that session (moby
 * builder/builder-next/builder.go Build: `RemoteContext != "client-session"` is the only case where
 * BuildKit is told to fetch a context itself; builder/remotecontext/detect.go names the constant
 * ClientSessionRemote and refuses it for the legacy builder). So that exact value, with
 * `version=2` and one `session=`, is accepted without guards.build.remote; any other value,
 * spelling or combination is a remote context as before.
 *
 * Entitlements: over `/build` the only one a client can ask for is `network.host`, and only with
 * `networkmode=host` (builder.go appends EntitlementNetworkHost for it); image-build.ts refuses that
 * unless guards.build.network_host. `security.insecure` (RUN --security=insecure: a privileged
 * step) cannot be asked for over `/build` at all: only a raw BuildKit SolveRequest carries it, sent
 * over `POST /grpc` (BuildKitGrpc, moby api/server/router/grpc). dockgate cannot read that gRPC
 * stream, so BuildKitGrpc is refused by its own guard unless guards.build.grpc, and dockgate warns
 * at start when a policy opens it.
 *
 * `outputs=` (API ≥ 1.40, JSON `[{"Type":…,"Attrs":{…}}]`) picks BuildKit's exporter. `local` and
 * `tar` send the result to the client over the session, `moby` (the default) stores it as an image,
 * `cacheonly` exports nothing; with the containerd image store the `image` exporter (and `moby`,
 * which wraps it: daemon/internal/builder-next/worker/containerdworker.go) push to a registry when
 * an attribute says `push`. Exporter types must be in guards.build.outputs, and `push` /
 * `push-by-digest` need guards.build.push: a build must not publish what ImagePush would be refused.
 */
import { BodyError, decodeBody } from '../body/gojson.js'
import { isArray, isObject } from '../body/json-value.js'
import { ANY, arrayOf, mapOf, struct } from '../body/shape.js'
import { redactUrl } from './image-create.js'
import type { GuardContext, OperationGuard, Violation } from './types.js'
import { Fields, Findings } from './values.js'

/** moby builder/remotecontext/detect.go ClientSessionRemote. */
export const CLIENT_SESSION = 'client-session'

/** `version=2` is types.BuilderBuildKit (moby api/types/client.go). */
const BUILDKIT_VERSION = '2'

/** Attributes that make an exporter push its result to a registry (BuildKit exporter/containerimage opts). */
const PUSH_ATTRS: ReadonlySet<string> = new Set(['push', 'push-by-digest'])

/** Go's strconv.ParseBool false spellings: only these leave `push` off. */
const GO_FALSE: ReadonlySet<string> = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

const OUTPUTS = arrayOf(struct({ Attrs: mapOf() }))

/**
 * True when the query is what a BuildKit client sends for a context carried by its session:
 * exactly one `remote=client-session`, exactly one `version=2`, and exactly one non-empty `session=`.
 * (The engine reads the first value of each; a repeated parameter is not what any client sends.)
 */
export function isSessionContext(query: URLSearchParams): boolean {
  const remote = query.getAll('remote')
  const version = query.getAll('version')
  const session = query.getAll('session')
  return remote.length === 1 && remote[0] === CLIENT_SESSION &&
    version.length === 1 && version[0] === BUILDKIT_VERSION &&
    session.length === 1 && session[0] !== ''
}

/** `remote=`: a URL or git repository the engine (or BuildKit) would fetch, unless it is BuildKit's session marker. */
export function checkBuildRemote(findings: Findings, ctx: GuardContext): void {
  if (ctx.rules.build.remote || isSessionContext(ctx.query)) return
  for (const remote of ctx.query.getAll('remote')) {
    if (remote === '') continue
    const detail = remote === CLIENT_SESSION
      ? 'is BuildKit\'s session marker, but the request is not a BuildKit build with one session (version=2 and session=<id>)'
      : 'makes the engine fetch a remote context (needs guards.build.remote)'
    findings.add('build.remote', 'query.remote', redactUrl(remote), detail)
  }
}

/** `outputs=`: exporter types in guards.build.outputs; pushing needs guards.build.push. */
export function checkBuildOutputs(findings: Findings, ctx: GuardContext): void {
  const b = ctx.rules.build
  for (const raw of ctx.query.getAll('outputs')) {
    if (raw === '') continue
    let value
    try {
      value = decodeBody(Buffer.from(raw, 'utf8'), OUTPUTS)
    } catch (err) {
      if (!(err instanceof BodyError)) throw err
      findings.add('build.outputs', 'query.outputs', raw, `is not a JSON list dockgate can read: ${err.reason}`)
      continue
    }
    if (value === null) continue
    if (!isArray(value)) {
      findings.wrongType('build.outputs', 'query.outputs', value, 'a JSON array')
      continue
    }
    value.forEach((item, i) => {
      const at = `query.outputs[${i}]`
      if (!isObject(item)) {
        findings.wrongType('build.outputs', at, item, 'an object')
        return
      }
      const out = new Fields(item, at, findings)
      const type = out.string('Type', 'build.outputs') ?? ''
      if (!b.outputs.includes(type)) findings.add('build.outputs', out.at('Type'), type, 'is not in guards.build.outputs')
      for (const [key, attr] of out.map('Attrs', 'build.outputs') ?? []) {
        if (!PUSH_ATTRS.has(key) || b.push) continue
        if (typeof attr === 'string' && GO_FALSE.has(attr)) continue
        findings.add('build.push', `${out.at('Attrs')}.${key}`, attr, 'pushes the result to a registry (needs guards.build.push)')
      }
    })
  }
}

/** BuildKitGrpc (`POST /grpc`): the raw BuildKit control API, which dockgate cannot read. */
export function checkBuildKitGrpc(ctx: GuardContext): Violation[] {
  if (ctx.rules.build.grpc) return []
  const findings = new Findings()
  findings.add('build.grpc', 'operation', 'BuildKitGrpc',
    'is BuildKit\'s raw gRPC API (any build option, including the security.insecure entitlement), which dockgate cannot inspect (needs guards.build.grpc)')
  return findings.list
}

export const buildKitGrpcGuard: OperationGuard = {
  shape: ANY,
  body: 'none',
  check: (_body, ctx) => checkBuildKitGrpc(ctx),
}
