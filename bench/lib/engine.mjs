/**
 * The bench's private dockerd and plain HTTP over unix sockets: test/support/dockerd.mjs, the
 * module the integration tests use, with the bench's own directory prefix and containerd
 * namespace (so that a bench and a test run never sweep each other's engines).
 */
import { request, startEngine as start } from '../../test/support/dockerd.mjs'

export { findDockerd, pings, request, waitForPing } from '../../test/support/dockerd.mjs'

/**
 * Starts a private dockerd (options as test/support/dockerd.mjs startEngine; `engine` picks
 * '20.10' or '26.1'); resolves once it pings.
 * @param {import('../../test/support/dockerd.mjs').StartEngineOptions} [opts]
 */
export function startEngine(opts = {}) {
  return start({ dirPrefix: 'dockgate-bench-engine-', namespace: 'dockgate-bench', ...opts })
}

/** Like request(), but throws unless the status is one of `ok`; parses a JSON answer. */
export async function api(socket, method, path, body, { ok = [200, 201, 204, 304], ...opts } = {}) {
  const res = await request(socket, method, path, body, opts)
  if (!ok.includes(res.status)) throw new Error(`${method} ${path}: HTTP ${res.status} ${res.body.toString().trim()}`)
  const text = res.body.toString()
  return text && String(res.headers['content-type']).startsWith('application/json') ? JSON.parse(text) : text
}
