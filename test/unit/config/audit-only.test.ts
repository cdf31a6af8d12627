/**
 * Audit-only: `--audit-only` / DOCKGATE_AUDIT_ONLY for every listener, `mode: audit|enforce` per
 * listener in the config file, and `socket_mode:` for the unix socket's file mode (which `mode:`
 * also still takes), with problems at file:line:col.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Writable } from 'node:stream'
import { afterAll, describe, expect, test } from 'vitest'
import { loadConfig, usage, type Config } from '../../../src/config.js'
import { parseArgs } from '../../../src/args.js'
import { ConfigError, formatProblem } from '../../../src/problems.js'
import { announceConfig } from '../../../src/reload.js'

const dir = mkdtempSync(join(tmpdir(), 'dockgate-audit-only-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function file(text: string): string {
  const path = join(dir, `c${++n}.yaml`)
  writeFileSync(path, text)
  return path
}

function load(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const c = loadConfig(argv, env, { cwd: dir })
  if (!('listeners' in c)) throw new Error('expected a Config')
  return c
}

function problems(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(argv, env, { cwd: dir })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem).map((p) => p.replace(`${dir}/`, ''))
    throw err
  }
  throw new Error('expected a ConfigError')
}

/** `address audit|enforce mode` per listener. */
const brief = (c: Config): string[] =>
  c.listeners.map((l) => `${l.address.kind === 'unix' ? l.address.path : `${l.address.host}:${l.address.port}`} ${l.auditOnly ? 'audit' : 'enforce'} 0${l.mode.toString(8)}`)

const TWO = `listeners:
  - listen: unix:///run/a.sock
    mode: audit
    socket_mode: "0600"
  - listen: unix:///run/b.sock
    mode: "0640"
  - listen: tcp://127.0.0.1:2375
    mode: enforce
`

describe('audit-only in the config file', () => {
  test('mode: audit|enforce is the decision mode; socket_mode, or an octal mode:, the file mode', () => {
    expect(brief(load(['--config', file(TWO)]))).toEqual(['/run/a.sock audit 0600', '/run/b.sock enforce 0640', '127.0.0.1:2375 enforce 0660'])
  })

  test('--audit-only and DOCKGATE_AUDIT_ONLY apply to every listener, over the file', () => {
    const path = file(TWO)
    expect(brief(load(['--config', path, '--audit-only']))).toEqual(['/run/a.sock audit 0600', '/run/b.sock audit 0640', '127.0.0.1:2375 audit 0660'])
    expect(brief(load(['--config', path], { DOCKGATE_AUDIT_ONLY: 'true' }))).toEqual(['/run/a.sock audit 0600', '/run/b.sock audit 0640', '127.0.0.1:2375 audit 0660'])
    expect(brief(load(['--config', path], { DOCKGATE_AUDIT_ONLY: '0' }))).toEqual(['/run/a.sock enforce 0600', '/run/b.sock enforce 0640', '127.0.0.1:2375 enforce 0660'])
    expect(brief(load(['--listen', 'unix:///run/x.sock'], { DOCKGATE_AUDIT_ONLY: '1' }))).toEqual(['/run/x.sock audit 0660'])
    expect(brief(load(['--listen', 'unix:///run/x.sock'], { DOCKGATE_AUDIT_ONLY: 'false' }))).toEqual(['/run/x.sock enforce 0660'])
    expect(brief(load(['--listen', 'unix:///run/x.sock']))).toEqual(['/run/x.sock enforce 0660'])
  })

  test.each<[string, string, string[]]>([
    ['a misspelt decision mode', 'listeners:\n  - listen: unix:///run/a.sock\n    mode: audti\n', [
      'c{n}.yaml:3:11: listeners[0].mode: "audti" is not an octal mode of at most 0777, like "0660" nor a decision mode (audit or enforce) (did you mean audit?)',
    ]],
    ['both keys set the file mode', 'listeners:\n  - listen: unix:///run/a.sock\n    mode: "0600"\n    socket_mode: "0660"\n', [
      'c{n}.yaml:3:11: listeners[0].mode: both mode and socket_mode set the socket file mode; write mode: audit or enforce (the decision mode) and the file mode as socket_mode',
    ]],
    ['a bad socket_mode', 'listeners:\n  - listen: unix:///run/a.sock\n    socket_mode: "0999"\n', [
      'c{n}.yaml:3:18: listeners[0].socket_mode: "0999" is not an octal mode of at most 0777, like "0660"',
    ]],
    ['an unquoted socket_mode', 'listeners:\n  - listen: unix:///run/a.sock\n    socket_mode: 0660\n', [
      'c{n}.yaml:3:18: listeners[0].socket_mode: write the mode as a quoted octal string, like "0660" (unquoted, YAML reads 660 as a decimal number)',
    ]],
    ['socket_mode on a TCP listener', 'listeners:\n  - listen: tcp://127.0.0.1:2375\n    mode: audit\n    socket_mode: "0600"\n', [
      'c{n}.yaml:4:18: listeners[0].socket_mode: applies to unix sockets only, not to tcp://127.0.0.1:2375',
    ]],
  ])('%s', (_name, text, expected) => {
    const path = file(text)
    expect(problems(['--config', path])).toEqual(expected.map((e) => e.replace('c{n}.yaml', `c${n}.yaml`)))
  })

  test('DOCKGATE_AUDIT_ONLY is exactly 1, true, 0 or false', () => {
    for (const bad of ['yes', 'TRUE', 'on', '2']) {
      expect(problems(['--listen', 'unix:///run/x.sock'], { DOCKGATE_AUDIT_ONLY: bad })).toEqual([`DOCKGATE_AUDIT_ONLY: must be 1, true, 0 or false (got ${JSON.stringify(bad)})`])
    }
    expect(problems(['--listen', 'unix:///run/x.sock'], { DOCKGATE_AUDIT_ONLY: '' })).toEqual(['DOCKGATE_AUDIT_ONLY: is set but empty; give a value or unset it'])
  })
})

