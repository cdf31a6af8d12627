/**
 * A recording relay between dockgate and the engine: dockgate's upstream is the tap's unix socket,
 * and the tap relays each connection to the engine's socket while it reads the client → engine
 * bytes as HTTP/1.1 requests. It records exactly what the engine received — every request (line,
 * headers, body with chunked framing removed), the raw bytes sent after a request that asks to
 * upgrade (`tunnel`) — so that tests can prove what reached the engine, and in particular that a
 * refused request reached it not at all. Engine → client bytes are relayed untouched.
 *
 * The parser is strict and simple (HTTP/1.1 as node:http writes it): a head ends at CRLF CRLF, a
 * body is framed by Content-Length or chunked. Bytes are forwarded only as far as they parse:
 * anything that is not a well-formed request is kept as the connection's `garbage` and never
 * reaches the engine (tests assert it stays empty).
 *
 * A `block` predicate stops a request at the tap (answered 403 by the tap, connection closed): a
 * safety net for tests that must never let the engine reach outside the machine (pulls, remote
 * builds). Half-close is relayed both ways, so the tap does not change how hijacked connections
 * end.
 */
import { rmSync } from 'node:fs'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** One request as the engine received it. */
export interface TapRequest {
  /** Index of the connection that carried it (TapConnection.index). */
  readonly connection: number
  /** The request line without CRLF, e.g. `GET /v1.41/events HTTP/1.1`. */
  readonly line: string
  readonly method: string
  /** The request target exactly as sent. */
  readonly target: string
  /** Header lines in order, names as sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** First value of a header (case-insensitive). */
  header(name: string): string | undefined
  /** True when the body came chunked. */
  readonly chunked: boolean
  /** Body bytes (chunked framing removed) received so far. */
  readonly body: Buffer
  /** True once the whole body, per its framing, has been relayed. */
  readonly complete: boolean
  /** Client bytes relayed after this request on a connection it asked to upgrade. */
  readonly tunnel: Buffer
}

/** One client connection through the tap. */
export interface TapConnection {
  /** Unique across the tap's life (not reset by clear()). */
  readonly index: number
  /** Client → engine bytes that did not parse as HTTP/1.1 requests; they were not forwarded. */
  readonly garbage: Buffer
  /** The client (dockgate) sent FIN. */
  readonly clientEnded: boolean
  /** The engine sent FIN. */
  readonly engineEnded: boolean
  /** Both sockets are closed. */
  readonly isClosed: boolean
  /** Resolves once both sockets are closed. */
  readonly closed: Promise<void>
}

export interface TapOptions {
  /** Requests for which this returns true are not forwarded: the tap answers 403 and closes. */
  readonly block?: (req: TapRequest) => boolean
}

export interface Tap {
  /** Path of the tap's socket: give it to dockgate as its upstream. */
  readonly socket: string
  /** Connections opened since the last clear(), oldest first. */
  connections(): readonly TapConnection[]
  /** Requests received since the last clear(), in order (blocked ones included). */
  requests(): readonly TapRequest[]
  /** Requests the `block` option stopped since the last clear(). */
  blocked(): readonly TapRequest[]
  /** Bytes forwarded to the engine since the last clear(). */
  bytesToEngine(): number
  /** Forgets what was recorded so far (live connections keep working). */
  clear(): void
  /** Polls `probe` every 20 ms until it returns something other than undefined, null or false. */
  waitFor<T>(probe: () => T | undefined | null | false, what: string, timeoutMs?: number): Promise<T>
  /** Stops listening (removing the socket file) and destroys every relayed connection. Idempotent. */
  close(): Promise<void>
}

/** Longest request head accepted before the bytes count as garbage. */
const MAX_HEAD = 1024 * 1024
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/

