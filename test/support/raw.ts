/**
 * Raw bytes over a unix socket, and a strict reader of the HTTP/1.1 responses that come back.
 * For attacker-style tests: what is sent is exactly what is written here, byte for byte, with no
 * client library to tidy it up.
 */
import net from 'node:net'

/** One response as read off the wire. */
export interface RawResponse {
  readonly statusLine: string
  readonly status: number
  /** Header lines in order, names as sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Body bytes (chunked framing removed). */
  readonly body: Buffer
  /** Framed by chunked transfer coding. */
  readonly chunked: boolean
  /** The whole body arrived per its framing (for chunked: the terminating zero-size chunk). */
  readonly complete: boolean
  /** First value of a header (case-insensitive). */
  header(name: string): string | undefined
  /** The body parsed as JSON. */
  json(): unknown
}

export interface ParseOptions {
  /** Indexes (0-based, in order on the connection) of responses to HEAD requests: no body. */
  readonly headOnly?: readonly number[]
  /** The connection is closed, so a body with no framing is complete. */
  readonly closed?: boolean
}

export interface ParsedResponses {
  readonly responses: RawResponse[]
  /** Bytes after the last complete response (after a 101: the tunnel's first bytes). */
  readonly rest: Buffer
  /** A 101 was seen: `rest` is raw stream data, not HTTP. */
  readonly upgraded: boolean
}

function response(statusLine: string, status: number, headers: Array<[string, string]>, body: Buffer, chunked: boolean, complete: boolean): RawResponse {
  const header = (name: string): string | undefined => headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
  return { statusLine, status, headers, body, chunked, complete, header, json: () => JSON.parse(body.toString('utf8')) as unknown }
}

/**
 * Decodes a chunked body at the start of `buf`: the body so far (whole chunks only), the bytes
 * used, and whether the terminating zero-size chunk (and trailers) arrived.
 */
