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

  test('for a terminal: human-readable lines (pino-pretty), not JSON', () => {
    const s = sink()
    createLogger('info', s.stream, { pretty: true }).warn({ audit: { decision: 'deny', operation: 'ContainerCreate' } }, 'deny ContainerCreate busybox')
    const text = s.text()
    expect(text).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: deny ContainerCreate busybox\n/)
    expect(text).toContain('"decision": "deny"')
    expect(() => JSON.parse(text)).toThrow()
  })
})
