/** The guard table agrees with the endpoint table (generated from the Engine API specs). */
import { describe, expect, test } from 'vitest'
import { ENDPOINT_TABLE } from '../../../src/endpoints-table.js'
import { GUARDED_OPERATIONS, guardFor } from '../../../src/guards/index.js'

describe('guard table', () => {
  const ids = new Set(ENDPOINT_TABLE.map((op) => op.id))

  test.each(GUARDED_OPERATIONS)('%s is an Engine API operationId', (id) => {
    expect(ids.has(id)).toBe(true)
  })

  test('the operations issue 3 names are all guarded', () => {
    for (const id of [
      'ContainerCreate', 'ContainerStart', 'ContainerUpdate', 'ContainerExec', 'VolumeCreate', 'ServiceCreate', 'ServiceUpdate',
      'PluginPull', 'PluginUpgrade', 'PluginCreate', 'PluginSet', 'PluginEnable', 'ImageCreate', 'ImageBuild', 'SwarmInit',
      'SwarmJoin', 'NetworkCreate', 'PutContainerArchive', 'ContainerAttach', 'ContainerAttachWebsocket', 'ContainerArchive',
      'ContainerArchiveInfo', 'ContainerExport', 'ContainerKill', 'ContainerStop', 'ContainerDelete',
    ]) {
      expect(guardFor(id), id).toBeDefined()
    }
  })

  test('streamed bodies are never read', () => {
    for (const id of ['ImageBuild', 'ImageCreate', 'PutContainerArchive', 'PluginCreate', 'PluginPull', 'SwarmJoin', 'ContainerAttach']) {
      expect(guardFor(id)?.body, id).toBe('none')
    }
    for (const id of ['ContainerCreate', 'ContainerStart', 'ContainerUpdate', 'ContainerExec', 'VolumeCreate', 'ServiceCreate', 'NetworkCreate']) {
      expect(guardFor(id)?.body, id).toBe('json')
    }
  })

  test('unguarded operations have no guard', () => {
    expect(guardFor('ContainerList')).toBeUndefined()
    expect(guardFor('SystemPing')).toBeUndefined()
  })
})
