/**
 * listen(): what bind(2) refuses is said in words, naming the path and what to do — a socket
 * path in a missing directory says the directory is missing (not a bare ENOENT). Real sockets
 * in a private temporary directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { describeBindError, listen, ListenError } from '../../src/listen.js'

const root = mkdtempSync(join(tmpdir(), 'dockgate-listen-'))
const servers: Server[] = []
afterAll(() => {
  for (const s of servers) s.close()
  rmSync(root, { recursive: true, force: true })
})

function server(): Server {
  const s = createServer()
  servers.push(s)
  return s
}

describe('listen: refusals say what is wrong with the path', () => {
  test('a socket path in a missing directory says the directory does not exist, and how to create it', async () => {
    const path = join(root, 'missing', 'dockgate.sock')
    const err: unknown = await listen(server(), { kind: 'unix', path }, { mode: 0o660 }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(ListenError)
    expect((err as Error).message).toBe(`cannot listen on ${path}: directory ${join(root, 'missing')} does not exist; create it (install -d -m 0755 ${join(root, 'missing')}) or choose another path`)
  })

  test('a file where a directory should be', async () => {
    writeFileSync(join(root, 'file'), '')
    const path = join(root, 'file', 'dockgate.sock')
    await expect(listen(server(), { kind: 'unix', path }, { mode: 0o660 })).rejects.toThrow(`cannot listen on ${path}: a part of ${join(root, 'file')} is not a directory`)
  })

  test('a TCP port in use', async () => {
    const first = server()
    await listen(first, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { mode: 0o660 })
    const port = (first.address() as { port: number }).port
    await expect(listen(server(), { kind: 'tcp', host: '127.0.0.1', port }, { mode: 0o660 })).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: the port is in use by another process`)
  })

  test.each([
    // libuv says EACCES for a missing directory too: the directory is looked at.
    [{ path: join(root, 'x.sock') }, 'EACCES', `cannot listen on ${join(root, 'x.sock')}: permission denied: dockgate (uid ${process.getuid!()}) may not create files in ${root}`],
    [{ path: '/nonexistent-dockgate/x.sock' }, 'EACCES', 'cannot listen on /nonexistent-dockgate/x.sock: directory /nonexistent-dockgate does not exist; create it (install -d -m 0755 /nonexistent-dockgate) or choose another path'],
    [{ path: '/ro/x.sock' }, 'EROFS', 'cannot listen on /ro/x.sock: /ro is on a read-only file system'],
    [{ host: '10.9.9.9', port: 2375 }, 'EADDRNOTAVAIL', 'cannot listen on 10.9.9.9:2375: 10.9.9.9 is not an address of this host'],
    [{ host: '0.0.0.0', port: 80 }, 'EACCES', 'cannot listen on 0.0.0.0:80: permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE'],
    [{ path: '/x.sock' }, 'EWHATEVER', 'cannot listen on /x.sock: EWHATEVER'],
  ])('describeBindError %j %s', (opts, code, message) => {
    expect(describeBindError(opts, code, 'raw')).toBe(message)
  })
})
