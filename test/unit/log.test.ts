/** The logger (src/log.ts): ISO 8601 times and level names in JSON lines; pino-pretty for a terminal. */
import { Writable } from 'node:stream'
import { describe, expect, test } from 'vitest'
import { createLogger } from '../../src/log.js'

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = []
  return { stream: new Writable({ write(c: Buffer, _e, cb) { chunks.push(c.toString()); cb() } }), text: () => chunks.join('') }
}

describe('createLogger', () => {
  test('JSON lines: ISO time, level name, service; no pid or hostname', () => {
    const s = sink()
    createLogger('info', s.stream).warn({ audit: { decision: 'deny' } }, 'deny ContainerCreate')
    const line = JSON.parse(s.text()) as Record<string, unknown>
    expect(Object.keys(line)).toEqual(['level', 'time', 'service', 'audit', 'msg'])
    expect(line['level']).toBe('warn')
    expect(line['time']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect(line['service']).toBe('dockgate')
  })

  test('the level decides what is written', () => {
    const s = sink()
    const logger = createLogger('warn', s.stream)
    logger.info('not written')
    logger.error('written')
    expect(s.text().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['written'])
  })

  test('for a terminal: human-readable lines (pino-pretty), an audit record on one line', () => {
    const s = sink()
    const logger = createLogger('info', s.stream, { pretty: true })
    logger.warn({
      audit: {
        id: 'abc123-7', listener: 'unix:///run/a.sock', policy: 'container-operator', client: { uid: 1000, gid: 1000, pid: 42 }, method: 'POST', path: '/containers/create', version: '1.41',
        operation: 'ContainerCreate', object: 'busybox', decision: 'deny', rule: 'container.privileged', reason: 'HostConfig.Privileged=true is not allowed', status: 403, bytesIn: 300, bytesOut: 200, durationMs: 2.5,
      },
    }, 'deny ContainerCreate busybox')
    logger.info({ reload: { result: 'success' } }, 'configuration reloaded')
    const lines = s.text().split('\n')
    expect(lines[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: deny ContainerCreate busybox — POST \/v1\.41\/containers\/create, uid 1000 on unix:\/\/\/run\/a\.sock, policy container-operator, rule container\.privileged, 403, 2\.5 ms, 300\/200 bytes in\/out, id abc123-7: HostConfig\.Privileged=true is not allowed$/)
    expect(lines[1]).toMatch(/^\[[\d:.]+\] INFO: configuration reloaded$/)
    // Other fields of other lines are still shown.
    expect(lines[2]).toBe('    reload: {')
  })
})
