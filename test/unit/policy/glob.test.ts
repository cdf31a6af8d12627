/**
 * The glob language of `METHOD /path/glob` rules: each micromatch option in GLOB_OPTIONS is
 * pinned here by a case that would change if the option did.
 */
import { describe, expect, test } from 'vitest'
import { allOperations } from '../../../src/endpoints.js'
import { compileGlob, GLOB_OPTIONS, operationsMatching, type CompiledGlob } from '../../../src/policy/glob.js'

function glob(target: string): CompiledGlob {
  const { glob: g, problems } = compileGlob(target)
  expect(problems).toEqual([])
  if (g === undefined) throw new Error('no glob')
  return g
}

describe('matching canonical paths', () => {
  test.each<[string, string, string, boolean]>([
    // name, glob, path, matches
    ['exact path', '/containers/json', '/containers/json', true],
    ['anchored at the end', '/containers/json', '/containers/json/x', false],
    ['anchored at the start', '/containers/json', '/x/containers/json', false],
    ['* is one segment', '/containers/*/json', '/containers/abc/json', true],
    ['* never crosses /', '/containers/*/json', '/containers/a/b/json', false],
    // micromatch lets * match an empty segment; harmless, as normalize.ts refuses paths with one.
    ['* also matches an empty segment (never a canonical path)', '/containers/*/json', '/containers//json', true],
    ['** crosses /', '/images/**/json', '/images/ghcr.io/org/app:1.2/json', true],
    ['** also matches zero segments (so it reaches ImageList too)', '/images/**/json', '/images/json', true],
    ['image name with / against a single *', '/images/*/json', '/images/ghcr.io/org/app/json', false],
    ['image name with a digest', '/images/**/json', '/images/sha256:abc/json', true],
    ['trailing /** matches below', '/images/**', '/images/a/b', true],
    ['trailing /** does not match the parent itself', '/images/**', '/images', false],
    ['dot: true — * matches a leading dot (a deny glob is not dodged by a name)', '/containers/*/export', '/containers/.x/export', true],
    ['dot: true — ** matches dot segments', '/images/**/json', '/images/.a/.b/json', true],
    ['case-sensitive, like the engine router', '/containers/json', '/Containers/json', false],
    ['braces expand', '/containers/*/{start,stop}', '/containers/x/stop', true],
    ['braces: only the listed words', '/containers/*/{start,stop}', '/containers/x/kill', false],
    ['brace ranges', '/x/{1..3}', '/x/2', true],
    ['brackets', '/x/[ab]', '/x/a', true],
    ['brackets: other characters', '/x/[ab]', '/x/c', false],
    ['? is one character', '/x/?', '/x/a', true],
    ['? is not two', '/x/?', '/x/ab', false],
    ['? does not match /', '/x?y', '/x/y', false],
    ['escaped * is literal', '/x/a\\*b', '/x/a*b', true],
    ['escaped * does not glob', '/x/a\\*b', '/x/axb', false],
    ['nonegate: a leading ! is not negation', '/!x', '/!x', true],
    ['no trailing slash is matched by strictSlashes', '/containers/*', '/containers/x/', false],
  ])('%s: %s vs %s', (_name, g, path, expected) => {
    expect(glob(`GET ${g}`).test(path)).toBe(expected)
  })

  test('the options are explicit and frozen', () => {
    expect(GLOB_OPTIONS).toMatchObject({ dot: true, noextglob: true, nonegate: true, strictBrackets: true, nocase: false, windows: false })
    expect(Object.isFrozen(GLOB_OPTIONS)).toBe(true)
  })
})

describe('methods', () => {
  test.each<[string, string, readonly string[] | '*']>([
    ['one method', 'GET /x', ['GET']],
    ['a list', 'GET|HEAD /x', ['GET', 'HEAD']],
    ['a list with repeats', 'GET|HEAD|GET /x', ['GET', 'HEAD']],
    ['any method', '* /x', '*'],
    ['extra spaces', '  POST    /x  ', ['POST']],
  ])('%s: %s', (_name, target, methods) => {
    expect(glob(target).methods).toEqual(methods)
  })
})

