// Which Dockerfiles make the legacy builder fetch a URL (src/build/dockerfile-check.ts).
// Every "fetches" row marked [engine] was seen fetching from a loopback server on dockerd 20.10.24
// and 26.1.5 (DOCKER_BUILDKIT=0 builds of a context holding only that Dockerfile); the near misses
// marked [engine] were seen not fetching there.
import { describe, expect, test } from 'vitest'
import { findUrlFetches, DockerfileSyntaxError } from '../../../src/build/dockerfile-check.js'
import type { BuildArgs } from '../../../src/build/dockerfile-env.js'

const U = 'http://127.0.0.1:8080'
const NO_ARGS: BuildArgs = new Map()

function check(dockerfile: string | Buffer, args: BuildArgs = NO_ARGS): Array<[number, string, string]> {
  const buf = typeof dockerfile === 'string' ? Buffer.from(dockerfile, 'utf8') : dockerfile
  return findUrlFetches(buf, args).map((f) => [f.line, f.instruction, f.source])
}

describe('ADD sources that are URLs', () => {
  test.each<[string, string, Array<[number, string, string]>]>([
    ['[engine] plain ADD URL', `FROM scratch\nADD ${U}/f /f\n`, [[2, 'ADD', `${U}/f`]]],
    ['[engine] https', `FROM scratch\nADD https://example.invalid/f /f\n`, [[2, 'ADD', 'https://example.invalid/f']]],
    ['[engine] lower-case instruction', `FROM scratch\nadd ${U}/f /f\n`, [[2, 'ADD', `${U}/f`]]],
    ['[engine] mixed-case instruction, leading spaces', `FROM scratch\n   aDd ${U}/f /f\n`, [[2, 'ADD', `${U}/f`]]],
    ['[engine] quoted source', `FROM scratch\nADD "${U}/q" /f\n`, [[2, 'ADD', `"${U}/q"`]]],
    ['[engine] single-quoted source', `FROM scratch\nADD '${U}/q' /f\n`, [[2, 'ADD', `'${U}/q'`]]],
    ['[engine] escaped first letter', `FROM scratch\nADD \\http://h/x /f\n`, [[2, 'ADD', '\\http://h/x']]],
    ['[engine] line continuation inside the URL', `FROM scratch\nADD http\\\n://h/x /f\n`, [[2, 'ADD', 'http://h/x']]],
    ['[engine] continuation, comment line and blank line inside', `FROM scratch\nADD \\\n# c\n\n  ${U}/x /f\n`, [[2, 'ADD', `${U}/x`]]],
    ['[engine] escape directive: backtick continues the line', `# escape=\`\nFROM scratch\nADD http\`\n://h/x /f\n`, [[3, 'ADD', 'http://h/x']]],
    ['[engine] JSON form', `FROM scratch\nADD ["${U}/j", "/f"]\n`, [[2, 'ADD', `${U}/j`]]],
    ['[engine] JSON form with text after the array', `FROM scratch\nADD ["${U}/j", "/f"] junk\n`, [[2, 'ADD', `${U}/j`]]],
    ['JSON form with an escaped character', `FROM scratch\nADD ["\\u0068ttp://h/j", "/f"]\n`, [[2, 'ADD', 'http://h/j']]],
    ['[engine] --chown flag', `FROM scratch\nADD --chown=1:1 ${U}/c /f\n`, [[2, 'ADD', `${U}/c`]]],
    ['[engine] --checksum (26.1 ignores it, 20.10 refuses the file)', `FROM scratch\nADD --checksum=sha256:00 ${U}/c /f\n`, [[2, 'ADD', `${U}/c`]]],
    ['second of two sources', `FROM scratch\nADD ./a ${U}/b /d/\n`, [[2, 'ADD', `${U}/b`]]],
    ['"--" ends the flags', `FROM scratch\nADD --chown=1 -- ${U}/f /f\n`, [[2, 'ADD', `${U}/f`]]],
    ['a JSON array Go cannot decode (number out of range) is read as words', `FROM scratch\nADD ["x", 1e999] ${U}/w /d/\n`, [[2, 'ADD', `${U}/w`]]],
    ['JSON array with a non-string: also read as words', `FROM scratch\nADD ["x", 1] ${U}/w /d/\n`, [[2, 'ADD', `${U}/w`]]],
    ['[engine] https URL ending in .git is fetched over HTTP', `FROM scratch\nADD ${U}/repo.git /r\n`, [[2, 'ADD', `${U}/repo.git`]]],
    ['[engine] CRLF line endings', `FROM scratch\r\nADD ${U}/crlf /f\r\n`, [[2, 'ADD', `${U}/crlf`]]],
    ['[engine] continuation before CR LF', `FROM scratch\nADD http\\\r\n://h/x /f\n`, [[2, 'ADD', 'http://h/x']]],
    ['[engine 26.1] continuation before two CRs (20.10: one argument, refused)', `FROM scratch\nADD http\\\r\r\n://h/x /f\n`, [[2, 'ADD', 'http://h/x']]],
    ['[engine] BOM at the start of the word', `FROM scratch\nADD \ufeff${U}/bom /f\n`, [[2, 'ADD', `\ufeff${U}/bom`]]],
    ['UTF-8 BOM at the start of the file', `\ufeffFROM scratch\nADD ${U}/f /f\n`, [[2, 'ADD', `${U}/f`]]],
    ['[engine] ONBUILD ADD plants a fetch', `FROM scratch\nONBUILD ADD ${U}/t /t\n`, [[2, 'ONBUILD ADD', `${U}/t`]]],
    ['[engine] ONBUILD trigger is re-read with the default escape', `# escape=\`\nFROM scratch\nONBUILD ADD h\\ttp://h/t /t\n`, [[3, 'ONBUILD ADD', 'h\\ttp://h/t']]],
  ])('%s', (_name, df, expected) => {
    expect(check(df)).toEqual(expected)
  })

  test('[engine] a 0xA0 byte splits a flag word byte by byte (NBSP in Latin-1), so the URL is an argument', () => {
    const df = Buffer.concat([Buffer.from('FROM scratch\nADD --chown=1\xc3', 'latin1'), Buffer.from([0xa0]), Buffer.from(`${U}/nbsp /f\n`)])
    expect(check(df)).toEqual([[2, 'ADD', `${U}/nbsp`]])
  })
})

