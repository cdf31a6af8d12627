/**
 * Streaming clients: downloads counted and thrown away, chunked uploads from a file, `docker exec
 * -i` through the real CLI, and many `GET /events` subscribers.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, openSync, closeSync, accessSync, constants } from 'node:fs'
import http from 'node:http'

/** Streams a GET to nowhere; resolves with bytes and seconds (from request to last byte). */
export function download(socket, path, { timeoutMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const req = http.request({ socketPath: socket, method: 'GET', path, host: 'docker', agent: false }, (res) => {
      let bytes = 0
      res.on('data', (c) => { bytes += c.length })
      res.on('error', reject)
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: HTTP ${res.statusCode}`))
        resolve({ bytes, seconds: (performance.now() - start) / 1000 })
      })
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: no data for ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/**
 * Uploads `file` as a chunked body in 32 KiB chunks — what `docker load` sends (Go's http client
 * frames a body of unknown length as chunked and io.Copy writes it 32 KiB at a time).
 * Resolves once the engine has answered in full, with the engine's answer checked for errors.
 */
export function uploadChunked(socket, path, file, { timeoutMs = 600_000, contentType = 'application/x-tar' } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    let bytes = 0
    const req = http.request({
      socketPath: socket, method: 'POST', path, host: 'docker', agent: false,
      headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' },
    }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        if (res.statusCode !== 200 || /"error(Detail)?"\s*:/.test(text)) return reject(new Error(`POST ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))
        resolve({ bytes, seconds: (performance.now() - start) / 1000 })
      })
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`POST ${path}: stalled for ${timeoutMs} ms`)))
    req.on('error', reject)
    const src = createReadStream(file, { highWaterMark: 32 * 1024 })
    src.on('data', (c) => { bytes += c.length })
    src.on('error', (err) => req.destroy(err))
    src.pipe(req)
  })
}

/** The docker CLI to drive: the 28.x client when present (it negotiates down via /_ping), else Debian's. */
export function dockerCli() {
  for (const path of ['/usr/local/bin/docker', '/usr/bin/docker']) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch { /* next */ }
  }
  throw new Error('no docker CLI (/usr/local/bin/docker or /usr/bin/docker)')
}

/**
 * `docker exec -i <container> cat` with `inputFile` on stdin; hashes what comes back.
 * Resolves with bytes out/in, seconds, whether the output equals the input (sha256) and whether
 * the session ended by itself (the CLI exited 0 once stdin was done and cat had finished).
 */
export function execCat({ socket, container, inputFile, inputSha256, configDir, timeoutMs = 300_000 }) {
  return new Promise((resolve) => {
    const start = performance.now()
    const stdin = openSync(inputFile, 'r')
    const child = spawn(dockerCli(), ['exec', '-i', container, 'cat'], {
      stdio: [stdin, 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: configDir, DOCKER_CONFIG: configDir, DOCKER_HOST: `unix://${socket}` },
    })
    closeSync(stdin)
    const hash = createHash('sha256')
    let bytes = 0
    let stderr = ''
    child.stdout.on('data', (c) => {
      bytes += c.length
      hash.update(c)
    })
    child.stderr.on('data', (c) => { stderr += c })
    let timedOut = false
    const killer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(killer)
      const seconds = (performance.now() - start) / 1000
      const sha = hash.digest('hex')
      resolve({ bytes, seconds, verified: sha === inputSha256, ended: !timedOut && code === 0, exit: code ?? signal, stderr: stderr.trim().slice(0, 500) })
    })
  })
}

/**
 * Opens `count` `GET /events` streams (in batches, so that the listen backlog is never the
 * limit) and watches each for `needle`. Resolves once every stream has its response headers.
 */
export async function openSubscribers(socket, path, count, { batch = 100, timeoutMs = 30_000 } = {}) {
  const subs = []
  const close = () => { for (const s of subs) s.req.destroy() }
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i)
    const settled = await Promise.allSettled(Array.from({ length: n }, () => subscribe(socket, path, timeoutMs)))
    for (const r of settled) if (r.status === 'fulfilled') subs.push(r.value)
    const failed = settled.find((r) => r.status === 'rejected')
    if (failed) {
      close()
      throw new Error(`subscriber ${subs.length + 1} of ${count}: ${failed.reason.message}`)
    }
  }
  return {
    subs,
    /** Subscribers that have seen `needle` so far. */
    received: (needle) => subs.filter((s) => s.text.includes(needle)).length,
    close,
  }
}

function subscribe(socket, path, timeoutMs) {
  return new Promise((resolve, reject) => {
    const sub = { req: undefined, text: '' }
    sub.req = http.request({ socketPath: socket, method: 'GET', path, host: 'docker', agent: false }, (res) => {
      clearTimeout(timer)
      if (res.statusCode !== 200) {
        sub.req.destroy()
        return reject(new Error(`GET ${path}: HTTP ${res.statusCode}`))
      }
      // Only start events pass the filter; keep a tail long enough to hold one whole event.
      res.on('data', (c) => { sub.text = (sub.text + c.toString()).slice(-8192) })
      res.on('error', () => {})
      resolve(sub)
    })
    const timer = setTimeout(() => {
      sub.req.destroy()
      reject(new Error(`GET ${path}: no response headers within ${timeoutMs} ms`))
    }, timeoutMs)
    sub.req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    sub.req.end()
  })
}
