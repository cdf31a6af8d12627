import { test, expect, inject } from 'vitest'
import { startProxy } from '../support/proxy.js'
import { docker } from '../support/cli.js'

test('smoke', async () => {
  const engineSocket = inject('engineSocket')
  const proxy = await startProxy({ policy: 'full', engineSocket })
  try {
    for (const cli of ['new', 'old'] as const) {
      const v = await docker(['version'], { host: proxy.host, cli })
      console.log(cli, v.code, v.stdout.toString(), v.stderr)
      const r = await docker(['run', '--rm', '--network', 'none', 'busybox:test', 'echo', 'hi'], { host: proxy.host, cli, timeoutMs: 8000 }).catch((e) => { console.log(JSON.stringify(proxy.lines, null, 1)); throw e })
      console.log(cli, r.code, r.stdout.toString(), r.stderr)
      const e = await docker(['run', '--rm', '-i', '--network', 'none', 'busybox:test', 'sh', '-c', 'cat | wc -c; exit 3'], { host: proxy.host, cli, input: Buffer.alloc(3_000_000, 97) })
      console.log(cli, e.code, e.stdout.toString(), e.stderr)
    }
    const ro = await startProxy({ policy: 'read-only', engineSocket })
    const r = await docker(['run', '--rm', '--network', 'none', 'busybox:test', 'echo', 'hi'], { host: ro.host })
    console.log(r.code, r.stdout.toString(), r.stderr)
    await ro.close()
    console.log(proxy.audits().slice(0, 5))
  } finally {
    await proxy.close()
  }
  expect(1).toBe(1)
})