describe('near misses: no URL is fetched', () => {
  test.each<[string, string]>([
    ['[engine] URL in COPY (the engine refuses: source can\'t be a URL for COPY)', `FROM scratch\nCOPY ${U}/c /f\n`],
    ['[engine] upper-case scheme is a local path', `FROM scratch\nADD HTTP://h/x /f\n`],
    ['local path containing a URL', `FROM scratch\nADD ./http:/x /f\n`],
    ['git@ is a local path to the legacy builder', `FROM scratch\nADD git@github.com:a/b.git /f\n`],
    ['URL only as destination', `FROM scratch\nADD ./a ${U}/\n`],
    ['URL in a comment', `FROM scratch\n# ADD ${U}/x /f\nADD ./a /f\n`],
    ['URL in RUN', `FROM scratch\nRUN wget ${U}/x\n`],
    ['URL in a LABEL', `FROM scratch\nLABEL src=${U}/x\n`],
    ['ADD with one argument (the parser refuses it)', `FROM scratch\nADD ${U}/x\n`],
    ['[engine] $${U}: "$$" is an unset special parameter', `FROM scratch\nARG U=${U}\nADD $\${U}/dd /f\n`],
    ['[engine] meta ARG not re-declared in the stage is unset', `ARG U=${U}\nFROM scratch\nADD \${U}x/y /f\n`],
    ['variable after a literal that is not a URL prefix', `FROM busybox\nADD ./$U /f\n`],
    ['variable after "hx"', `FROM busybox\nADD hx$U /f\n`],
    ['ENV that sets a local path, base image unknown', `FROM busybox\nENV U=./local\nADD $U /f\n`],
  ])('%s', (_name, df) => {
    expect(check(df)).toEqual([])
  })
})

