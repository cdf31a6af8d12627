/**
 * A recording relay between dockgate and the real engine that parses what the engine receives:
 * dockgate's upstream is the tap's socket, and the tap copies bytes to and from the engine's socket
 * untouched, while it reads the client→engine bytes as HTTP/1.1 requests (line, headers, body).
 * Tests use it to check exactly what the engine received — in particular that a refused request
 * reached it not at all. (test/support/tap.ts is a lighter tap that only spots request lines.)
 *
 * The parser is strict and simple (HTTP/1.1 as node:http sends it): a head ends at CRLF CRLF, a
 * body is framed by Content-Length or chunked; after a request that asks to upgrade, the rest of
 * the connection is recorded as raw tunnel bytes. Bytes it cannot parse are kept as `garbage` on
 * the connection, which tests assert to be empty.
 */
import { rmSync } from 'node:fs'
import net from 'node:net'

/** One request as the engine received it. */
export interface TapRequest {
  /** Index of the connection it came on (order of accept). */
  readonly connection: number
  /** Request line, e.g. `GET /v1.41/containers/json HTTP/1.1`. */
  readonly line: string
  readonly method: string
  /** The request target exactly as sent. */
  readonly target: string
  /** Header lines in order, names as sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Body bytes (chunked framing removed). Grows while the body arrives. */
  body: Buffer
  /** True when the body came chunked. */
  readonly chunked: boolean
  /** True once the whole body (per its framing) has arrived. */
  complete: boolean
  /** Bytes sent after the request when it asked for an upgrade (the tunnel's client side). */
  tunnel: Buffer
  /** First value of a header (case-insensitive), or undefined. */
  header(name: string): string | undefined
}

/** One connection from dockgate to the engine. */
export interface TapConnection {
  readonly index: number
  /** Every byte dockgate sent on it. */
  sent: Buffer
  /** Every byte the engine sent back. */
  received: Buffer
  /** Bytes the parser could not read as HTTP requests (should stay empty). */
  garbage: Buffer
  /** dockgate ended its write side (FIN). */
  clientEnded: boolean
  /** Both sides are closed. */
  isClosed: boolean
  /** Resolves once both sides are closed. */
  readonly closed: Promise<void>
}

export interface EngineTap {
  /** The tap's own socket: give it to dockgate as its upstream. */
  readonly socket: string
  /** Requests seen since the last clear(), in order of arrival. */
  requests(): TapRequest[]
  /** Connections accepted since the last clear() (older ones keep relaying but are not listed). */
  connections(): TapConnection[]
  /** Bytes relayed towards the engine since the last clear(). */
  bytesToEngine(): number
  /** Requests the tap recorded but refused to relay (see TapOptions.block). */
  blocked(): TapRequest[]
  /** Forget what was recorded so far. */
  clear(): void
  /** Polls `probe` until it returns a value other than undefined/false; rejects after `timeoutMs`. */
  waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs?: number): Promise<T>
  /** Stop accepting, destroy relayed connections, remove the socket file. Idempotent. */
  close(): Promise<void>
}

export interface TapOptions {
  /**
   * A safety net for tests whose request must never reach the engine because the engine would act
   * on it outside this machine (a pull: `fromImage`, a remote build context): when it returns
   * true for a request head, the tap records the request but drops the connection instead of
   * relaying it. Tests still see the request in requests(), so a dockgate bug fails the test.
   */
  readonly block?: (req: TapRequest) => boolean
}

type ParseState =
  | { kind: 'head' }
  | { kind: 'length'; remaining: number; req: TapRequest; upgrade: boolean }
  | { kind: 'chunk-size'; req: TapRequest; upgrade: boolean }
  | { kind: 'chunk-data'; remaining: number; req: TapRequest; upgrade: boolean }
  | { kind: 'chunk-crlf'; req: TapRequest; upgrade: boolean }
  | { kind: 'trailers'; req: TapRequest; upgrade: boolean }
  | { kind: 'tunnel'; req: TapRequest }
  | { kind: 'garbage' }

