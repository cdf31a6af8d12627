/**
 * The test engine helper: private Docker engines (dockerd 20.10 or 26.1) and plain HTTP over unix
 * sockets. The code is test/support/dockerd.mjs, plain ESM that the bench imports too; this module
 * gives it the names the tests use.
 */
export {
  DEFAULT_ENGINE,
  ENGINES,
  OFFLINE_ENV,
  engineBinaries,
  request as engineRequest,
  findDockerd,
  pings,
  removeEngineDir,
  startEngine,
} from './dockerd.mjs'
export type { Engine, EngineRequestOptions, EngineResponse, EngineVersion, StartEngineOptions } from './dockerd.mjs'
