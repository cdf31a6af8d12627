// The harness itself, straight against the private engine (no proxy): if these fail, every other
// integration test is measuring the harness, not dockgate.
import { describe, expect, inject, test } from 'vitest'
import { CLIS, docker, type CliName } from '../support/cli.js'
import { engineRequest } from '../support/engine.js'
import { engineFacts, engineVersion } from '../support/engine-facts.js'
import { APPLETS, BIG_IMAGE, BUSYBOX_IMAGE, DEFAULT_BIG_BYTES } from '../support/images.js'

const socket = inject('engineSocket')
const host = `unix://${socket}`
const clis = Object.keys(CLIS) as CliName[]
const facts = engineFacts()
/** `Version` as the engine reported it to global-setup.ts. */
const serverVersion = inject('engine').version

describe.each(clis)('%s CLI against the private engine', (cli) => {
  test(`docker version reports a ${engineVersion()} server with API ${facts.apiVersion}`, async () => {
    const res = await docker(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}}'], { host, cli })
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout.toString()).toBe(`${serverVersion} ${facts.apiVersion} ${facts.minApiVersion}\n`)
    expect(serverVersion.startsWith(facts.versionPrefix), serverVersion).toBe(true)
  })

  test('docker run --network none busybox:test echo hi prints hi', async () => {
    const res = await docker(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'echo', 'hi'], { host, cli })
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout.toString()).toBe('hi\n')
  })

  test('docker images lists both test images', async () => {
    const res = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}'], { host, cli })
    expect(res.code).toBe(0)
    expect(res.stdout.toString().split('\n')).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, BIG_IMAGE]))
  })

  test('stdin reaches the container with -i', async () => {
    const res = await docker(['run', '--rm', '-i', '--network', 'none', BUSYBOX_IMAGE, 'md5sum'], { host, cli, input: 'abc' })
    expect(res.code).toBe(0)
    expect(res.stdout.toString()).toBe('900150983cd24fb0d6963f7d28e17f72  -\n')
  })

  test('the exit code of the container is the exit code of the CLI', async () => {
    const res = await docker(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', 'exit 7'], { host, cli })
    expect(res.code).toBe(7)
  })

  test('-t works without a terminal; -it needs one, which tty: true provides', async () => {
    const t = await docker(['run', '--rm', '-t', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', 'tty; echo done'], { host, cli })
    expect(t.code).toBe(0)
    expect(t.stdout.toString()).toBe('/dev/pts/0\r\ndone\r\n')

    const it = ['run', '--rm', '-it', '--network', 'none', BUSYBOX_IMAGE, 'sh']
    const noTty = await docker(it, { host, cli, input: 'echo no\n' })
    expect(noTty.code).toBe(1)
    expect(noTty.stderr).toContain('the input device is not a TTY')

    const withTty = await docker(it, { host, cli, tty: true, input: 'echo $((6*7))\nexit 5\n' })
    expect(withTty.code).toBe(5)
    expect(withTty.stdout.toString()).toContain('\r\n42\r\n')
  })
})

describe('the private engine', () => {
  test('answers the API directly on its socket', async () => {
    const res = await engineRequest(socket, 'GET', '/_ping')
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe('OK')
    expect(res.headers['api-version']).toBe(facts.apiVersion)
    const version = await engineRequest(socket, 'GET', '/version')
    expect(JSON.parse(version.body.toString())).toMatchObject({ Version: serverVersion, ApiVersion: facts.apiVersion, MinAPIVersion: facts.minApiVersion })
  })

  test('has no bridge network, and containers get only lo', async () => {
    const nets = await docker(['network', 'ls', '--format', '{{.Name}}'], { host })
    expect(nets.code).toBe(0)
    expect(nets.stdout.toString().split('\n').filter(Boolean).sort()).toEqual(['host', 'none'])

    const ifaces = await docker(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'ls', '/sys/class/net'], { host })
    expect(ifaces.stdout.toString()).toBe('lo\n')
  })

  test('busybox:test links every applet and defaults to sh', async () => {
    const res = await docker(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', `for a in ${APPLETS.join(' ')}; do test -x /bin/$a || echo missing $a; done; id -un; ls -ld /tmp`], { host })
    expect(res.stdout.toString()).toMatch(/^root\ndrwxrwxrwt .* \/tmp\n$/)
    const inspect = await engineRequest(socket, 'GET', `/images/${BUSYBOX_IMAGE}/json`)
    expect(JSON.parse(inspect.body.toString()).Config.Cmd).toEqual(['sh'])
  })

  test('bigimage:test holds /big.bin of the default size', async () => {
    const res = await docker(['run', '--rm', '--network', 'none', BIG_IMAGE, 'wc', '-c', '/big.bin'], { host })
    expect(res.stdout.toString().trim()).toBe(`${DEFAULT_BIG_BYTES} /big.bin`)
  })
})

describe('the private engine cannot reach out', () => {
  test('a registry pull is sent to a closed loopback proxy and fails at once (network rule)', async () => {
    const socket = inject('engineSocket')
    const res = await engineRequest(socket, 'POST', '/images/create?fromImage=dockgate-offline-check&tag=latest')
    const text = res.body.toString()
    expect(text).toMatch(/proxyconnect tcp: dial tcp 127\.0\.0\.1:9: connect: connection refused/)
  })
})
