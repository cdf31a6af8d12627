/**
 * Choosing a connection's client (src/connection.ts): the first `clients:` entry that matches
 * decides; an entry that needs an identity the connection lacks refuses it (DG_DENY_IDENTITY)
 * rather than fall through to the listener's default; what the audit record's `client` says.
 */
import { describe, expect, test } from 'vitest'
import { chooseClient, type Peer } from '../../src/connection.js'
import type { ClientEntry, ClientMatch } from '../../src/config-clients.js'
import { loadPolicy } from '../../src/policy/compile.js'
import { parseSubject } from '../../src/subject.js'

const operator = loadPolicy('container-operator')
const events = loadPolicy('events-only')

function entry(index: number, match: ClientMatch, extra: Partial<ClientEntry> = {}): ClientEntry {
  return { index, label: `clients[${index}]`, match, policy: index % 2 === 0 ? operator : events, ...extra }
}
const subject = (text: string): ClientMatch => {
  const r = parseSubject(text)
  if ('error' in r) throw new Error(r.error)
  return { kind: 'subject', subject: r.subject, text }
}

const unix = (uid: number, gid: number, groups: number[] | null = []): Peer => ({ transport: 'unix', cred: { pid: 4242, uid, gid, groups } })
const unknownUnix: Peer = { transport: 'unix', error: 'peer credentials are not available: test' }
const tls = (s?: Record<string, string[]>): Peer => ({ transport: 'tls', address: '127.0.0.1', port: 50000, ...(s ? { subject: s, sans: ['DNS:client.test'] } : {}) })

const BY_ID = [entry(0, { kind: 'uid', uid: 1000 }, { tenant: 'alice' }), entry(1, { kind: 'gid', gid: 999 }, { label: 'docker-group' }), entry(2, { kind: 'uid', uid: 1001 })]
const BY_SUBJECT = [entry(0, subject('CN=ci-runner'), { tenant: 'ci' }), entry(1, subject('O=Acme,CN=ops'))]

describe('chooseClient', () => {
  test.each<[string, Peer, readonly ClientEntry[], string | undefined, { entry?: string; tenant?: string; refused?: boolean }]>([
    ['uid matches the first entry', unix(1000, 1000), BY_ID, undefined, { entry: 'clients[0]', tenant: 'alice' }],
    ['primary gid matches', unix(1002, 999), BY_ID, undefined, { entry: 'docker-group' }],
    ['a supplementary group matches', unix(1002, 1002, [5, 999]), BY_ID, undefined, { entry: 'docker-group' }],
    ['first match wins over a later uid entry', unix(1001, 999), BY_ID, undefined, { entry: 'docker-group' }],
    ['no entry: the listener\'s tenant', unix(1003, 1003), BY_ID, 'shared', { tenant: 'shared' }],
    ['no entry, no listener tenant: none', unix(1003, 1003), BY_ID, undefined, {}],
    ['near miss: uid 0 is not uid 1000', unix(0, 0), BY_ID, undefined, {}],
    ['unknown peer credentials are refused, not defaulted', unknownUnix, BY_ID, 'shared', { refused: true, tenant: 'shared' }],
    ['unknown peer credentials without clients: the default', unknownUnix, [], undefined, {}],
    ['unknown supplementary groups refuse a gid entry that the primary gid misses', unix(1002, 1002, null), BY_ID, undefined, { refused: true }],
    ['unknown supplementary groups do not matter when the primary gid matches', unix(1002, 999, null), BY_ID, undefined, { entry: 'docker-group' }],
    ['uid entry before a gid entry decides even with groups unknown', unix(1000, 5, null), BY_ID, undefined, { entry: 'clients[0]', tenant: 'alice' }],
    ['subject matches', tls({ CN: ['ci-runner'] }), BY_SUBJECT, undefined, { entry: 'clients[0]', tenant: 'ci' }],
    ['subject in another order matches', tls({ CN: ['ops'], O: ['Acme'] }), BY_SUBJECT, undefined, { entry: 'clients[1]' }],
    ['near miss: one more attribute', tls({ O: ['Acme'], CN: ['ci-runner'] }), BY_SUBJECT, 'guests', { tenant: 'guests' }],
    ['no verified certificate with subject entries: refused', tls(), BY_SUBJECT, undefined, { refused: true }],
  ])('%s', (_name, peer, clients, tenant, expected) => {
    const c = chooseClient(peer, clients, tenant)
    expect({ entry: c.entry?.label, tenant: c.tenant, refused: c.refusal !== undefined }).toEqual({ entry: expected.entry, tenant: expected.tenant, refused: expected.refused ?? false })
    if (c.refusal) {
      expect(c.refusal.code).toBe('DG_DENY_IDENTITY')
      expect(c.refusal.status).toBe(403)
    }
  })

  test('the refusal says which entry needed what, and why it is unknown', () => {
    expect(chooseClient(unknownUnix, BY_ID, undefined).refusal?.clientMessage()).toBe(
      'dockgate: this listener chooses a policy by who is calling (clients[0] matches on uid), and this connection\'s uid is not known: ' +
        'peer credentials are not available: test; refused rather than guessed [DG_DENY_IDENTITY]',
    )
  })
})

describe('the audit record\'s client', () => {
  test.each<[string, Peer, readonly ClientEntry[], Record<string, unknown>]>([
    ['unix: uid, gid, pid, the entry and its tenant', unix(1000, 1000, [27]), BY_ID, { uid: 1000, gid: 1000, pid: 4242, entry: 'clients[0]', tenant: 'alice' }],
    ['unix without an entry', unix(1003, 1003), BY_ID, { uid: 1003, gid: 1003, pid: 4242 }],
    ['unix, credentials unknown', unknownUnix, [], { error: 'peer credentials are not available: test' }],
    ['tcp', { transport: 'tcp', address: '::1', port: 40000 }, [], { address: '::1', port: 40000 }],
    ['tls with a certificate', tls({ O: ['Acme'], CN: ['ops'] }), BY_SUBJECT, { address: '127.0.0.1', port: 50000, subject: 'O=Acme,CN=ops', sans: ['DNS:client.test'], entry: 'clients[1]' }],
    ['tls without a client certificate', tls(), [], { address: '127.0.0.1', port: 50000 }],
  ])('%s', (_name, peer, clients, expected) => {
    const audit = chooseClient(peer, clients, undefined).audit
    expect(audit).toEqual(expected)
    expect(Object.isFrozen(audit)).toBe(true)
  })
})