function makeRequest(connection: number, head: string): TapRequest | undefined {
  const lines = head.split('\r\n')
  const line = lines.shift() ?? ''
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line)
  if (!m) return undefined
  const headers: Array<[string, string]> = []
  for (const l of lines) {
    const colon = l.indexOf(':')
    if (colon <= 0) return undefined
    headers.push([l.slice(0, colon), l.slice(colon + 1).trim()])
  }
  const header = (name: string): string | undefined => headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
  const te = header('transfer-encoding')
  return {
    connection,
    line,
    method: m[1]!,
    target: m[2]!,
    headers,
    body: Buffer.alloc(0),
    chunked: te !== undefined && /chunked/i.test(te),
    complete: false,
    tunnel: Buffer.alloc(0),
    header,
  }
}

/** Incremental parser of one connection's client→engine bytes. */
class RequestParser {
  private buf = Buffer.alloc(0)
  private state: ParseState = { kind: 'head' }

  constructor(
    private readonly conn: TapConnection,
    private readonly emit: (req: TapRequest) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk])
    while (this.step()) {
      /* keep going while progress is made */
    }
  }

  /** One parsing step; false when more bytes are needed. */
  private step(): boolean {
    const s = this.state
    switch (s.kind) {
      case 'garbage':
        this.conn.garbage = Buffer.concat([this.conn.garbage, this.buf])
        this.buf = Buffer.alloc(0)
        return false
      case 'tunnel':
        if (this.buf.length === 0) return false
        s.req.tunnel = Buffer.concat([s.req.tunnel, this.buf])
        this.buf = Buffer.alloc(0)
        return false
      case 'head': {
        const end = this.buf.indexOf('\r\n\r\n')
        if (end < 0) return false
        const req = makeRequest(this.conn.index, this.buf.subarray(0, end).toString('latin1'))
        if (!req) {
          this.state = { kind: 'garbage' }
          return true
        }
        this.buf = this.buf.subarray(end + 4)
        this.emit(req)
        const upgrade = /upgrade/i.test(req.header('connection') ?? '') && req.header('upgrade') !== undefined
        if (req.chunked) {
          this.state = { kind: 'chunk-size', req, upgrade }
          return true
        }
        const length = Number(req.header('content-length') ?? '0')
        this.state = Number.isSafeInteger(length) && length >= 0 ? { kind: 'length', remaining: length, req, upgrade } : { kind: 'garbage' }
        return true
      }
      case 'length': {
        const take = Math.min(s.remaining, this.buf.length)
        s.req.body = Buffer.concat([s.req.body, this.buf.subarray(0, take)])
        this.buf = this.buf.subarray(take)
        s.remaining -= take
        if (s.remaining > 0) return false
        this.finish(s.req, s.upgrade)
        return true
      }
      case 'chunk-size': {
        const eol = this.buf.indexOf('\r\n')
        if (eol < 0) return false
        const text = this.buf.subarray(0, eol).toString('latin1').split(';')[0]!.trim()
        if (!/^[0-9a-fA-F]+$/.test(text)) {
          this.state = { kind: 'garbage' }
          return true
        }
        this.buf = this.buf.subarray(eol + 2)
        const size = parseInt(text, 16)
        this.state = size === 0 ? { kind: 'trailers', req: s.req, upgrade: s.upgrade } : { kind: 'chunk-data', remaining: size, req: s.req, upgrade: s.upgrade }
        return true
      }
      case 'chunk-data': {
        const take = Math.min(s.remaining, this.buf.length)
        s.req.body = Buffer.concat([s.req.body, this.buf.subarray(0, take)])
        this.buf = this.buf.subarray(take)
        s.remaining -= take
        if (s.remaining > 0) return false
        this.state = { kind: 'chunk-crlf', req: s.req, upgrade: s.upgrade }
        return true
      }
      case 'chunk-crlf': {
        if (this.buf.length < 2) return false
        if (this.buf[0] !== 0x0d || this.buf[1] !== 0x0a) {
          this.state = { kind: 'garbage' }
          return true
        }
        this.buf = this.buf.subarray(2)
        this.state = { kind: 'chunk-size', req: s.req, upgrade: s.upgrade }
        return true
      }
      case 'trailers': {
        const eol = this.buf.indexOf('\r\n')
        if (eol < 0) return false
        this.buf = this.buf.subarray(eol + 2)
        if (eol === 0) this.finish(s.req, s.upgrade)
        return true
      }
    }
  }

  private finish(req: TapRequest, upgrade: boolean): void {
    req.complete = true
    this.state = upgrade ? { kind: 'tunnel', req } : { kind: 'head' }
  }
}

