/**
 * What the integration tests know about each engine they run against, and where the engines
 * differ (docs/engine-notes.md, "Engine differences"). A test whose expectation depends on the
 * engine reads it here, never from the engine itself, so that an engine that changed under the
 * suite fails loudly instead of moving the expectation along.
 */
import { inject } from 'vitest'
import type { EngineVersion } from './engine.js'

export interface EngineFacts {
  /** `Version` of GET /version starts with this. */
  readonly versionPrefix: string
  /** Newest API version the engine speaks (`ApiVersion`, the `Api-Version` header of /_ping). */
  readonly apiVersion: string
  /** Oldest API version it serves (`MinAPIVersion`). */
  readonly minApiVersion: string
  /**
   * The engine serves API versions below 1.24. Only then does it apply a HostConfig sent to
   * `POST /vX/containers/{id}/start` (the old-version attack on a clean container); a newer
   * engine answers such requests 400 with OLD_API_REFUSAL.
   */
  readonly servesOldApi: boolean
  /**
   * `GET /images/{name}/get` (docker save) gives the same bytes each time. dockerd 26.1 writes an
   * OCI layout whose `index.json` and `blobs/sha256/` tar entries carry the time of the save.
   */
  readonly reproducibleSave: boolean
  /**
   * What the engine stores in HostConfig.NetworkMode when a create names a network by id or id
   * prefix: the reference as given (20.10) or the network's full id (26.1).
   */
  readonly networkModeById: 'as-given' | 'full-id'
}

export const ENGINE_FACTS: Readonly<Record<EngineVersion, EngineFacts>> = {
  '20.10': {
    versionPrefix: '20.10.',
    apiVersion: '1.41',
    minApiVersion: '1.12',
    servesOldApi: true,
    reproducibleSave: true,
    networkModeById: 'as-given',
  },
  '26.1': {
    versionPrefix: '26.1.',
    apiVersion: '1.45',
    minApiVersion: '1.24',
    servesOldApi: false,
    reproducibleSave: false,
    networkModeById: 'full-id',
  },
}

/** How an engine that does not serve old API versions answers `/v1.23/…` (and `/v1.023/…`): 400 with this message. */
export const OLD_API_REFUSAL = /^client version 1\.0?23 is too old\. Minimum supported API version is 1\.24, please upgrade your client to a newer version$/

/** The engine of the running integration project (vitest.config.ts `provide.engineVersion`). */
export function engineVersion(): EngineVersion {
  return inject('engineVersion')
}

/** Facts of the engine of the running integration project. */
export function engineFacts(): EngineFacts {
  return ENGINE_FACTS[engineVersion()]
}
