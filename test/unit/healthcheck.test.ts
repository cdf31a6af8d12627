/**
 * `dockgate healthcheck`: finding the server's options in /proc (a fake /proc tree), and the
 * verdicts against a real dockgate in this process in front of a stand-in engine on a unix socket.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import net from 'node:net'
import { loadConfig } from '../../src/config.js'
import { findServers, healthcheck } from '../../src/healthcheck.js'
import { startDockgate, type RunningDockgate } from '../../src/server.js'
import { makeCerts, type TestCerts } from '../support/tls.js'

const dir = mkdtempSync(join(tmpdir(), 'dockgate-health-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('findServers', () => {
  const proc = join(dir, 'proc')
  const app = join(dir, 'app')
  const cli = join(app, 'dist', 'cli.js')
  mkdirSync(join(app, 'dist'), { recursive: true })
  writeFileSync(cli, '')
  const fake = (pid: number, argv: string[], env: string[], cwd = app): void => {
    mkdirSync(join(proc, String(pid)), { recursive: true })
    writeFileSync(join(proc, String(pid), 'cmdline'), argv.map((a) => `${a}\0`).join(''))
    writeFileSync(join(proc, String(pid), 'environ'), env.map((e) => `${e}\0`).join(''))
    symlinkSync(cwd, join(proc, String(pid), 'cwd'))
  }
  fake(1, ['/usr/local/bin/node', cli, '--policy', 'container-operator'], ['DOCKGATE_LISTEN=tcp://0.0.0.0:2375', 'PATH=/bin'])
  fake(7, ['node', 'dist/cli.js', 'healthcheck'], [])            // another healthcheck: not a server
  fake(8, ['node', 'dist/cli.js', 'check', 'GET', '/_ping'], []) // `dockgate check`: not a server
  fake(9, ['node', '/elsewhere/cli.js'], [])                     // another program
  fake(10, ['sh', '-c', 'sleep 1'], [])
  mkdirSync(join(proc, 'self'))

  test('the server is found by its script (relative paths resolved in its cwd), with its options and environment', () => {
    expect(findServers(proc, cli)).toEqual([
      { pid: 1, args: ['--policy', 'container-operator'], env: { DOCKGATE_LISTEN: 'tcp://0.0.0.0:2375', PATH: '/bin' }, cwd: app },
    ])
  })

  test('without ptrace-read access (no cwd, no environ): found by an absolute script path, with our own environment', () => {
    const other = join(dir, 'proc2')
    mkdirSync(join(other, '1'), { recursive: true })
    writeFileSync(join(other, '1', 'cmdline'), `/usr/local/bin/node\0${cli}\0--listen\0unix:///run/x.sock\0`)
    expect(findServers(other, cli)).toEqual([{ pid: 1, args: ['--listen', 'unix:///run/x.sock'], env: { ...process.env }, cwd: '/' }])
  })

  test('a second server (relative script path) is found too, so that healthcheck can tell it is ambiguous', () => {
    fake(11, ['node', 'dist/cli.js', '--listen', 'unix:///run/x.sock'], [])
    expect(findServers(proc, cli).map((s) => [s.pid, s.args])).toEqual([[1, ['--policy', 'container-operator']], [11, ['--listen', 'unix:///run/x.sock']]])
  })
})

/** A dockgate in this process, configured as the command line would. */
async function serve(argv: string[]): Promise<RunningDockgate> {
  const config = loadConfig(argv, {})
  if (!('listeners' in config)) throw new Error('expected a Config')
  return startDockgate(config, { logger: pino({ level: 'silent' }), registry: new Registry(), processMetrics: false })
}

