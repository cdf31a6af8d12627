/**
 * The redaction sites (src/redact/sites.ts, per operation in src/operations.ts) against both
 * Engine API specs: every site's path exists in its operation's answer, with the type its form
 * expects; and every field of any answer that looks like it carries a secret (environments, driver
 * options, tokens, keys, data) is either a site or listed below with the reason it is not.
 *
 * The specs are the vendored ones in spec/docker-engine-api (as endpoints.test.ts reads them).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { allOperations } from '../../src/endpoints.js'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const specDir = join(repoRoot, 'spec/docker-engine-api')
const SPECS = ['v1.41', 'v1.56'] as const

type Schema = {
  $ref?: string; allOf?: Schema[]; properties?: Record<string, Schema>; items?: Schema
  additionalProperties?: Schema | boolean; type?: string | string[]; format?: string
}
interface Spec { paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, { schema?: Schema }> }>>; definitions: Record<string, Schema> }

/** Every field path of a schema: `A.B`, `[]` for list elements, `{}` for map values; with the field's schema. */
function fieldPaths(spec: Spec, schema: Schema | undefined, prefix: string, out: Map<string, Schema>, refs: readonly string[] = []): void {
  if (schema === undefined || refs.length > 12) return
  if (schema.$ref !== undefined) {
    if (refs.includes(schema.$ref)) return
    fieldPaths(spec, spec.definitions[schema.$ref.replace('#/definitions/', '')], prefix, out, [...refs, schema.$ref])
    return
  }
  if (prefix !== '') out.set(prefix, { ...(out.get(prefix) ?? {}), ...schema })
  for (const part of schema.allOf ?? []) fieldPaths(spec, part, prefix, out, refs)
  const join = (step: string): string => (prefix === '' ? step : `${prefix}.${step}`)
  for (const [name, sub] of Object.entries(schema.properties ?? {})) fieldPaths(spec, sub, join(name), out, refs)
  if (schema.items !== undefined) fieldPaths(spec, schema.items, `${prefix}[]`, out, refs)
  if (typeof schema.additionalProperties === 'object') fieldPaths(spec, schema.additionalProperties, join('{}'), out, refs)
}

/** operationId → field paths of its 2xx answer, per spec. */
function answers(): Map<string, Map<string, Map<string, Schema>>> {
  const byOp = new Map<string, Map<string, Map<string, Schema>>>()
  for (const v of SPECS) {
    const spec = parse(readFileSync(join(specDir, `${v}.yaml`), 'utf8')) as Spec
    for (const item of Object.values(spec.paths)) {
      for (const op of Object.values(item)) {
        if (typeof op !== 'object' || op.operationId === undefined) continue
        const ok = Object.entries(op.responses ?? {}).find(([code]) => code.startsWith('2'))?.[1]
        const paths = new Map<string, Schema>()
        fieldPaths(spec, ok?.schema, '', paths)
        if (!byOp.has(op.operationId)) byOp.set(op.operationId, new Map())
        byOp.get(op.operationId)!.set(v, paths)
      }
    }
  }
  return byOp
}

const ANSWERS = answers()
const sitePath = (p: string): string => p.replace(/\.?\[\]/g, '[]')

/** The spec writes `[].Spec` for list answers as `[].Spec`; sites write `[].Spec` too. */
function has(op: string, path: string): { spec: string; schema: Schema }[] {
  const found: { spec: string; schema: Schema }[] = []
  for (const [spec, paths] of ANSWERS.get(op) ?? []) {
    const schema = paths.get(path) ?? paths.get(path.replace(/^\[\]\./, '[].'))
    if (schema !== undefined) found.push({ spec, schema })
  }
  return found
}

const typeOf = (s: Schema): string[] => [s.type ?? (s.properties ? 'object' : s.items ? 'array' : '')].flat()

/**
 * Fields the engine sends that neither spec documents. swarm.Service.PreviousSpec: the spec before
 * the last update (moby api/types/swarm/service.go; `docker service rollback` reads it).
 */
const UNDOCUMENTED = /^(\[\]\.)?PreviousSpec\./