describe('refused globs', () => {
  test.each<[string, string, string]>([
    ['not absolute', 'GET containers/json', 'glob "containers/json" must be absolute (start with /)'],
    ['no method', '/containers/json', '"/containers/json" needs a method: write "GET /containers/json", "GET|HEAD /containers/json" or "* /containers/json"'],
    ['lower-case method', 'get /x', 'unknown method "get" (did you mean GET?); use GET, HEAD, POST, PUT, DELETE, a list like GET|HEAD, or *'],
    ['unknown method', 'PATCH /x', 'unknown method "PATCH"; use GET, HEAD, POST, PUT, DELETE, a list like GET|HEAD, or *'],
    ['* in a list', 'GET|* /x', 'method "*" stands alone; it cannot be part of a list'],
    ['empty method in a list', 'GET| /x', 'unknown method ""; use GET, HEAD, POST, PUT, DELETE, a list like GET|HEAD, or *'],
    ['version prefix', 'GET /v1.41/containers/json', 'glob "/v1.41/containers/json" includes an API version prefix; globs match the path without it (e.g. "/containers/json")'],
    ['version prefix without minor', 'GET /v1/info', 'glob "/v1/info" includes an API version prefix; globs match the path without it (e.g. "/info")'],
    ['query string', 'GET /containers/json?all=1', 'glob "/containers/json?all=1" looks like it has a query string; globs match the path only'],
    ['{id} placeholder', 'GET /containers/{id}/json', '"{id}" is not a placeholder in a glob; write * for one path segment, or ** for image and plugin names, which may contain /'],
    ['extglob +()', 'GET /containers/+(a|b)/json', 'extglob "+(…)" is not supported; use {a,b} or separate entries'],
    ['extglob !()', 'GET /containers/!(a)/json', 'extglob "!(…)" is not supported; use {a,b} or separate entries'],
    ['extglob @()', 'GET /containers/@(a)/json', 'extglob "@(…)" is not supported; use {a,b} or separate entries'],
    ['trailing slash', 'GET /containers/', 'glob "/containers/" can never match: canonical paths have no empty, "." or ".." segments and no trailing /'],
    ['empty segment', 'GET /containers//json', 'glob "/containers//json" can never match: canonical paths have no empty, "." or ".." segments and no trailing /'],
    ['dot segment', 'GET /containers/./json', 'glob "/containers/./json" can never match: canonical paths have no empty, "." or ".." segments and no trailing /'],
    ['dot-dot segment', 'GET /containers/../json', 'glob "/containers/../json" can never match: canonical paths have no empty, "." or ".." segments and no trailing /'],
    ['unbalanced bracket', 'GET /x/[ab', 'invalid glob "/x/[ab": Missing closing: "]" - use "\\\\]" to match literal characters'],
    ['two globs in one entry', 'GET /a /b', 'one method and one glob per entry: "/a /b" contains a space (use a list for several)'],
  ])('%s: %s', (_name, target, message) => {
    expect(compileGlob(target)).toEqual({ problems: [message] })
  })

  test('all problems of one glob are reported together', () => {
    expect(compileGlob('get containers/{id}').problems).toEqual([
      'unknown method "get" (did you mean GET?); use GET, HEAD, POST, PUT, DELETE, a list like GET|HEAD, or *',
      'glob "containers/{id}" must be absolute (start with /)',
      '"{id}" is not a placeholder in a glob; write * for one path segment, or ** for image and plugin names, which may contain /',
    ])
  })
})

describe('which operations a glob can reach (meaning checks only)', () => {
  const ids = (target: string): string[] => operationsMatching(glob(target), allOperations()).map((o) => o.id).sort()

  test.each<[string, string, string[]]>([
    ['a fixed path', 'GET /containers/json', ['ContainerList']],
    ['a parameter segment', 'GET /containers/*/json', ['ContainerInspect']],
    ['the method filters', 'POST /containers/*/json', []],
    ['a typo matches nothing', 'GET /containers/*/jsno', []],
    ['** from the root reaches everything', 'HEAD /**', ['ContainerArchiveInfo', 'SystemPingHead']],
    ['** in the middle reaches ImageList too', 'GET /images/**/json', ['ImageInspect', 'ImageList']],
    ['braces expand before checking', 'POST /containers/*/{start,stop}', ['ContainerStart', 'ContainerStop']],
    ['a specific id still may match', 'GET /containers/abc*/json', ['ContainerInspect']],
    ['/_ping', 'GET|HEAD /_ping', ['SystemPing', 'SystemPingHead']],
  ])('%s: %s', (_name, target, expected) => {
    expect(ids(target)).toEqual(expected)
  })

  test('parameters may span segments (the engine routes {name:.*}), so a multi-segment glob can reach ImageInspect', () => {
    expect(ids('GET /images/*/*/json')).toContain('ImageInspect')
  })

  test('every operation is reachable by * /**', () => {
    expect(ids('* /**')).toHaveLength(allOperations().length)
  })
})