describe('variables', () => {
  test.each<[string, string, BuildArgs, Array<[number, string, string]>]>([
    ['[engine] ENV in the stage', `FROM busybox\nENV U=${U}\nADD $U/env /f\n`, NO_ARGS, [[3, 'ADD', '$U/env']]],
    ['[engine] ARG default, FROM scratch', `FROM scratch\nARG U=${U}\nADD \${U}/arg /f\n`, NO_ARGS, [[3, 'ADD', '${U}/arg']]],
    ['[engine] build arg from the query', `FROM scratch\nARG U\nADD \${U}/q /f\n`, new Map([['U', U]]), [[3, 'ADD', '${U}/q']]],
    ['build arg overrides a local default', `FROM scratch\nARG U=./x\nADD $U /f\n`, new Map([['U', U]]), [[3, 'ADD', '$U']]],
    ['local default, no build arg: not a URL', `FROM scratch\nARG U=./x\nADD $U /f\n`, NO_ARGS, []],
    ['[engine] built-in HTTP_PROXY needs no ARG', `FROM scratch\nADD \${HTTP_PROXY}/p /f\n`, new Map([['HTTP_PROXY', U]]), [[2, 'ADD', '${HTTP_PROXY}/p']]],
    ['[engine] meta ARG re-declared in the stage', `ARG U=${U}\nFROM scratch\nARG U\nADD \${U}/m /f\n`, NO_ARGS, [[4, 'ADD', '${U}/m']]],
    ['[engine] digit-named ARG', `FROM scratch\nARG 1=${U}\nADD $1/d /f\n`, NO_ARGS, [[3, 'ADD', '$1/d']]],
    ['[engine] ${X:-default}', `FROM scratch\nADD \${NOPE:-${U}}/mod /f\n`, NO_ARGS, [[2, 'ADD', `\${NOPE:-${U}}/mod`]]],
    ['${X:+alt} with X set', `FROM scratch\nARG X=1\nADD \${X:+${U}}/alt /f\n`, NO_ARGS, [[3, 'ADD', `\${X:+${U}}/alt`]]],
    ['${X:+alt} with X unset', `FROM scratch\nADD \${X:+${U}}/alt /f\n`, NO_ARGS, []],
    ['ENV values are expanded with the environment before the instruction', `FROM scratch\nENV A=${U} B=$A\nADD x$B /f\n`, NO_ARGS, []],
    ['unknown variable in a base image stage', `FROM busybox\nADD $U /f\n`, NO_ARGS, [[2, 'ADD', '$U']]],
    ['ARG in a base image stage: the image environment may hold it', `FROM busybox\nARG U=./x\nADD $U /f\n`, NO_ARGS, [[3, 'ADD', '$U']]],
    ['variable after "http"', `FROM busybox\nADD http$REST /f\n`, NO_ARGS, [[2, 'ADD', 'http$REST']]],
    ['26.1-only substitution form', `FROM scratch\nARG U=x\nADD \${U#x} /f\n`, NO_ARGS, [[3, 'ADD', '${U#x}']]],
    ['unreadable buildargs', `FROM scratch\nARG U\nADD $U /f\n`, 'unreadable', [[3, 'ADD', '$U']]],
    ['stage named scratch makes FROM scratch unknown', `FROM busybox AS scratch\nFROM scratch\nADD $U /f\n`, NO_ARGS, [[3, 'ADD', '$U']]],
  ])('%s', (_name, df, args, expected) => {
    expect(check(df, args)).toEqual(expected)
  })

  test('the reason names what the value depends on', () => {
    const [f] = findUrlFetches(Buffer.from('FROM busybox\nADD $U /f\n'), NO_ARGS)
    expect(f?.reason).toMatch(/could expand to a URL: \$U is not set by ENV in this stage, so it may come from the base image's environment/)
  })
})

describe('heredocs (dockerd 23+)', () => {
  test('an ADD after a heredoc whose terminator ends in the escape token is found', () => {
    const df = `FROM scratch\nARG U=${U}\nRUN <<'EOF\\'\necho\nEOF\\\nADD $U /x\n`
    expect(check(df).map(([line, instr]) => [line, instr])).toContainEqual([6, 'ADD'])
  })
  test('ENV inside a heredoc body does not make a later ADD look safe', () => {
    const df = `FROM scratch\nARG U=${U}\nRUN <<EOF\nENV U=./safe\nEOF\nADD $U /x\n`
    expect(check(df)).toContainEqual([6, 'ADD', '$U'])
  })
})

describe('directives', () => {
  test.each<[string, string]>([
    ['invalid escape token', '# escape=x\nFROM scratch\n'],
    ['escape directive twice', '# escape=`\n# escape=`\nFROM scratch\n'],
  ])('%s: the engine refuses the file', (_name, df) => {
    expect(() => check(df)).toThrow(DockerfileSyntaxError)
  })
  test('an escaped escape token at the end does not join the next line', () => {
    expect(check(`FROM scratch\nADD ./a /f \\\\\nADD ${U}/x /g\n`)).toEqual([[3, 'ADD', `${U}/x`]])
  })
  test('a directive after the first instruction is a comment', () => {
    expect(check(`FROM scratch\n# escape=\`\nADD http\\\n://h/x /f\n`)).toEqual([[3, 'ADD', 'http://h/x']])
  })
})
