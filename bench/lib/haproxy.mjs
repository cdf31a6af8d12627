/**
 * HAProxy as a peer: Debian's haproxy with a configuration written here that behaves as
 * Tecnativa's docker-socket-proxy documents (README of github.com/Tecnativa/docker-socket-proxy):
 *
 * - a section of the API is reachable when its variable is on (CONTAINERS=1, IMAGES=1 …): the
 *   request path, percent-decoded, matches `<optional /vX.Y><optional /word>/<section>` (a
 *   case-insensitive regex, not anchored at the end); everything else is denied (403);
 * - methods other than GET and HEAD only when POST=1;
 * - `option http-server-close`: the client's connection is kept alive, the engine's closed after
 *   each request (a new unix-socket connection per request);
 * - 10-minute client and server timeouts, none for the events stream;
 * - one log line per request (HTTP log format) to stdout.
 *
 * Sections the bench needs: CONTAINERS IMAGES EXEC POST EVENTS PING VERSION.
 */
import { spawn, execFileSync } from 'node:child_process'
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { wrapChild } from './child.mjs'

/** API sections (Tecnativa's variable → path word) the bench turns on. */
export const SECTIONS = Object.freeze({ CONTAINERS: 'containers', IMAGES: 'images', EXEC: 'exec', EVENTS: 'events', PING: '_ping', VERSION: 'version' })

/**
 * The configuration text.
 * @param {{ listen: string, engine: string, sections?: string[], post?: boolean }} o
 *   listen: unix socket path to bind; engine: the engine's unix socket.
 */
export function haproxyConfig({ listen, engine, sections = Object.keys(SECTIONS), post = true }) {
  const acl = (name) => `on_${SECTIONS[name].replace(/[^a-z]/g, '')}`
  const lines = [
    '# Written by bench/lib/haproxy.mjs: Tecnativa docker-socket-proxy behaviour, for the bench.',
    'global',
    '  log stdout format raw local0 info',
    '  maxconn 4000',
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option dontlognull',
    '  option http-server-close',
    '  timeout connect 10s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    '  timeout queue 1m',
    '  timeout client 10m',
    '  timeout server 10m',
    '  maxconn 3000',
    '',
    'frontend engine_api',
    `  bind unix@${listen} mode 666`,
    ...sections.map((s) => `  acl ${acl(s)} path,url_dec -m reg -i ^(/v[0-9.]+)?(/[A-Za-z0-9_]+)?/${SECTIONS[s]}`),
    ...(post ? [] : ['  http-request deny if !METH_GET']),
    ...sections.map((s) => `  http-request allow if ${acl(s)}`),
    '  http-request deny',
    ...(sections.includes('EVENTS') ? [`  use_backend engine_events if ${acl('EVENTS')}`] : []),
    '  default_backend engine',
    '',
    'backend engine',
    `  server engine unix@${engine}`,
    '',
    'backend engine_events',
    '  timeout server 0',
    `  server engine unix@${engine}`,
    '',
  ]
  return lines.join('\n')
}

/** Path of the haproxy binary, or undefined. */
export function findHaproxy() {
  for (const p of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy']) if (existsSync(p)) return p
  return undefined
}

/** Installs Debian's haproxy when it is missing (root only); returns its path. */
export function ensureHaproxy(log) {
  const found = findHaproxy()
  if (found) return found
  if (process.getuid?.() !== 0) throw new Error('haproxy is not installed, and installing it needs root (apt-get install haproxy)')
  log('installing haproxy (apt-get install haproxy)')
  // Installing must not start the system's haproxy service: policy-rc.d exit 101 (invoke-rc.d(8)).
  const policy = '/usr/sbin/policy-rc.d'
  const own = !existsSync(policy)
  if (own) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['install', '-y', '-q', 'haproxy'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  } finally {
    if (own) execFileSync('rm', ['-f', policy])
  }
  const path = findHaproxy()
  if (!path) throw new Error('apt-get install haproxy did not install /usr/sbin/haproxy')
  return path
}

/**
 * Starts haproxy in the foreground (-db) on `<dir>/haproxy.sock`; its per-request log lines go
 * to `<dir>/haproxy.log`. Resolves once a ping through it answers.
 */
export async function startHaproxy({ engineSocket, dir, log }) {
  const bin = ensureHaproxy(log)
  const socket = join(dir, 'haproxy.sock')
  const cfg = join(dir, 'haproxy.cfg')
  writeFileSync(cfg, haproxyConfig({ listen: socket, engine: engineSocket }))
  const logPath = join(dir, 'haproxy.log')
  const fd = openSync(logPath, 'a')
  const child = spawn(bin, ['-db', '-f', cfg], { stdio: ['ignore', fd, fd] })
  closeSync(fd)
  const version = execFileSync(bin, ['-v'], { encoding: 'utf8' }).split('\n')[0]
  return wrapChild({ child, name: 'haproxy', socket, logPath, version })
}