class Request implements TapRequest {
  readonly bodyParts: Buffer[] = []
  readonly tunnelParts: Buffer[] = []
  complete = false
  readonly chunked: boolean
  constructor(
    readonly connection: number,
    readonly line: string,
    readonly method: string,
    readonly target: string,
    readonly headers: ReadonlyArray<readonly [string, string]>,
  ) {
    this.chunked = /chunked/i.test(this.header('transfer-encoding') ?? '')
  }
  header(name: string): string | undefined {
    return this.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
  }
  get upgrades(): boolean {
    return this.header('upgrade') !== undefined && /\bupgrade\b/i.test(this.header('connection') ?? '')
  }
  get body(): Buffer {
    return Buffer.concat(this.bodyParts)
  }
  get tunnel(): Buffer {
    return Buffer.concat(this.tunnelParts)
  }
}

class Connection implements TapConnection {
  readonly garbageParts: Buffer[] = []
  clientEnded = false
  engineEnded = false
  isClosed = false
  readonly closed: Promise<void>
  markClosed: () => void = () => undefined
  constructor(readonly index: number) {
    this.closed = new Promise<void>((resolve) => { this.markClosed = resolve })
  }
  get garbage(): Buffer {
    return Buffer.concat(this.garbageParts)
  }
}

type State =
  | { kind: 'head' }
  | { kind: 'body'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-crlf' }
  | { kind: 'trailer' }
  | { kind: 'tunnel' }
  | { kind: 'garbage' }

/** Parses `head` (without the final CRLF CRLF) into a request, or undefined when it is not one. */
function parseHead(connection: number, head: string): Request | undefined {
  const [line = '', ...headerLines] = head.split('\r\n')
  const m = REQUEST_LINE.exec(line)
  if (m === null) return undefined
  const headers: Array<[string, string]> = []
  for (const h of headerLines) {
    const colon = h.indexOf(':')
    if (colon <= 0) return undefined
    headers.push([h.slice(0, colon), h.slice(colon + 1).trim()])
  }
  return new Request(connection, line, m[1]!, m[2]!, headers)
}

/** Listens on `path` (a unix socket path) and relays each connection to `engineSocket`. */
export async function startTap(path: string, engineSocket: string, opts: TapOptions = {}): Promise<Tap> {
  rmSync(path, { force: true })
  let conns: Connection[] = []
  let reqs: Request[] = []
  let blocked: Request[] = []
  let bytesToEngine = 0
  let nextIndex = 0
  const live = new Set<net.Socket>()

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const conn = new Connection(nextIndex++)
    conns.push(conn)
    const engine = net.connect({ path: engineSocket, allowHalfOpen: true })
    live.add(client).add(engine)

    let state: State = { kind: 'head' }
    let buf: Buffer = Buffer.alloc(0)
    let current: Request | undefined
    let waitingForDrain = false

    const forward = (bytes: Buffer): void => {
      if (bytes.length === 0) return
      bytesToEngine += bytes.length
      if (!engine.write(bytes) && !waitingForDrain) {
        waitingForDrain = true
        client.pause()
        engine.once('drain', () => {
          waitingForDrain = false
          client.resume()
        })
      }
    }
    const afterBody = (): State => {
      current!.complete = true
      return current!.upgrades ? { kind: 'tunnel' } : { kind: 'head' }
    }
    const toGarbage = (): false => {
      state = { kind: 'garbage' }
      conn.garbageParts.push(buf)
      buf = Buffer.alloc(0)
      return false
    }

    /** Consumes as much of `buf` as the state allows; returns false when more bytes are needed. */
    const step = (): boolean => {
      switch (state.kind) {
        case 'head': {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) return buf.length > MAX_HEAD ? toGarbage() : false
          const req = parseHead(conn.index, buf.subarray(0, end).toString('latin1'))
          if (req === undefined) return toGarbage()
          reqs.push(req)
          if (opts.block?.(req) === true) {
            blocked.push(req)
            const body = '{"message":"blocked by the test tap"}\n'
            client.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
            engine.destroy()
            buf = Buffer.alloc(0)
            state = { kind: 'garbage' }
            return false
          }
          current = req
          forward(buf.subarray(0, end + 4))
          buf = buf.subarray(end + 4)
          const length = Number(req.header('content-length') ?? '0')
          if (req.chunked) state = { kind: 'chunk-size' }
          else if (!Number.isSafeInteger(length) || length < 0) return toGarbage()
          else state = length > 0 ? { kind: 'body', left: length } : afterBody()
          return true
        }
        case 'body':
        case 'chunk-data': {
          if (buf.length === 0) return false
          const take = buf.subarray(0, state.left)
          current!.bodyParts.push(take)
          forward(take)
          buf = buf.subarray(take.length)
          const left = state.left - take.length
          if (left > 0) state = { kind: state.kind, left }
          else state = state.kind === 'body' ? afterBody() : { kind: 'chunk-crlf' }
          return true
        }
        case 'chunk-size': {
          const eol = buf.indexOf('\r\n')
          if (eol < 0) return false
          const text = buf.subarray(0, eol).toString('latin1').split(';')[0]!.trim()
          if (!/^[0-9a-fA-F]{1,12}$/.test(text)) return toGarbage()
          const size = Number.parseInt(text, 16)
          forward(buf.subarray(0, eol + 2))
          buf = buf.subarray(eol + 2)
          state = size === 0 ? { kind: 'trailer' } : { kind: 'chunk-data', left: size }
          return true
        }
        case 'chunk-crlf': {
          if (buf.length < 2) return false
          if (buf[0] !== 0x0d || buf[1] !== 0x0a) return toGarbage()
          forward(buf.subarray(0, 2))
          buf = buf.subarray(2)
          state = { kind: 'chunk-size' }
          return true
        }
        case 'trailer': {
          const eol = buf.indexOf('\r\n')
          if (eol < 0) return false
          forward(buf.subarray(0, eol + 2))
          buf = buf.subarray(eol + 2)
          if (eol === 0) state = afterBody()
          return true
        }
        case 'tunnel': {
          if (buf.length === 0) return false
          current!.tunnelParts.push(buf)
          forward(buf)
          buf = Buffer.alloc(0)
          return false
        }
        case 'garbage': {
          if (buf.length > 0) conn.garbageParts.push(buf)
          buf = Buffer.alloc(0)
          return false
        }
      }
    }

    client.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      while (step()) { /* consume */ }
    })
    client.once('end', () => {
      conn.clientEnded = true
      engine.end()
    })
    engine.once('end', () => { conn.engineEnded = true })
    engine.pipe(client)

    let closedSides = 0
    const onClose = (s: net.Socket) => (): void => {
      live.delete(s)
      if (++closedSides === 2) {
        conn.isClosed = true
        conn.markClosed()
      }
    }
    client.once('close', onClose(client))
    engine.once('close', onClose(engine))
    // An error on one side tears down both, as a reset peer would.
    const fail = (): void => {
      client.destroy()
      engine.destroy()
    }
    client.on('error', fail)
    engine.on('error', fail)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })

  let closing: Promise<void> | undefined
  return {
    socket: path,
    connections: () => [...conns],
    requests: () => [...reqs],
    blocked: () => [...blocked],
    bytesToEngine: () => bytesToEngine,
    clear: () => {
      conns = []
      reqs = []
      blocked = []
      bytesToEngine = 0
    },
    async waitFor<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const v = probe()
        if (v !== undefined && v !== null && v !== false) return v
        if (Date.now() > deadline) throw new Error(`tap: gave up waiting for ${what} after ${timeoutMs} ms; requests seen: ${JSON.stringify(reqs.map((r) => r.line))}`)
        await sleep(20)
      }
    },
    close: () => {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const s of live) s.destroy()
        await done
        rmSync(path, { force: true })
      })()
      return closing
    },
  }
}
