/**
 * Errors about the engine name its address, whichever way the connection failed; an unreachable
 * engine's code is said in words with what to check.
 */
import { describe, expect, test } from 'vitest'
import { upstreamError } from '../../src/upstream.js'

const err = (code: string | undefined, message = 'boom'): NodeJS.ErrnoException => Object.assign(new Error(message), code === undefined ? {} : { code })

describe('upstreamError', () => {
  test.each([
    [{ kind: 'unix', path: '/var/run/docker.sock' }, 'ENOENT', 'DG_UPSTREAM_UNREACHABLE',
      'dockgate: cannot reach the Docker engine at unix:///var/run/docker.sock (ENOENT, no such socket); check that the engine runs there and dockgate\'s --upstream [DG_UPSTREAM_UNREACHABLE]'],
    [{ kind: 'unix', path: '/var/run/docker.sock' }, 'EACCES', 'DG_UPSTREAM_UNREACHABLE',
      'dockgate: cannot reach the Docker engine at unix:///var/run/docker.sock (EACCES, permission denied: dockgate\'s user may not open the socket); check that the engine runs there and dockgate\'s --upstream [DG_UPSTREAM_UNREACHABLE]'],
    [{ kind: 'tcp', host: '::1', port: 2375 }, 'ECONNREFUSED', 'DG_UPSTREAM_UNREACHABLE',
      'dockgate: cannot reach the Docker engine at tcp://[::1]:2375 (ECONNREFUSED, connection refused: nothing listens there); check that the engine runs there and dockgate\'s --upstream [DG_UPSTREAM_UNREACHABLE]'],
    [{ kind: 'tcp', host: '10.0.0.5', port: 2376 }, 'ECONNRESET', 'DG_UPSTREAM_FAILED',
      'dockgate: the connection to the Docker engine at tcp://10.0.0.5:2376 failed (ECONNRESET) [DG_UPSTREAM_FAILED]'],
    [{ kind: 'unix', path: '/run/docker.sock' }, undefined, 'DG_UPSTREAM_FAILED',
      'dockgate: the connection to the Docker engine at unix:///run/docker.sock failed (boom) [DG_UPSTREAM_FAILED]'],
  ] as const)('%j %s', (address, code, expectedCode, message) => {
    const e = upstreamError(err(code), address)
    expect(e.code).toBe(expectedCode)
    expect(e.clientMessage()).toBe(message)
  })
})
