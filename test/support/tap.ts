/**
 * A recording tap between dockgate and the engine: a unix socket that relays each connection to
 * the engine's socket and records exactly what the engine received — every request (line, headers,
 * body with chunked framing removed), the raw bytes sent after a hijacking request (`tunnel`), and
 * any bytes that were not a well-formed request (`garbage`, never forwarded). Engine → client bytes
 * are relayed untouched.
 *
 * Use it as dockgate's upstream: `startProxy({ engineSocket: tap.socket })`. A `block` predicate
 * stops a request at the tap (answered 403 by the tap, connection closed): a safety net for tests
 * that must never let the engine reach outside the machine (pulls, remote builds).
 *
 * Half-close is relayed: the client's FIN becomes a FIN to the engine and vice versa, so the tap
 * does not change how hijacked connections end.
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
  readonly target: string
  /** Header lines in order, names as sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** First value of a header (case-insensitive). */
  header(name: string): string | undefined
  /** Body bytes (chunked framing removed) received so far. */
  readonly body: Buffer
  /** Client bytes relayed after this request on a hijacked (Upgrade) connection. */
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
  block?: (req: TapRequest) => boolean
}

export interface Tap {
  /** Path of the tap's socket: give it to dockgate as its upstream. */
  readonly socket: string
  /** Connections opened since the last clear(), oldest first. */
  connections(): readonly TapConnection[]
  /** Requests received since the last clear(), in order. */
  requests(): readonly TapRequest[]
  /** Requests the `block` option stopped since the last clear(). */
  blocked(): readonly TapRequest[]
  /** Bytes forwarded to the engine since the last clear(). */
  bytesToEngine(): number
  /** Forgets what was recorded so far (live connections keep working). */
  clear(): void
  /** Polls `probe` every 20 ms until it returns something other than undefined, null or false. */
  waitFor<T>(probe: () => T | undefined | null | false, what: string, timeoutMs?: number): Promise<T>
  /** Stops listening (removing the socket file) and destroys every relayed connection. */
  close(): Promise<void>
}

/** Longest request head accepted before the bytes count as garbage. */
const MAX_HEAD = 1024 * 1024
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/

class Request implements TapRequest {
  readonly bodyParts: Buffer[] = []
  readonly tunnelParts: Buffer[] = []
  constructor(
    readonly connection: number,
    readonly line: string,
    readonly method: string,
    readonly target: string,
    readonly headers: ReadonlyArray<readonly [string, string]>,
  ) {}
  header(name: string): string | undefined {
    return this.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
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
  markClosed!: () => void
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
  | { kind: 'trailer' }
  | { kind: 'tunnel' }
  | { kind: 'garbage' }

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

    const forward = (bytes: Buffer): void => {
      if (bytes.length === 0) return
      bytesToEngine += bytes.length
      if (!engine.write(bytes)) {
        client.pause()
        engine.once('drain', () => client.resume())
      }
    }
    const afterBody = (): State => {
      const req = current!
      const upgrade = req.header('upgrade') !== undefined && /\bupgrade\b/i.test(req.header('connection') ?? '')
      return upgrade ? { kind: 'tunnel' } : { kind: 'head' }
    }
    const toGarbage = (): void => {
      state = { kind: 'garbage' }
      conn.garbageParts.push(buf)
      buf = Buffer.alloc(0)
    }

    /** Consumes as much of `buf` as the state allows; returns false when more bytes are needed. */
    const step = (): boolean => {
      switch (state.kind) {
        case 'head': {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) {
            if (buf.length > MAX_HEAD) toGarbage()
            return false
          }
          const head = buf.subarray(0, end + 4)
          const [line = '', ...headerLines] = head.subarray(0, end).toString('latin1').split('\r\n')
          const m = REQUEST_LINE.exec(line)
          const headers: Array<[string, string]> = []
          for (const h of headerLines) {
            const colon = h.indexOf(':')
            if (colon <= 0) {
              toGarbage()
              return false
            }
            headers.push([h.slice(0, colon), h.slice(colon + 1).trim()])
          }
          if (m === null) {
            toGarbage()
            return false
          }
          const req = new Request(conn.index, line, m[1]!, m[2]!, headers)
          if (opts.block?.(req) === true) {
            blocked.push(req)
            const body = '{"message":"blocked by the test tap"}\n'
            client.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
            engine.destroy()
            buf = Buffer.alloc(0)
            state = { kind: 'garbage' }
            return false
          }
          reqs.push(req)
          current = req
          forward(head)
          buf = buf.subarray(end + 4)
          const te = req.header('transfer-encoding')
          const cl = req.header('content-length')
          if (te !== undefined && /chunked/i.test(te)) state = { kind: 'chunk-size' }
          else if (cl !== undefined && Number(cl) > 0) state = { kind: 'body', left: Number(cl) }
          else state = afterBody()
          return true
        }
        case 'body': {
          if (buf.length === 0) return false
          const take = buf.subarray(0, state.left)
          current!.bodyParts.push(take)
          forward(take)
          buf = buf.subarray(take.length)
          const left = state.left - take.length
          state = left === 0 ? afterBody() : { kind: 'body', left }
          return true
        }
        case 'chunk-size': {
          const eol = buf.indexOf('\r\n')
          if (eol < 0) return false
          const sizeLine = buf.subarray(0, eol).toString('latin1')
          const size = Number.parseInt(sizeLine.split(';')[0]!.trim(), 16)
          if (!/^[0-9a-fA-F]+$/.test(sizeLine.split(';')[0]!.trim()) || !Number.isSafeInteger(size)) {
            toGarbage()
            return false
          }
          forward(buf.subarray(0, eol + 2))
          buf = buf.subarray(eol + 2)
          state = size === 0 ? { kind: 'trailer' } : { kind: 'chunk-data', left: size + 2 }
          return true
        }
        case 'chunk-data': {
          if (buf.length === 0) return false
          const take = buf.subarray(0, state.left)
          // The last two bytes of each chunk are its CRLF, not data.
          const dataLeft = state.left - 2
          if (dataLeft > 0) current!.bodyParts.push(take.subarray(0, Math.min(take.length, dataLeft)))
          forward(take)
          buf = buf.subarray(take.length)
          const left = state.left - take.length
          state = left === 0 ? { kind: 'chunk-size' } : { kind: 'chunk-data', left }
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
    connections: () => conns,
    requests: () => reqs,
    blocked: () => blocked,
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
