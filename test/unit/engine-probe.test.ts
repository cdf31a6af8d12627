/**
 * What dockgate says when it cannot reach the engine: one row per situation a user meets, each
 * naming the exact change (a mount, a --group-add, a user), in docker run and compose words inside
 * a container and in host words outside. Plus the probe itself, on real sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { describeEngineFailure, pathFacts, probeEngine, type PathFacts, type ProcessIdentity } from '../../src/engine-probe.js'
import type { Address } from '../../src/upstream.js'

const SOCK: Address = { kind: 'unix', path: '/var/run/docker.sock' }
const inContainer: ProcessIdentity = { uid: 65532, gid: 65532, groups: [65532], inContainer: true }
const onHost: ProcessIdentity = { uid: 1000, gid: 1000, groups: [1000], inContainer: false, groupName: (g) => (g === 105 ? 'docker' : undefined) }
const socket = (uid: number, gid: number, mode: number): PathFacts => ({ kind: 'socket', uid, gid, mode })

describe('describeEngineFailure', () => {
  test.each([
    ['container, group missing', SOCK, 'EACCES', inContainer, socket(0, 105, 0o660),
      "permission denied on /var/run/docker.sock (owned by uid 0, group 105, mode 0660; dockgate runs as uid 65532, groups 65532): run the container with --group-add 105 / group_add: ['105']"],
    ['host, group missing (named)', SOCK, 'EACCES', onHost, socket(0, 105, 0o660),
      'permission denied on /var/run/docker.sock (owned by uid 0, group 105 (docker), mode 0660; dockgate runs as uid 1000, groups 1000): run dockgate as a member of group docker (for example usermod -aG docker USER, then log in again)'],
    ['container, socket only for its owner', SOCK, 'EACCES', inContainer, socket(0, 0, 0o600),
      "permission denied on /var/run/docker.sock (owned by uid 0, group 0, mode 0600; dockgate runs as uid 65532, groups 65532): only uid 0 may connect; run dockgate as uid 0 (--user 0), or give the socket's group read and write access on the host"],
    ['container, already in the group (an LSM refused)', SOCK, 'EACCES', { ...inContainer, groups: [65532, 105] }, socket(0, 105, 0o660),
      'permission denied on /var/run/docker.sock (owned by uid 0, group 105, mode 0660; dockgate runs as uid 65532, groups 65532,105) although dockgate is in its group: a security module (SELinux, AppArmor) may refuse it; see the host\'s audit log'],
    ['a directory on the way is not searchable', SOCK, 'EACCES', inContainer, { kind: 'unreadable', error: 'EACCES' },
      'permission denied on a directory on the way to /var/run/docker.sock (dockgate runs as uid 65532, groups 65532): make the directories leading to the socket searchable, or mount the socket elsewhere'],
    ['container, socket not mounted', SOCK, 'ENOENT', inContainer, { kind: 'missing' },
      "no such file: /var/run/docker.sock: mount the engine socket with -v /var/run/docker.sock:/var/run/docker.sock (compose: volumes: ['/var/run/docker.sock:/var/run/docker.sock'])"],
    ['container, socket mounted elsewhere', { kind: 'unix', path: '/run/engine/docker.sock' }, 'ENOENT', inContainer, { kind: 'missing' },
      "no such file: /run/engine/docker.sock: mount the engine socket with -v /var/run/docker.sock:/run/engine/docker.sock (compose: volumes: ['/var/run/docker.sock:/run/engine/docker.sock'])"],
    ['host, no engine', SOCK, 'ENOENT', onHost, { kind: 'missing' },
      'no such file: /var/run/docker.sock: is the Docker engine running? Otherwise point --upstream / DOCKGATE_UPSTREAM at its socket'],
    ['container, docker made a directory for a missing host path', SOCK, 'ECONNREFUSED', inContainer, { kind: 'directory', uid: 0, gid: 0, mode: 0o755 },
      "/var/run/docker.sock is a directory, not the engine socket: the host had no socket at that path when the container was created, so docker made an empty directory; start the engine, then re-create this container (mount the engine socket with -v /var/run/docker.sock:/var/run/docker.sock (compose: volumes: ['/var/run/docker.sock:/var/run/docker.sock']))"],
    ['host, a plain file', SOCK, 'ECONNREFUSED', onHost, { kind: 'file', uid: 0, gid: 0, mode: 0o644 },
      "/var/run/docker.sock is not a socket: point --upstream / DOCKGATE_UPSTREAM at the engine's socket"],
    ['a socket nobody listens on', SOCK, 'ECONNREFUSED', onHost, socket(0, 105, 0o660),
      'nobody is listening on /var/run/docker.sock (a socket left behind by an engine that stopped?): start the Docker engine'],
    ['an engine that hangs', SOCK, 'ETIMEDOUT', onHost, socket(0, 105, 0o660),
      'the engine at unix:///var/run/docker.sock did not answer GET /_ping within 3 s'],
    ['tcp, refused', { kind: 'tcp', host: 'docker', port: 2375 }, 'ECONNREFUSED', inContainer, undefined,
      'nothing accepts connections at tcp://docker:2375: is the engine (or the proxy in front of it) running there? (--upstream / DOCKGATE_UPSTREAM)'],
    ['tcp, unknown host', { kind: 'tcp', host: 'dockr', port: 2375 }, 'ENOTFOUND', inContainer, undefined,
      'cannot resolve dockr: check --upstream / DOCKGATE_UPSTREAM'],
    ['anything else names its code', SOCK, 'EMFILE', onHost, socket(0, 105, 0o660),
      'cannot reach the engine at unix:///var/run/docker.sock: EMFILE'],
  ] as const)('%s', (_name, address, code, identity, facts, expected) => {
    expect(describeEngineFailure(address, code, identity, facts)).toBe(expected)
  })
})

describe('probeEngine on real sockets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dockgate-probe-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const serve = async (path: string, status: number): Promise<http.Server> => {
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/_ping' ? status : 404, { 'Api-Version': '1.41' })
      res.end('OK')
    })
    await new Promise<void>((r) => server.listen(path, r))
    return server
  }

  test('an engine that answers: ok, with its API version', async () => {
    const path = join(dir, 'ok.sock')
    const server = await serve(path, 200)
    try {
      expect(await probeEngine({ kind: 'unix', path }, onHost)).toEqual({ ok: true, apiVersion: '1.41' })
    } finally {
      server.close()
    }
  })

  test('an engine that answers /_ping with an error', async () => {
    const path = join(dir, 'err.sock')
    const server = await serve(path, 500)
    try {
      expect(await probeEngine({ kind: 'unix', path }, onHost)).toMatchObject({ ok: false, code: 'HTTP 500' })
    } finally {
      server.close()
    }
  })

  test('no socket: the advice for a missing file, from stat', async () => {
    const path = join(dir, 'none.sock')
    expect(pathFacts(path)).toEqual({ kind: 'missing' })
    expect(await probeEngine({ kind: 'unix', path }, onHost)).toEqual({
      ok: false, code: 'ENOENT', reason: `no such file: ${path}: is the Docker engine running? Otherwise point --upstream / DOCKGATE_UPSTREAM at its socket`,
    })
  })

  test('a directory where the socket should be', async () => {
    expect(await probeEngine({ kind: 'unix', path: dir }, inContainer)).toMatchObject({ ok: false, reason: expect.stringContaining(`${dir} is a directory, not the engine socket`) })
  })
})