function dechunk(buf: Buffer): { body: Buffer; used: number; complete: boolean } {
  const parts: Buffer[] = []
  let at = 0
  const partial = (): { body: Buffer; used: number; complete: boolean } => ({ body: Buffer.concat(parts), used: at, complete: false })
  for (;;) {
    const eol = buf.indexOf('\r\n', at)
    if (eol < 0) return partial()
    const line = buf.subarray(at, eol).toString('latin1')
    const size = parseInt(line.split(';')[0]!.trim(), 16)
    if (!Number.isInteger(size)) throw new Error(`bad chunk size line ${JSON.stringify(line)}`)
    if (size === 0) {
      // Trailers, then an empty line.
      let t = eol + 2
      for (;;) {
        const next = buf.indexOf('\r\n', t)
        if (next < 0) return partial()
        const empty = next === t
        t = next + 2
        if (empty) return { body: Buffer.concat(parts), used: t, complete: true }
      }
    }
    if (buf.length < eol + 2 + size + 2) return partial()
    parts.push(buf.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

/**
 * Reads the responses in `data`. An incomplete last response is returned with `complete: false`
 * and the body so far (for chunked: the whole chunks so far); parsing stops after a 101.
 */
export function parseResponses(data: Buffer, opts: ParseOptions = {}): ParsedResponses {
  const responses: RawResponse[] = []
  let at = 0
  for (;;) {
    if (at >= data.length) break
    const end = data.indexOf('\r\n\r\n', at)
    if (end < 0) break
    const lines = data.subarray(at, end).toString('latin1').split('\r\n')
    const statusLine = lines.shift()!
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine)
    if (!m) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`)
    const status = Number(m[1])
    const headers = lines.map((l): [string, string] => {
      const c = l.indexOf(':')
      return [l.slice(0, c), l.slice(c + 1).trim()]
    })
    const get = (n: string): string | undefined => headers.find(([k]) => k.toLowerCase() === n)?.[1]
    const bodyStart = end + 4
    const index = responses.length
    if (status === 101) {
      responses.push(response(statusLine, status, headers, Buffer.alloc(0), false, true))
      return { responses, rest: data.subarray(bodyStart), upgraded: true }
    }
    if (status >= 100 && status < 200) {
      at = bodyStart
      continue
    }
    if (opts.headOnly?.includes(index) || status === 204 || status === 304) {
      responses.push(response(statusLine, status, headers, Buffer.alloc(0), false, true))
      at = bodyStart
      continue
    }
    if (/chunked/i.test(get('transfer-encoding') ?? '')) {
      const d = dechunk(data.subarray(bodyStart))
      responses.push(response(statusLine, status, headers, d.body, true, d.complete))
      if (!d.complete) return { responses, rest: Buffer.alloc(0), upgraded: false }
      at = bodyStart + d.used
      continue
    }
    const cl = get('content-length')
    if (cl !== undefined) {
      const n = Number(cl)
      if (data.length < bodyStart + n) {
        responses.push(response(statusLine, status, headers, data.subarray(bodyStart), false, false))
        return { responses, rest: Buffer.alloc(0), upgraded: false }
      }
      responses.push(response(statusLine, status, headers, data.subarray(bodyStart, bodyStart + n), false, true))
      at = bodyStart + n
      continue
    }
    // No framing: the body runs to the end of the connection.
    responses.push(response(statusLine, status, headers, data.subarray(bodyStart), false, opts.closed === true))
    return { responses, rest: Buffer.alloc(0), upgraded: false }
  }
  return { responses, rest: data.subarray(at), upgraded: false }
}

/** A raw client connection that records everything it receives. */
export class RawConnection {
  /** Every byte received so far. */
  data = Buffer.alloc(0)
  /** The peer ended its write side (FIN). */
  ended = false
  /** The socket is closed. */
  closed = false
  /** A socket error (e.g. ECONNRESET), if any. */
  error: NodeJS.ErrnoException | undefined

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.data = Buffer.concat([this.data, c])
    })
    socket.on('end', () => {
      this.ended = true
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error = err
    })
    socket.on('close', () => {
      this.closed = true
    })
  }

  /** Connects to a unix socket; half-open allowed, so our end() does not close the read side. */
  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path, allowHalfOpen: true })
      s.once('connect', () => {
        s.off('error', reject)
        resolve(new RawConnection(s))
      })
      s.once('error', reject)
    })
  }

  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, (err) => (err ? reject(err) : resolve())))
  }

  /** Half-close: send FIN, keep reading. */
  end(): void {
    this.socket.end()
  }

  destroy(): void {
    this.socket.destroy()
  }

  responses(opts: Omit<ParseOptions, 'closed'> = {}): ParsedResponses {
    return parseResponses(this.data, { ...opts, closed: this.ended || this.closed })
  }

  /** Polls until `probe` holds; rejects after `timeoutMs` with what was received so far. */
  async waitFor(probe: (c: RawConnection) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!probe(this)) {
      if (Date.now() > deadline) {
        throw new Error(`raw: timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.data.toString('latin1').slice(0, 2000))}`)
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** Waits until `n` complete responses have arrived. */
  async waitResponses(n: number, opts: Omit<ParseOptions, 'closed'> & { timeoutMs?: number } = {}): Promise<RawResponse[]> {
    let got: RawResponse[] = []
    await this.waitFor(
      () => {
        got = this.responses(opts).responses.filter((r) => r.complete)
        return got.length >= n
      },
      `${n} response(s)`,
      opts.timeoutMs,
    )
    return got
  }

  /** Waits until the server has closed its side (FIN, or the socket closed). */
  waitClosed(timeoutMs = 10_000): Promise<void> {
    return this.waitFor((c) => c.ended || c.closed, 'the server to close the connection', timeoutMs)
  }
}

export interface ExchangeOptions extends Omit<ParseOptions, 'closed'> {
  /** Resolve once this many complete responses arrived; default: wait for the server to close. */
  readonly responses?: number
  /** Pause between chunks, so that each arrives in its own read (ms; default 0: write at once). */
  readonly gapMs?: number
  /** Half-close after writing. */
  readonly end?: boolean
  readonly timeoutMs?: number
}

export interface Exchange extends ParsedResponses {
  readonly data: Buffer
  /** The server closed the connection (FIN or close). */
  readonly closed: boolean
  readonly error: NodeJS.ErrnoException | undefined
}

/**
 * Writes `chunks` to a fresh connection, then waits for `opts.responses` responses (or for the
 * server to close it). The connection is destroyed afterwards.
 */
export async function rawExchange(path: string, chunks: string | Buffer | ReadonlyArray<string | Buffer>, opts: ExchangeOptions = {}): Promise<Exchange> {
  const c = await RawConnection.open(path)
  try {
    const list = typeof chunks === 'string' || Buffer.isBuffer(chunks) ? [chunks] : chunks
    for (const [i, chunk] of list.entries()) {
      if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs))
      if (c.ended || c.closed) break
      await c.write(chunk).catch(() => undefined) // the server may close early on a refusal
    }
    if (opts.end) c.end()
    if (opts.responses !== undefined) await c.waitResponses(opts.responses, opts)
    else await c.waitClosed(opts.timeoutMs)
    const parsed = c.responses(opts)
    return { ...parsed, data: c.data, closed: c.ended || c.closed, error: c.error }
  } finally {
    c.destroy()
  }
}
