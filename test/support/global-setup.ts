/**
 * vitest globalSetup of the integration projects: one private dockerd per project for the whole
 * run, with the test images in it. The project says which engine (`provide: { engineVersion }` in
 * vitest.config.ts: integration-20.10, integration-26.1). Test files read the engine's socket
 * with `inject('engineSocket')` and what it is with `inject('engine')`.
 *
 * DOCKGATE_TEST_ENGINE=/path/to/docker.sock (or unix:///...) uses an engine that is already
 * running instead; it is not stopped at the end, and its version must be the project's (select
 * the matching project with --project). Never point it at a daemon that matters: the tests create
 * and remove containers and images.
 *
 * A missing or broken engine fails the run. It never skips: in CI a missing engine is a failure
 * (docs/testing.md, "CI").
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { CONFIG_DIR_ENV, TESTCONTAINERS_ENV } from './cli.js'
import { DEFAULT_ENGINE, ENGINES, engineBinaries, engineRequest, pings, startEngine, type Engine, type EngineVersion } from './engine.js'
import { ensureImages } from './images.js'

/** What the tests know about the engine they run against. */
export interface EngineInfo {
  /** The project's engine, `major.minor`. */
  readonly label: EngineVersion
  /** `Version` of GET /version, e.g. `20.10.24+dfsg1`. */
  readonly version: string
  /** Newest API version the engine speaks. */
  readonly apiVersion: string
  /** Oldest API version the engine accepts: 1.12 on dockerd 20.10, 1.24 on 26.1. */
  readonly minApiVersion: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Which engine this project runs against (set in vitest.config.ts). */
    engineVersion: EngineVersion
    /** Absolute path of the test engine's unix socket. */
    engineSocket: string
    /** The test engine's versions. */
    engine: EngineInfo
  }
}

function isEngineVersion(v: unknown): v is EngineVersion {
  return typeof v === 'string' && Object.hasOwn(ENGINES, v)
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now()
  const wanted = project.config.provide?.engineVersion ?? DEFAULT_ENGINE
  if (!isEngineVersion(wanted)) throw new Error(`project ${project.name}: unknown engineVersion ${String(wanted)}`)
  let engine: Engine | undefined
  let socket: string
  const given = process.env.DOCKGATE_TEST_ENGINE
  if (given !== undefined && given !== '') {
    socket = given.replace(/^unix:\/\//, '')
    if (!(await pings(socket))) {
      throw new Error(`DOCKGATE_TEST_ENGINE=${given}: no engine answers GET /_ping there`)
    }
  } else {
    const bins = engineBinaries(wanted)
    if ('missing' in bins) {
      throw new Error(
        `Project ${project.name} needs dockerd ${wanted}: ${bins.missing}. ` +
          'Or set DOCKGATE_TEST_ENGINE to the socket of a disposable engine of that version.',
      )
    }
    engine = await startEngine({ engine: wanted })
    socket = engine.socket
  }
  const info = await engineInfo(socket, wanted)
  if (given !== undefined && given !== '' && !info.version.startsWith(`${wanted}.`)) {
    throw new Error(`DOCKGATE_TEST_ENGINE=${given} is dockerd ${info.version}; project ${project.name} wants ${wanted}: run only the matching project (--project integration-<version>)`)
  }
  const ready = Date.now()
  try {
    await ensureImages(socket)
  } catch (err) {
    await engine?.stop()
    throw err
  }
  console.log(`[global-setup] ${project.name}: dockerd ${info.version} (API ${info.minApiVersion}–${info.apiVersion}) ready in ${ready - started} ms, images in ${Date.now() - ready} ms (${socket})`)
  project.provide('engineSocket', socket)
  project.provide('engine', info)

  // vitest 4.1 forks its workers after global setup, from this process's environment, so these
  // reach every test file (checked with vitest 4.1.12). useTestcontainers() in cli.ts sets the
  // testcontainers ones explicitly, for code that must not depend on that. Both integration
  // projects run in this process: the first one makes the directory, and removes it at teardown
  // (teardowns run once every project's tests are done).
  Object.assign(process.env, TESTCONTAINERS_ENV)
  let configDir: string | undefined
  if ((process.env[CONFIG_DIR_ENV] ?? '') === '') {
    configDir = await mkdtemp(join(tmpdir(), 'dockgate-cli-config-'))
    process.env[CONFIG_DIR_ENV] = configDir
  }

  return async () => {
    if (configDir !== undefined) await rm(configDir, { recursive: true, force: true })
    await engine?.stop()
  }
}

async function engineInfo(socket: string, label: EngineVersion): Promise<EngineInfo> {
  const res = await engineRequest(socket, 'GET', '/version', undefined, { timeoutMs: 10_000 })
  const v = JSON.parse(res.body.toString()) as { Version?: unknown; ApiVersion?: unknown; MinAPIVersion?: unknown }
  return { label, version: String(v.Version), apiVersion: String(v.ApiVersion), minApiVersion: String(v.MinAPIVersion) }
}