/** Starts a tap on `socket` (a path where nothing listens) that relays to `engineSocket`. */
export async function startEngineTap(socket: string, engineSocket: string, opts: TapOptions = {}): Promise<EngineTap> {
  let requests: TapRequest[] = []
  let blocked: TapRequest[] = []
  let connections: TapConnection[] = []
  let bytes = 0
  let accepted = 0
  const live = new Set<net.Socket>()

  const server = net.createServer({ allowHalfOpen: true }, (down) => {
    const up = net.connect({ path: engineSocket, allowHalfOpen: true })
    live.add(down).add(up)
    let closedSides = 0
    let resolveClosed!: () => void
    const conn: TapConnection = {
      index: accepted++,
      sent: Buffer.alloc(0),
      received: Buffer.alloc(0),
      garbage: Buffer.alloc(0),
      clientEnded: false,
      isClosed: false,
      closed: new Promise<void>((r) => (resolveClosed = r)),
    }
    connections.push(conn)
    let refused = false
    const parser = new RequestParser(conn, (req) => {
      requests.push(req)
      if (opts.block?.(req)) {
        blocked.push(req)
        refused = true
      }
    })
    const sideClosed = (s: net.Socket): void => {
      live.delete(s)
      if (++closedSides === 2) {
        conn.isClosed = true
        resolveClosed()
      }
    }
    down.on('data', (chunk: Buffer) => {
      // Record first, so that by the time the engine answers, the test can see what it got.
      conn.sent = Buffer.concat([conn.sent, chunk])
      bytes += chunk.length
      parser.push(chunk)
      if (refused) {
        // The head completed in this chunk, so the engine has not got a whole request yet.
        down.destroy()
        up.destroy()
        return
      }
      if (!up.write(chunk)) down.pause()
    })
    up.on('drain', () => down.resume())
    down.on('end', () => {
      conn.clientEnded = true
      up.end()
    })
    up.on('data', (chunk: Buffer) => {
      conn.received = Buffer.concat([conn.received, chunk])
      if (!down.write(chunk)) up.pause()
    })
    down.on('drain', () => up.resume())
    up.on('end', () => down.end())
    // An error on one side tears down both, as a reset peer would.
    const fail = (): void => {
      down.destroy()
      up.destroy()
    }
    down.on('error', fail).once('close', () => {
      up.destroy()
      sideClosed(down)
    })
    up.on('error', fail).once('close', () => {
      // The engine is done both ways: let what is buffered reach dockgate, then close.
      down.end()
      sideClosed(up)
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socket, () => {
      server.off('error', reject)
      resolve()
    })
  })

  let closing: Promise<void> | undefined
  return {
    socket,
    requests: () => [...requests],
    connections: () => [...connections],
    bytesToEngine: () => bytes,
    blocked: () => [...blocked],
    clear() {
      requests = []
      blocked = []
      connections = []
      bytes = 0
    },
    async waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const v = probe()
        if (v !== undefined && v !== false) return v
        if (Date.now() > deadline) throw new Error(`tap: timed out after ${timeoutMs} ms waiting for ${what}; requests seen: ${JSON.stringify(requests.map((r) => r.line))}`)
        await new Promise((r) => setTimeout(r, 10))
      }
    },
    close() {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const s of live) s.destroy()
        await done
        rmSync(socket, { force: true })
      })()
      return closing
    },
  }
}
