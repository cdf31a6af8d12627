// The `buildargs` query parameter as the ImageBuild body check reads it (src/guards/build-context.ts):
// Go's json.Unmarshal into map[string]*string (moby api/server/router/build/build_routes.go), or
// "unreadable", which makes every build arg a value dockgate does not know.
import { describe, expect, test } from 'vitest'
import { readBuildArgs } from '../../../src/guards/build-context.js'

describe('readBuildArgs', () => {
  test.each<[string, string, Record<string, string | null> | 'unreadable']>([
    ['absent', '', {}],
    ['empty value', 'buildargs=', {}],
    ['an empty object (what the CLI sends)', `buildargs=${encodeURIComponent('{}')}`, {}],
    ['JSON null', 'buildargs=null', {}],
    ['a value', `buildargs=${encodeURIComponent('{"U":"http://x/"}')}`, { U: 'http://x/' }],
    ['a name without a value (--build-arg U with U unset)', `buildargs=${encodeURIComponent('{"U":null}')}`, { U: null }],
    ['the same value twice', `buildargs=${encodeURIComponent('{"U":"a"}')}&buildargs=${encodeURIComponent('{"U":"a"}')}`, { U: 'a' }],
    ['two different values (the engine reads the first; refused as unknown)', `buildargs=${encodeURIComponent('{"U":"a"}')}&buildargs=${encodeURIComponent('{"U":"b"}')}`, 'unreadable'],
    ['a duplicate key', `buildargs=${encodeURIComponent('{"U":"a","U":"b"}')}`, 'unreadable'],
    ['a number value (the engine refuses the request)', `buildargs=${encodeURIComponent('{"U":1}')}`, 'unreadable'],
    ['not JSON', 'buildargs=U%3Dx', 'unreadable'],
    ['an array', `buildargs=${encodeURIComponent('["U"]')}`, 'unreadable'],
  ])('%s', (_name, query, want) => {
    const got = readBuildArgs(new URLSearchParams(query))
    expect(got === 'unreadable' ? got : Object.fromEntries(got)).toEqual(want)
  })
})
