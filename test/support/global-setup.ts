/**
 * vitest globalSetup of the integration project: one private dockerd for the whole run, with the
 * test images in it. Test files read its socket with `inject('engineSocket')`.
 *
 * DOCKGATE_TEST_ENGINE=/path/to/docker.sock (or unix:///...) uses an engine that is already
 * running instead; it is not stopped at the end. Never point it at a daemon that matters: the
 * tests create and remove containers and images.
 *
 * A missing or broken engine fails the run. It never skips: in CI a missing engine is a failure
 * (shared/testing.md, "CI").
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { CONFIG_DIR_ENV, TESTCONTAINERS_ENV } from './cli.js'
import { findDockerd, pings, startEngine, type Engine } from './engine.js'
import { ensureImages } from './images.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Absolute path of the test engine's unix socket. */
    engineSocket: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now()
  let engine: Engine | undefined
  let socket: string
  const given = process.env.DOCKGATE_TEST_ENGINE
  if (given !== undefined && given !== '') {
    socket = given.replace(/^unix:\/\//, '')
    if (!(await pings(socket))) {
      throw new Error(`DOCKGATE_TEST_ENGINE=${given}: no engine answers GET /_ping there`)
    }
  } else {
    if (findDockerd() === undefined) {
      throw new Error(
        'Integration tests need a Docker engine, and dockerd is not installed. ' +
          'Run scripts/install-test-deps.sh as root (installs docker.io, busybox-static, Node 24), ' +
          'or set DOCKGATE_TEST_ENGINE to the socket of a disposable engine.',
      )
    }
    engine = await startEngine()
    socket = engine.socket
  }
  const ready = Date.now()
  try {
    await ensureImages(socket)
  } catch (err) {
    await engine?.stop()
    throw err
  }
  console.log(`[global-setup] engine ready in ${ready - started} ms, images in ${Date.now() - ready} ms (${socket})`)
  project.provide('engineSocket', socket)

  // vitest 4.1 forks its workers after global setup, from this process's environment, so these
  // reach every test file (checked with vitest 4.1.12). useTestcontainers() in cli.ts sets the
  // testcontainers ones explicitly, for code that must not depend on that.
  const configDir = await mkdtemp(join(tmpdir(), 'dockgate-cli-config-'))
  Object.assign(process.env, TESTCONTAINERS_ENV, { [CONFIG_DIR_ENV]: configDir })

  return async () => {
    await rm(configDir, { recursive: true, force: true })
    await engine?.stop()
  }
}