describe('every site is a field of its operation\'s answer, of the type its form expects', () => {
  const sites = allOperations().flatMap((o) => (o.response ?? []).map((s) => [`${o.id} ${s.path}`, o.id, s] as const))
  test.each(sites)('%s', (_name, id, s) => {
    if (UNDOCUMENTED.test(s.path)) {
      // The same site under Spec is checked against the specs.
      expect(has(id, s.path.replace('PreviousSpec.', 'Spec.')).length).toBeGreaterThan(0)
      return
    }
    const where = has(id, s.path)
    expect(where.length, `${s.path} is in neither spec's answer of ${id}`).toBeGreaterThan(0)
    for (const { spec, schema } of where) {
      const types = typeOf(schema)
      if (s.form === 'env') expect(types, `${spec}`).toContain('array')
      else if (s.form === 'map') expect(types.includes('object') && typeof schema.additionalProperties === 'object', `${spec}`).toBe(true)
      else expect(types, `${spec}`).toContain('string')
    }
  })

  test('ContainerConfig (ImageInspect) is in v1.41 only; the sites still cover the engines that send it', () => {
    expect(has('ImageInspect', 'ContainerConfig.Env').map((w) => w.spec)).toEqual(['v1.41'])
  })
})

/** Field names that carry secrets or credentials in some answer. */
const LOOKS_SECRET = /(^|\.|\])(Env|Data|UnlockKey|Worker|Manager|Options|Config|IdentityToken|[A-Za-z]*(Password|Token|Secret|Key))$/

/**
 * Fields that look like secrets but are not redacted, and why. `*` matches any operation.
 * Everything else that matches LOOKS_SECRET must be a site of its operation.
 */
const NOT_REDACTED: ReadonlyArray<readonly [op: string, path: RegExp, why: string]> = [
  ['*', /(^|\])\.?(Config|ContainerConfig)$/, 'the object holding Env (a site), not a value'],
  ['*', /(^|\.)IPAM\.Config$/, 'the subnets of a network'],
  ['*', /CredentialSpec\.Config$/, 'the id of the swarm config holding a Windows credential spec, not the spec'],
  ['*', /(^|\])\.?Config\.Env$/, 'a plugin\'s Config.Env is its manifest (defaults, public like an image\'s); Settings.Env is the site'],
  ['SystemAuth', /^IdentityToken$/, 'returned to the client that just logged in with its own password'],
  ['VolumeCreate', /^Options$/, 'the creator\'s own options, sent in its request'],
  ['NetworkInspect', /^(IPAM\.)?Options$/, 'network and IPAM driver options (bridge name, MTU, parent interface)'],
  ['NetworkList', /^\[\]\.(IPAM\.)?Options$/, 'network and IPAM driver options (bridge name, MTU, parent interface)'],
  ['*', /NetworksAttachments\[\]\.Network\.(IPAM\.)?Options$/, 'network and IPAM driver options of a task\'s networks'],
  ['*', /(^|\.)Templating\.Options$/, 'options of the templating driver (golang templates)'],
  ['*', /DeviceRequests\[\]\.Options$/, 'options of a device driver (GPU capabilities)'],
  ['*', /TmpfsOptions\.Options$/, 'tmpfs mount flags'],
  ['*', /DNSConfig\.Options$/, 'resolv.conf options'],
  ['*', /(Config|Settings)\.Mounts\[\]\.Options$/, 'a plugin\'s mount flags (rbind, ro)'],
  ['*', /ExternalCAs\[\]\.Options$/, 'cfssl options of an external CA (the engine authenticates with its own certificate)'],
  ['*', /(^|\.)SigningCAKey$/, 'never returned: moby daemon/cluster/convert/swarm.go SwarmFromGRPC leaves the signing key out'],
  ['*', /CertIssuerPublicKey$/, 'a public key'],
  ['*', /(^|\.)GraphDriver\.Data$/, 'the storage driver\'s directories (MergedDir, UpperDir)'],
  ['*', /(^|\.)SandboxKey$/, 'the path of the network namespace'],
  ['*', /AccessMode\.Secrets\[\]\.(Key|Secret)$/, 'a cluster volume\'s secret references (names), not their data'],
]

describe('every secret-looking field of every answer is a site or has a reason', () => {
  const cases: Array<readonly [string, string, string]> = []
  for (const [id, specs] of ANSWERS) {
    const paths = new Set<string>()
    for (const p of specs.values()) for (const k of p.keys()) paths.add(k)
    for (const path of paths) if (LOOKS_SECRET.test(path)) cases.push([`${id} ${path}`, id, path])
  }
  test.each(cases)('%s', (_name, id, path) => {
    const sites = allOperations().find((o) => o.id === id)?.response ?? []
    const covered = sites.some((s) => sitePath(s.path) === sitePath(path) || path.startsWith(`${s.path}.`) || path.startsWith(`${s.path}[]`))
    const excused = NOT_REDACTED.some(([op, re]) => (op === '*' || op === id) && re.test(path))
    expect(covered || excused, `${id}: ${path} looks like it can carry a secret: add a site (src/redact/sites.ts) or a reason here`).toBe(true)
  })
})
