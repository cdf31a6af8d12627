/** Types of dockerd.mjs (private Docker engines for tests and the bench). */
import type { IncomingHttpHeaders } from 'node:http'

/** Proxy variables that send any outbound HTTP(S) of the engine to a closed loopback port. */
export declare const OFFLINE_ENV: Readonly<Record<'HTTP_PROXY' | 'HTTPS_PROXY' | 'NO_PROXY' | 'http_proxy' | 'https_proxy' | 'no_proxy', string>>

/** An engine the suite runs against, by `major.minor`. */
export type EngineVersion = '20.10' | '26.1'
export declare const ENGINES: Readonly<Record<EngineVersion, Readonly<{ version: EngineVersion; from: string }>>>
export declare const DEFAULT_ENGINE: EngineVersion

/** A running private dockerd. */
export interface Engine {
  /** Absolute path of the engine's unix socket (no `unix://` prefix). */
  readonly socket: string
  /** The engine's scratch directory: data/, exec/, dockerd.log, dockerd.pid, docker.sock. */
  readonly dir: string
  readonly pid: number
  /** `Version` of GET /version, e.g. `26.1.5+dfsg1`. */
  readonly version: string
  /** Newest API version the engine speaks (`ApiVersion`). */
  readonly apiVersion: string
  /** Oldest API version the engine accepts (`MinAPIVersion`: 1.12 on 20.10, 1.24 on 26.1). */
  readonly minApiVersion: string
  /** Stops dockerd (SIGTERM, SIGKILL after 20 s) and removes `dir` if it can. Idempotent. */
  stop(): Promise<void>
}

export interface StartEngineOptions {
  /** Which engine; default DEFAULT_ENGINE. Its version is checked once it answers. */
  engine?: EngineVersion
  /** A dockerd binary to use instead (its version is not checked; PATH is the caller's). */
  dockerd?: string
  /** Prefix of the temp directory; stale directories with it are swept first. Default `dockgate-engine-`. */
  dirPrefix?: string
  /** containerd namespace prefix. Default `dockgate`. */
  namespace?: string
  /** How long to wait for `GET /_ping` to answer, in ms. Default 60 000. */
  readyTimeoutMs?: number
  /** Extra dockerd flags, appended after the required ones. */
  extraArgs?: readonly string[]
}

export declare function findDockerd(): string | undefined
export declare function engineBinaries(version: string): { dockerd: string; path: string } | { missing: string }
export declare function startEngine(opts?: StartEngineOptions): Promise<Engine>

/** An engine response with its body read in full. */
export interface EngineResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface EngineRequestOptions {
  headers?: Record<string, string>
  /** Abort after this many ms (default 60 000). */
  timeoutMs?: number
}

export declare function request(socket: string, method: string, path: string, body?: unknown, opts?: EngineRequestOptions): Promise<EngineResponse>
export declare function pings(socket: string): Promise<boolean>
export declare function waitForPing(socket: string, timeoutMs: number, failed?: () => string | undefined): Promise<void>
export declare function removeEngineDir(dir: string): Promise<void>
