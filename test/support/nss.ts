/**
 * The stand-in for getent(1) that unit tests resolve user and group names with
 * (test/fixtures/nss/getent, answering from test/fixtures/configs/passwd and group): the real one
 * asks this machine's NSS, whose users and groups a test cannot choose.
 */
import { fileURLToPath } from 'node:url'

export const FAKE_GETENT = fileURLToPath(new URL('../fixtures/nss/getent', import.meta.url))