describe('--audit-only on the command line', () => {
  test('takes no value, once', () => {
    expect(parseArgs(['--audit-only']).settings.auditOnly).toEqual({ value: 'true', origin: '--audit-only' })
    expect(parseArgs(['--audit-only=true']).problems.map(formatProblem)).toEqual(['--audit-only: takes no value'])
    expect(parseArgs(['--audit-only', '--audit-only']).problems.map(formatProblem)).toEqual(['--audit-only: given more than once'])
    expect(parseArgs(['--audit-onyl']).problems.map(formatProblem)).toEqual(['--audit-onyl: unknown option (did you mean --audit-only?)'])
  })

  test('a flag missing its value does not eat the next flag', () => {
    const r = parseArgs(['--policy', '--audit-only', '--listen', 'unix:///a.sock'])
    expect(r.problems.map(formatProblem)).toEqual(['--policy: needs a value (NAME|FILE)'])
    expect(r.settings).toEqual({ auditOnly: { value: 'true', origin: '--audit-only' }, listen: [{ value: 'unix:///a.sock', origin: '--listen' }] })
    expect(r.positionals).toEqual([])
  })

  test('the help lists it with its variable', () => {
    expect(usage()).toMatch(/\n {2}--audit-only {2,}every listener decides as usual, and what its policy would refuse is forwarded .*; env DOCKGATE_AUDIT_ONLY\n/)
  })
})

describe('the warning at start', () => {
  test('one loud line per audit-only listener', () => {
    const lines: Array<Record<string, unknown>> = []
    const sink = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb() } })
    announceConfig(load(['--config', file(TWO)]), pino({ level: 'info' }, sink))
    const warnings = lines.filter((l) => l['auditOnly'] === true)
    expect(warnings.map((l) => [l['level'], l['listener']])).toEqual([[40, 'unix:///run/a.sock']])
    expect(String(warnings[0]!['msg'])).toContain('unix:///run/a.sock is in AUDIT-ONLY mode: its policy REFUSES NOTHING there.')
  })
})
