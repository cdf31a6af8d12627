/** ADDR values: `unix:///abs/path.sock` and `tcp://HOST:PORT`, and the near misses people type. */
import { describe, expect, test } from 'vitest'
import { formatAddress, isLoopback, parseAddress, type Address } from '../../../src/config.js'

describe('parseAddress accepts', () => {
  test.each<[string, string, Address, string?]>([
    ['a unix socket', 'unix:///var/run/docker.sock', { kind: 'unix', path: '/var/run/docker.sock' }],
    ['a unix socket at the root', 'unix:///d.sock', { kind: 'unix', path: '/d.sock' }],
    ['IPv4 and port', 'tcp://127.0.0.1:2375', { kind: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['a host name', 'tcp://localhost:2375', { kind: 'tcp', host: 'localhost', port: 2375 }],
    ['a dotted host name', 'tcp://docker.internal.example:2376', { kind: 'tcp', host: 'docker.internal.example', port: 2376 }],
    ['IPv6 in brackets', 'tcp://[::1]:2375', { kind: 'tcp', host: '::1', port: 2375 }],
    ['IPv6 any', 'tcp://[::]:2375', { kind: 'tcp', host: '::', port: 2375 }],
    ['all interfaces', 'tcp://0.0.0.0:2375', { kind: 'tcp', host: '0.0.0.0', port: 2375 }],
    ['the highest port', 'tcp://127.0.0.1:65535', { kind: 'tcp', host: '127.0.0.1', port: 65535 }],
  ])('%s: %s', (_name, text, address) => {
    expect(parseAddress(text)).toEqual({ address })
    expect(formatAddress(address)).toBe(text)
  })

  test('port 0 (any free port) only where dockgate listens', () => {
    expect(parseAddress('tcp://127.0.0.1:0', { allowPort0: true })).toEqual({ address: { kind: 'tcp', host: '127.0.0.1', port: 0 } })
    expect(parseAddress('tcp://127.0.0.1:0')).toEqual({ error: 'port 0 is out of range (1–65535)' })
  })
})

describe('parseAddress refuses, naming the form to write', () => {
  test('no host binds loopback: tcp://:2375', () => {
    expect(parseAddress('tcp://:2375')).toEqual({ address: { kind: 'tcp', host: '127.0.0.1', port: 2375 } })
  })

  test.each<[string, string, string]>([
    ['a relative unix path', 'unix://run/d.sock', 'the unix socket path must be absolute, as in unix:///run/dockgate.sock'],
    ['unix with one slash', 'unix:/run/d.sock', 'expected unix:///path.sock or tcp://HOST:PORT'],
    ['a bare path', '/var/run/docker.sock', 'write unix:///var/run/docker.sock'],
    ['a bare host:port', '127.0.0.1:2375', 'write tcp://127.0.0.1:2375'],
    ['http', 'http://localhost:2375', 'unsupported scheme "http://"; use unix:///path.sock or tcp://HOST:PORT'],
    ['npipe', 'npipe:////./pipe/docker_engine', 'unsupported scheme "npipe://"; use unix:///path.sock or tcp://HOST:PORT'],
    ['an unnormalised path', 'unix:///run//d.sock', 'write the path plainly: unix:///run/d.sock'],
    ['a path with ..', 'unix:///run/../d.sock', 'write the path plainly: unix:///d.sock'],
    ['a trailing slash', 'unix:///run/d/', 'write the path plainly: unix:///run/d'],
    ['a NUL byte', 'unix:///run/d\0.sock', 'the unix socket path contains a NUL byte'],
    ['a path too long for sun_path', `unix:///${'a'.repeat(107)}`, 'the unix socket path is 108 bytes; the limit is 107'],
    ['no port', 'tcp://127.0.0.1', 'the port is missing: tcp://HOST:PORT'],
    ['an empty port', 'tcp://127.0.0.1:', 'the port is missing: tcp://HOST:PORT'],
    ['a port too large', 'tcp://127.0.0.1:65536', 'port 65536 is out of range (1–65535)'],
    ['a port that is not a number', 'tcp://127.0.0.1:http', '"http" is not a port number'],
    ['a path after the port', 'tcp://127.0.0.1:2375/', '"2375/" is not a port number (no path after the port)'],
    ['a negative port', 'tcp://127.0.0.1:-1', '"-1" is not a port number'],
    ['IPv6 without brackets', 'tcp://::1:2375', 'write an IPv6 address in brackets, as in tcp://[::1]:2375'],
    ['not IPv6 in brackets', 'tcp://[localhost]:2375', '"localhost" is not a valid IPv6 address'],
    ['a bad host name', 'tcp://under_score:2375', '"under_score" is not a valid host name or IPv4 address'],
    ['an empty string', '', 'expected unix:///path.sock or tcp://HOST:PORT'],
  ])('%s: %j', (_name, text, error) => {
    expect(parseAddress(text, { allowPort0: false })).toEqual({ error })
  })
})

describe('isLoopback', () => {
  test.each<[string, boolean]>([
    ['unix:///run/d.sock', true],
    ['tcp://127.0.0.1:1', true],
    ['tcp://127.1.2.3:1', true],
    ['tcp://localhost:1', true],
    ['tcp://[::1]:1', true],
    ['tcp://[::ffff:127.0.0.1]:1', true],
    ['tcp://0.0.0.0:1', false],
    ['tcp://[::]:1', false],
    ['tcp://10.0.0.1:1', false],
    ['tcp://docker.example:1', false],
  ])('%s → %s', (text, loopback) => {
    const r = parseAddress(text)
    if (!('address' in r)) throw new Error(r.error)
    expect(isLoopback(r.address)).toBe(loopback)
  })
})
