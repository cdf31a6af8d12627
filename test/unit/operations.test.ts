/**
 * The operation table (src/operations.ts) against the route table generated from the specs: one
 * entry per operation, and the invariants the request path relies on.
 */
import { describe, expect, test } from 'vitest'
import { ENDPOINT_TABLE } from '../../src/endpoints-table.js'
import { allOperations } from '../../src/endpoints.js'
import { CONTENT_TYPES, OPERATION_FACTS } from '../../src/operations.js'
import { GUARDED_OPERATIONS, guardFor } from '../../src/guards/index.js'

const ops = allOperations()

describe('operation table', () => {
  test('every route has facts, and every fact a route', () => {
    expect(Object.keys(OPERATION_FACTS).sort()).toEqual([...new Set(ENDPOINT_TABLE.map((r) => r.id))].sort())
  })

  test.each(ops.filter((op) => op.escalating).map((op) => [op.id, op] as const))(
    '%s can escalate, so it has a guard or a target treatment',
    (_id, op) => {
      expect(op.guard !== undefined || (op.target !== undefined && op.target.reach !== 'read')).toBe(true)
    },
  )

  test.each(ops.filter((op) => op.body === 'json' || op.target !== undefined).map((op) => [op.id, op] as const))(
    '%s (body or container reference) has a decided guard and target policy',
    (_id, op) => {
      // Decided = written down: a body the engine decodes is either guarded or knowingly not.
      expect(['none', 'json', 'stream']).toContain(op.body)
      if (op.target !== undefined) expect(['read', 'change', 'enter']).toContain(op.target.reach)
      // Writes to a container change or enter it; waiting for it to stop only reads.
      if (op.target?.kind === 'container' && op.method !== 'GET' && op.method !== 'HEAD' && op.id !== 'ContainerWait') expect(op.target.reach).not.toBe('read')
    },
  )

  test('operations that put the client inside an existing container enter it', () => {
    const enter = ops.filter((op) => op.target?.reach === 'enter').map((op) => op.id).sort()
    expect(enter).toEqual(['ContainerArchive', 'ContainerArchiveInfo', 'ContainerAttach', 'ContainerAttachWebsocket', 'ContainerExec', 'ContainerExport', 'ContainerRestart', 'ContainerStart', 'ExecStart', 'ImageCommit', 'PutContainerArchive'])
  })

  test('every write to a container that is not entering it is a change (never dockgate\'s own)', () => {
    const change = ops.filter((op) => op.target?.kind === 'container' && op.target.reach === 'change').map((op) => op.id).sort()
    expect(change).toEqual(['CheckpointCreate', 'CheckpointDelete', 'ContainerDelete', 'ContainerKill', 'ContainerPause', 'ContainerRename', 'ContainerResize', 'ContainerStop', 'ContainerUnpause', 'ContainerUpdate'])
  })

  test('only /_ping is always allowed', () => {
    expect(ops.filter((op) => op.alwaysAllowed).map((op) => `${op.method} ${op.template}`)).toEqual(['GET /_ping', 'HEAD /_ping'])
  })

  test('guards that read a JSON body are only on operations whose body the engine decodes as JSON', () => {
    for (const id of GUARDED_OPERATIONS) {
      const op = ops.find((o) => o.id === id)!
      if (guardFor(id)?.body === 'json') expect(op.body, id).toBe('json')
    }
  })

  test('streamed bodies are never read by a guard', () => {
    for (const op of ops.filter((o) => o.body === 'stream')) expect(guardFor(op.id)?.body, op.id).not.toBe('json')
  })

  test('no body kind accepts a form', () => {
    for (const types of Object.values(CONTENT_TYPES)) {
      expect(types).not.toContain('application/x-www-form-urlencoded')
      expect(types).not.toContain('multipart/form-data')
      for (const t of types) expect(t).toMatch(/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/)
    }
  })
})
