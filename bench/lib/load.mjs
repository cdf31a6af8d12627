/**
 * A closed-loop HTTP/1.1 load generator over unix sockets: N keep-alive connections, each sending
 * its next request as soon as the previous response is complete, until a deadline.
 *
 * It speaks raw HTTP on net.Socket rather than going through node:http's client, because on a
 * 2-core machine the load generator shares the CPU with the proxy and the engine: the less it
 * spends per request, the more the figures say about the target. The parser handles exactly what
 * the Engine API answers to these requests: Content-Length or chunked bodies, no body for HEAD.
 */
import net from 'node:net'

const CRLFCRLF = Buffer.from('\r\n\r\n')

/** Builds the bytes of one request. */
export function requestBytes(method, path, { headers = {}, body } = {}) {
  let head = `${method} ${path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: dockgate-bench\r\n`
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
  if (body !== undefined) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`
  return Buffer.concat([Buffer.from(head + '\r\n'), body === undefined ? Buffer.alloc(0) : Buffer.from(body)])
}

/**
 * Incremental parser for one response at a time. feed() returns the status code once a whole
 * response has arrived (leftover bytes are kept for the next), or 0 while it is incomplete.
 */
class ResponseParser {
  constructor(head) {
    this.head = head
    this.reset(Buffer.alloc(0))
  }

  reset(rest) {
    this.buf = rest
    this.status = 0
    this.bodyStart = -1
    this.length = -1 // Content-Length, or -1 for chunked
    this.pos = 0 // chunked: where the next chunk-size line starts
  }

  feed(data) {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data])
    if (this.bodyStart < 0) {
      const end = this.buf.indexOf(CRLFCRLF)
      if (end < 0) return 0
      const headText = this.buf.toString('latin1', 0, end).toLowerCase()
      this.status = Number.parseInt(headText.slice(9, 12), 10)
      this.bodyStart = end + 4
      this.pos = this.bodyStart
      const cl = /\r\ncontent-length: *(\d+)/.exec(headText)
      if (this.head || this.status === 204 || this.status === 304) this.length = 0
      else if (cl) this.length = Number(cl[1])
      else if (/\r\ntransfer-encoding: *chunked/.test(headText)) this.length = -1
      else throw new Error(`response without length: ${headText.split('\r\n')[0]}`)
    }
    if (this.length >= 0) {
      const end = this.bodyStart + this.length
      if (this.buf.length < end) return 0
      return this.done(end)
    }
    for (;;) {
      const lineEnd = this.buf.indexOf('\r\n', this.pos, 'latin1')
      if (lineEnd < 0) return 0
      const size = Number.parseInt(this.buf.toString('latin1', this.pos, lineEnd), 16)
      if (size === 0) {
        // Last chunk; no trailers from the engine, so the final CRLF follows at once.
        if (this.buf.length < lineEnd + 4) return 0
        return this.done(lineEnd + 4)
      }
      const next = lineEnd + 2 + size + 2
      if (this.buf.length < next) return 0
      this.pos = next
    }
  }

  done(end) {
    const status = this.status
    this.reset(this.buf.subarray(end))
    return status
  }
}

/**
 * Runs the load for `durationMs` after all connections are open.
 * @param {{socket: string, method: string, path: string, headers?: object, body?: string,
 *   connections: number, durationMs: number, expectStatus?: number[], onProgress?: () => void}} opts
 * @returns {Promise<{requests: number, errors: number, badStatus: Record<string, number>, elapsedS: number, latenciesMs: number[]}>}
 */
export async function runLoad(opts) {
  const { socket, connections, durationMs, expectStatus = [200] } = opts
  const bytes = requestBytes(opts.method, opts.path, { headers: opts.headers, body: opts.body })
  const isHead = opts.method === 'HEAD'
  const sockets = await Promise.all(Array.from({ length: connections }, () => connect(socket)))
  const latenciesMs = []
  const badStatus = {}
  let requests = 0
  let errors = 0
  const start = performance.now()
  const deadline = start + durationMs
  // A response that never comes must not hold the run: stop waiting well after the deadline.
  const hardStop = durationMs + 10_000

  await new Promise((resolveAll) => {
    let running = sockets.length
    const ended = new Set()
    const finish = (s) => {
      if (ended.has(s)) return
      ended.add(s)
      s.destroy()
      if (--running === 0) {
        clearTimeout(guard)
        resolveAll()
      }
    }
    const guard = setTimeout(() => {
      for (const s of sockets) {
        if (!ended.has(s)) {
          errors++
          finish(s)
        }
      }
    }, hardStop)
    for (const s of sockets) {
      const parser = new ResponseParser(isHead)
      let sentAt = 0
      const send = () => {
        sentAt = performance.now()
        s.write(bytes)
      }
      s.on('data', (chunk) => {
        let status
        try {
          status = parser.feed(chunk)
        } catch {
          errors++
          return finish(s)
        }
        if (status === 0) return
        const now = performance.now()
        requests++
        latenciesMs.push(now - sentAt)
        if (!expectStatus.includes(status)) badStatus[status] = (badStatus[status] ?? 0) + 1
        if (now < deadline) send()
        else finish(s)
      })
      s.on('error', () => { errors++ })
      s.on('close', () => finish(s))
      send()
    }
  })
  const elapsedS = (performance.now() - start) / 1000
  return { requests, errors, badStatus, elapsedS, latenciesMs }
}

function connect(path) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path })
    s.setNoDelay(true)
    s.once('connect', () => resolve(s))
    s.once('error', reject)
  })
}

/** Percentile (0..100) of a sorted array, by nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}
