/** Flags and DOCKGATE_* variables → raw settings that remember where they came from. */
import { describe, expect, test } from 'vitest'
import { FLAGS, parseArgs, readEnv } from '../../../src/args.js'
import { formatProblem } from '../../../src/problems.js'

describe('parseArgs', () => {
  test('every form of every flag', () => {
    const r = parseArgs([
      '--config', 'c.yaml', '--listen', 'unix:///a.sock', '--listen=tcp://127.0.0.1:1', '--upstream=unix:///d.sock',
      '--policy', 'ci.yaml', '--admin', 'tcp://127.0.0.1:9', '--log-level', 'debug',
    ])
    expect(r.problems).toEqual([])
    expect(r.settings).toEqual({
      config: { value: 'c.yaml', origin: '--config' },
      listen: [{ value: 'unix:///a.sock', origin: '--listen' }, { value: 'tcp://127.0.0.1:1', origin: '--listen' }],
      upstream: { value: 'unix:///d.sock', origin: '--upstream' },
      policy: { value: 'ci.yaml', origin: '--policy' },
      admin: { value: 'tcp://127.0.0.1:9', origin: '--admin' },
      logLevel: { value: 'debug', origin: '--log-level' },
    })
  })

  test.each<[string, string[], Partial<{ help: boolean; version: boolean }>]>([
    ['--help', ['--help'], { help: true }],
    ['-h', ['-h'], { help: true }],
    ['--version', ['--version'], { version: true }],
    ['help among other flags', ['--listen', 'x', '-h'], { help: true }],
  ])('%s', (_name, argv, expected) => {
    expect(parseArgs(argv)).toMatchObject({ help: false, version: false, ...expected })
  })

  test('a value may contain = (only the first one splits)', () => {
    expect(parseArgs(['--policy=./a=b.yaml']).settings.policy).toEqual({ value: './a=b.yaml', origin: '--policy' })
  })

  test('words that are not flags are positionals (room for subcommands); -- ends the flags', () => {
    expect(parseArgs(['check', '--policy', 'x', '--', '--listen', 'y']).positionals).toEqual(['check', '--listen', 'y'])
  })

  test.each<[string, string[], string[]]>([
    ['unknown option with a suggestion; its value is not a stray argument', ['--lisen', 'unix:///a.sock'], ['--lisen: unknown option (did you mean --listen?)']],
    ['unknown option, far from all', ['--frobnicate'], ['--frobnicate: unknown option']],
    ['unknown option with =', ['--polcy=x'], ['--polcy: unknown option (did you mean --policy?)']],
    ['single dash long option', ['-listen', 'x'], ['-listen: unknown option (did you mean --listen?)']],
    ['missing value at the end', ['--upstream'], ['--upstream: needs a value (ADDR)']],
    ['missing value before the next flag', ['--policy', '--listen', 'unix:///a.sock'], ['--policy: needs a value (NAME|FILE)']],
    ['a flag given twice', ['--upstream', 'a', '--upstream', 'b'], ['--upstream: given more than once']],
    ['a boolean flag with a value', ['--help=yes'], ['--help: takes no value']],
  ])('%s', (_name, argv, problems) => {
    expect(parseArgs(argv).problems.map(formatProblem)).toEqual(problems)
  })

  test('every flag has a DOCKGATE_ variable named after it', () => {
    for (const f of FLAGS) expect(f.env).toBe(`DOCKGATE_${f.flag.slice(2).toUpperCase().replace(/-/g, '_')}`)
  })
})

describe('readEnv', () => {
  test('every variable', () => {
    const r = readEnv({
      DOCKGATE_CONFIG: 'c.yaml', DOCKGATE_LISTEN: 'unix:///a.sock, tcp://127.0.0.1:1', DOCKGATE_UPSTREAM: 'unix:///d.sock',
      DOCKGATE_POLICY: 'ci', DOCKGATE_ADMIN: 'tcp://127.0.0.1:9', DOCKGATE_LOG_LEVEL: 'warn', PATH: '/bin',
    })
    expect(r.problems).toEqual([])
    expect(r.settings).toEqual({
      config: { value: 'c.yaml', origin: 'DOCKGATE_CONFIG' },
      listen: [{ value: 'unix:///a.sock', origin: 'DOCKGATE_LISTEN' }, { value: 'tcp://127.0.0.1:1', origin: 'DOCKGATE_LISTEN' }],
      upstream: { value: 'unix:///d.sock', origin: 'DOCKGATE_UPSTREAM' },
      policy: { value: 'ci', origin: 'DOCKGATE_POLICY' },
      admin: { value: 'tcp://127.0.0.1:9', origin: 'DOCKGATE_ADMIN' },
      logLevel: { value: 'warn', origin: 'DOCKGATE_LOG_LEVEL' },
    })
  })

  test.each<[string, NodeJS.ProcessEnv, string[]]>([
    ['an empty value is an error, not "unset"', { DOCKGATE_POLICY: '' }, ['DOCKGATE_POLICY: is set but empty; give a value or unset it']],
    ['blank counts as empty', { DOCKGATE_UPSTREAM: '   ' }, ['DOCKGATE_UPSTREAM: is set but empty; give a value or unset it']],
    ['an empty list item', { DOCKGATE_LISTEN: 'unix:///a.sock,,unix:///b.sock' }, ['DOCKGATE_LISTEN: has an empty item in "unix:///a.sock,,unix:///b.sock" (a comma-separated list of addresses)']],
    ['a trailing comma', { DOCKGATE_LISTEN: 'unix:///a.sock,' }, ['DOCKGATE_LISTEN: has an empty item in "unix:///a.sock," (a comma-separated list of addresses)']],
    ['a typo in a variable name', { DOCKGATE_POLCY: 'full' }, ['DOCKGATE_POLCY: unknown variable (did you mean DOCKGATE_POLICY?)']],
    ['a typo in the list variable', { DOCKGATE_LISTENS: 'x' }, ['DOCKGATE_LISTENS: unknown variable (did you mean DOCKGATE_LISTEN?)']],
    ['other tools\' DOCKGATE_ variables are left alone', { DOCKGATE_TEST_ENGINE: '/x.sock', DOCKGATE_TEST_DOCKER_CONFIG: '/y' }, []],
    ['DOCKGATE_DEBUG is known', { DOCKGATE_DEBUG: '1' }, []],
    ['other variables are not ours', { LISTEN: 'x', DOCKER_HOST: 'y' }, []],
  ])('%s', (_name, env, problems) => {
    expect(readEnv(env).problems.map(formatProblem)).toEqual(problems)
  })
})