/** A TCP port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

describe('healthcheck against a live dockgate', () => {
  const engineSock = join(dir, 'engine.sock')
  const proxySock = join(dir, 'proxy.sock')
  let engine: http.Server | undefined
  let running: RunningDockgate
  const startEngine = async (): Promise<void> => {
    engine = http.createServer((req, res) => {
      res.writeHead(req.url === '/_ping' ? 200 : 404, { 'Api-Version': '1.41' })
      res.end('OK')
    })
    await new Promise<void>((r) => engine!.listen(engineSock, r))
  }
  const stopEngine = async (): Promise<void> => {
    await new Promise<void>((r) => engine!.close(() => r()))
    engine = undefined
  }
  const check = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> => {
    let out = ''
    const code = await healthcheck(args, env, { out: (s) => (out += s) })
    return { code, out }
  }
  const opts = ['--listen', `unix://${proxySock}`, '--upstream', `unix://${engineSock}`]

  beforeAll(async () => {
    await startEngine()
    running = await serve([...opts, '--policy', 'events-only'])
  })
  afterAll(async () => {
    await running.close(500)
    if (engine) await stopEngine()
  })

  test('healthy: the engine and the listener answer', async () => {
    expect(await check(opts)).toEqual({ code: 0, out: `healthy: engine at unix://${engineSock} answers (API 1.41); unix://${proxySock} answers /_ping\n` })
  })

  test('options may come from the environment', async () => {
    expect((await check([], { DOCKGATE_LISTEN: `unix://${proxySock}`, DOCKGATE_UPSTREAM: `unix://${engineSock}` })).code).toBe(0)
  })

  test('a listener that is not there', async () => {
    const r = await check(['--listen', `unix://${dir}/none.sock`, '--upstream', `unix://${engineSock}`])
    expect(r).toEqual({ code: 1, out: `unhealthy: unix://${dir}/none.sock: no such socket (is dockgate running?)\n` })
  })

  test('the engine gone: the reason from the probe and dockgate\'s own answer on the listener', async () => {
    await stopEngine()
    try {
      const r = await check(opts)
      expect(r.code).toBe(1)
      expect(r.out.split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^unhealthy: engine: no such file: ${engineSock}: `)),
        expect.stringMatching(new RegExp(`^unhealthy: unix://${proxySock}: GET /_ping answered HTTP 502: dockgate: .*\\[DG_UPSTREAM_UNREACHABLE\\]$`)),
        '',
      ])
    } finally {
      await startEngine()
    }
  })

  test('options that do not parse: exit 2 with the problem', async () => {
    const r = await check(['--listen', 'nowhere'])
    expect(r.code).toBe(2)
    expect(r.out).toContain('unhealthy: --listen: expected unix:///path.sock or tcp://HOST:PORT')
  })
})

describe('healthcheck of TLS listeners', () => {
  let certs: TestCerts
  const engineSock = join(dir, 'engine-tls.sock')
  let engine: http.Server
  beforeAll(async () => {
    certs = makeCerts()
    engine = http.createServer((_req, res) => res.end('OK'))
    await new Promise<void>((r) => engine.listen(engineSock, r))
  })
  afterAll(async () => {
    await new Promise<void>((r) => engine.close(() => r()))
    certs.remove()
  })

  test.each([
    ['TLS: GET /_ping over TLS (the certificate is not checked: this is dockgate checking itself)', false, /^healthy: .*; tcp:\/\/127\.0\.0\.1:\d+ answers \/_ping\n$/],
    ['mutual TLS: a handshake with the configured certificate', true, /^healthy: .*; tcp:\/\/127\.0\.0\.1:\d+ completes a TLS handshake \(mutual TLS: \/_ping needs a client certificate\)\n$/],
  ] as const)('%s', async (_name, mutual, expected) => {
    const port = await freePort()
    const argv = ['--listen', `tcp://127.0.0.1:${port}`, '--upstream', `unix://${engineSock}`, '--tls-cert', certs.server.cert, '--tls-key', certs.server.key, ...(mutual ? ['--tls-ca', certs.ca] : [])]
    const running = await serve(argv)
    try {
      let out = ''
      expect(await healthcheck(argv, {}, { out: (s) => (out += s) })).toBe(0)
      expect(out).toMatch(expected)
    } finally {
      await running.close(500)
    }
  })
})
