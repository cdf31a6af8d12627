/**
 * decodeBody must read a body the way dockerd (Go encoding/json) does, or refuse it; encodeBody
 * must forward exactly what was read. Attack cases come from docs/engine-notes.md "Bodies": case
 * folding, Unicode folding, duplicate keys and merged objects, escapes in keys, trailing data.
 */
import { describe, expect, test } from 'vitest'
import { BodyError, decodeBody, encodeBody, formatPath, MAX_DEPTH } from '../../src/body/gojson.js'
import { isObject, JsonNumber, JsonObject, type JsonValue } from '../../src/body/json-value.js'
import { ANY, arrayOf, mapOf, struct, type Shape } from '../../src/body/shape.js'

/** A trimmed-down ContainerCreate body type: enough structs and maps to exercise both. */
const CREATE: Shape = struct({
  Labels: mapOf(),
  Volumes: mapOf(),
  HostConfig: struct({
    Binds: arrayOf(),
    Sysctls: mapOf(),
    Mounts: arrayOf(struct({ VolumeOptions: struct({ Labels: mapOf(), DriverConfig: struct({ Options: mapOf() }) }) })),
  }),
  NetworkingConfig: struct({ EndpointsConfig: mapOf(struct({ IPAMConfig: struct() })) }),
})

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...utf8(p)] : p)))

function decode(body: string | Uint8Array, shape: Shape = CREATE): JsonValue {
  return decodeBody(typeof body === 'string' ? utf8(body) : body, shape)
}

function refusal(body: string | Uint8Array, shape: Shape = CREATE): BodyError {
  try {
    decode(body, shape)
  } catch (err) {
    expect(err).toBeInstanceOf(BodyError)
    return err as BodyError
  }
  throw new Error('decodeBody accepted the body')
}

function obj(v: JsonValue | undefined): JsonObject {
  if (!isObject(v)) throw new Error(`not an object: ${String(v)}`)
  return v
}

describe('accepted bodies', () => {
  test.each([
    ['plain create body', '{"Image":"alpine","Cmd":["sh","-c","echo hi"]}', '{"Image":"alpine","Cmd":["sh","-c","echo hi"]}'],
    ['whitespace around and inside', ' \t\r\n{ "Image" : "alpine" , "Tty" : true }\n', '{"Image":"alpine","Tty":true}'],
    ['escaped key is decoded', '{"\\u0050rivileged":true}', '{"Privileged":true}'],
    ['a lone lower-case variant is kept as sent', '{"hostconfig":{"privileged":true}}', '{"hostconfig":{"privileged":true}}'],
    ['numbers keep their source text', '{"Memory":12345678901234567890,"Cpu":1.50,"Z":-0,"E":1E+2,"F":2.5e-3}',
      '{"Memory":12345678901234567890,"Cpu":1.50,"Z":-0,"E":1E+2,"F":2.5e-3}'],
    ['string escapes', '["\\/\\b\\f\\n\\r\\t\\"\\\\\\u00e9\\ud83d\\ude00\\u0000"]', '["/\\b\\f\\n\\r\\t\\"\\\\é😀\\u0000"]'],
    ['raw non-ASCII string values', '{"Cmd":["\u017f","\u212a","😀","\u2028"]}', '{"Cmd":["\u017f","\u212a","😀","\u2028"]}'],
    ['raw U+FEFF at the start of a string is kept', '{"Cmd":["\ufeffx"]}', '{"Cmd":["\ufeffx"]}'],
    ['empty object, array and key', '{"":{},"A":[],"B":[{}]}', '{"":{},"A":[],"B":[{}]}'],
    ['top-level scalar string', '"x"', '"x"'],
    ['top-level number', '0', '0'],
    ['top-level null', 'null', 'null'],
    ['top-level array', '[true,false,null]', '[true,false,null]'],
    ['map: case-variant keys are distinct data', '{"Labels":{"a":"1","A":"2"}}', '{"Labels":{"a":"1","A":"2"}}'],
    ['map: non-ASCII keys', '{"Labels":{"Bindſ":"x","é":"y","\\u212a":"z"}}', '{"Labels":{"Bind\u017f":"x","é":"y","\u212a":"z"}}'],
    ['map found through a lower-case struct key', '{"hostconfig":{"SYSCTLS":{"net.a":"1","NET.A":"0"}}}', '{"hostconfig":{"SYSCTLS":{"net.a":"1","NET.A":"0"}}}'],
    ['map of structs: names are data', '{"NetworkingConfig":{"EndpointsConfig":{"net":{},"Net":{"IPAMConfig":{}}}}}',
      '{"NetworkingConfig":{"EndpointsConfig":{"net":{},"Net":{"IPAMConfig":{}}}}}'],
    ['map nested in an array of structs', '{"HostConfig":{"Mounts":[{"VolumeOptions":{"DriverConfig":{"Options":{"o":"1","O":"2"}}}}]}}',
      '{"HostConfig":{"Mounts":[{"VolumeOptions":{"DriverConfig":{"Options":{"o":"1","O":"2"}}}}]}}'],
    ['wrong type for a struct is left to the guard', '{"HostConfig":[1,{"a":1}]}', '{"HostConfig":[1,{"a":1}]}'],
    ['wrong type for a map is left to the guard', '{"Labels":[1,"x"]}', '{"Labels":[1,"x"]}'],
    ['wrong type for an array is left to the guard', '{"HostConfig":{"Binds":{"a":"/x"}}}', '{"HostConfig":{"Binds":{"a":"/x"}}}'],
    ['__proto__ is an ordinary key', '{"__proto__":{"Privileged":true},"constructor":1}', '{"__proto__":{"Privileged":true},"constructor":1}'],
    ['same key in sibling objects', '{"HostConfig":{"Binds":[]},"X":{"HostConfig":{"Binds":[]}}}', '{"HostConfig":{"Binds":[]},"X":{"HostConfig":{"Binds":[]}}}'],
    [`nesting exactly ${MAX_DEPTH} deep`, '['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH), '['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH)],
  ])('%s', (_name, body, canonical) => {
    expect(encodeBody(decode(body))).toBe(canonical)
  })

  test('\\u0050rivileged is found by field("privileged")', () => {
    const body = obj(decode('{"HostConfig":{"\\u0050rivileged":true}}'))
    expect(obj(body.field('hostconfig')).field('privileged')).toBe(true)
    expect(obj(body.field('HostConfig')).keyOf('Privileged')).toBe('Privileged')
  })

  test('a lower-case body reads the same as the canonical one', () => {
    const body = obj(decode('{"hostconfig":{"privileged":true,"binds":["/etc:/x"]}}'))
    const host = obj(body.field('HostConfig'))
    expect(host.kind).toBe('struct')
    expect(host.field('Privileged')).toBe(true)
    expect(host.field('Binds')).toEqual(['/etc:/x'])
  })

  test('maps are case-sensitive, structs are not', () => {
    const body = obj(decode('{"Labels":{"a":"1","A":"2"},"HostConfig":{}}'))
    const labels = obj(body.field('labels'))
    expect(labels.kind).toBe('map')
    expect([labels.field('a'), labels.field('A'), labels.field('b')]).toEqual(['1', '2', undefined])
    expect(obj(body.field('HOSTCONFIG')).kind).toBe('struct')
  })

  test('an object at an unknown position is a struct', () => {
    expect(obj(obj(decode('{"Unknown":{"x":1}}')).field('unknown')).kind).toBe('struct')
    expect(obj(decode('{"x":1}', ANY)).kind).toBe('struct')
    expect(obj(decode('{"x":1}', mapOf())).kind).toBe('map')
  })

  test('numbers are JsonNumber with the exact text', () => {
    const n = obj(decode('{"Memory":12345678901234567890}')).field('memory')
    expect(n).toBeInstanceOf(JsonNumber)
    expect((n as JsonNumber).text).toBe('12345678901234567890')
  })

  test('__proto__ does not pollute', () => {
    const body = obj(decode('{"__proto__":{"Privileged":true}}'))
    expect(obj(body.field('__proto__')).field('Privileged')).toBe(true)
    expect(({} as Record<string, unknown>)['Privileged']).toBeUndefined()
  })

  test('a Buffer is accepted like any Uint8Array', () => {
    expect(encodeBody(decodeBody(Buffer.from('{"A":1}'), ANY))).toBe('{"A":1}')
  })

  test('large wide bodies decode (linear-time parser)', () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `"k${i}":${i}`).join(',')
    const wide = `{"Labels":{${keys}},"Cmd":[${Array.from({ length: 30_000 }, () => '"aaaaaaaaaaaaaaaa"').join(',')}]}`
    expect(wide.length).toBeGreaterThan(900_000)
    expect(obj(obj(decode(wide)).field('Labels')).size).toBe(30_000)
    const long = `{"Cmd":["${'\\u0041'.repeat(150_000)}"]}`
    expect(encodeBody(decode(long))).toBe(`{"Cmd":["${'A'.repeat(150_000)}"]}`)
  })
})

describe('refused bodies', () => {
  test.each<[string, string | Uint8Array, RegExp, Shape?]>([
    // C1/C3: case variants and repeats that Go would overwrite or merge.
    ['case-variant duplicate at top level', '{"HostConfig":{},"hostconfig":{"Privileged":true}}',
      /^duplicate key "hostconfig" \(same as "HostConfig"\) at HostConfig$/],
    ['repeated object (Go merges it)', '{"HostConfig":{"Privileged":true},"HostConfig":{"Binds":[]}}',
      /^duplicate key "HostConfig" at HostConfig$/],
    ['case-variant duplicate nested', '{"HostConfig":{"Binds":["/a:/a"],"BINDS":["/root:/b"]}}',
      /^duplicate key "BINDS" \(same as "Binds"\) at HostConfig\.Binds$/],
    ['exact duplicate scalar', '{"Image":"a","Image":"b"}', /^duplicate key "Image" at Image$/],
    ['duplicate inside an array item', '{"HostConfig":{"Mounts":[{},{"Type":"volume","type":"bind"}]}}',
      /^duplicate key "type" \(same as "Type"\) at HostConfig\.Mounts\[1\]\.Type$/],
    ['duplicate in a struct inside a map', '{"NetworkingConfig":{"EndpointsConfig":{"n":{"IPAMConfig":{},"ipamconfig":{}}}}}',
      /^duplicate key "ipamconfig" \(same as "IPAMConfig"\) at NetworkingConfig\.EndpointsConfig\.n\.IPAMConfig$/],
    ['duplicate in an object at an unknown position', '{"Unknown":{"x":1,"X":2}}', /^duplicate key "X" \(same as "x"\) at Unknown\.x$/],
    ['duplicate in an object where an array was expected', '{"HostConfig":{"Binds":{"a":1,"A":2}}}', /^duplicate key "A" \(same as "a"\)/],
    ['duplicate in an object inside a wrong-typed array', '{"HostConfig":[{"a":1,"A":2}]}', /^duplicate key "A" .* at HostConfig\[0\]\.a$/],
    ['duplicate with ANY shape', '{"a":{"b":[{"c":1,"C":1}]}}', /^duplicate key "C" \(same as "c"\) at a\.b\[0\]\.c$/, ANY],
    // C5: escapes.
    ['escaped key duplicating another', '{"HostConfig":{"Privileged":false,"\\u0050rivileged":true}}',
      /^duplicate key "Privileged" at HostConfig\.Privileged$/],
    ['escaped lower-case key duplicating another', '{"Privileged":false,"\\u0070RIVILEGED":true}',
      /^duplicate key "pRIVILEGED" \(same as "Privileged"\)/],
    // C2: Unicode folding.
    ['long s (U+017F) folds onto Binds', '{"HostConfig":{"Bind\u017f":["/:/host"]}}', /^non-ASCII key "Bind\u017f" .* at HostConfig$/],
    ['escaped long s', '{"HostConfig":{"Bind\\u017f":["/:/host"]}}', /^non-ASCII key "Bindſ"/],
    ['Kelvin sign (U+212A) folds onto NetworkMode', '{"HostConfig":{"Network\u212aMode":"host"}}', /^non-ASCII key "Network\u212aMode"/],
    ['escaped Kelvin sign', '{"HostConfig":{"Network\\u212aMode":"host"}}', /^non-ASCII key "Network\u212aMode"/],
    ['non-ASCII key at an unknown struct position', '{"Ünknown":1}', /^non-ASCII key "Ünknown" .* at top level$/],
    ['non-ASCII key inside an object in a map', '{"NetworkingConfig":{"EndpointsConfig":{"n":{"é":1}}}}', /^non-ASCII key "é" .* at NetworkingConfig\.EndpointsConfig\.n$/],
    // Maps: exact repeats only.
    ['exact duplicate in a map', '{"Labels":{"a":"1","a":"2"}}', /^duplicate key "a" at Labels\.a$/],
    ['escaped duplicate in a map', '{"Labels":{"a":"1","\\u0061":"2"}}', /^duplicate key "a" at Labels\.a$/],
    ['duplicate map key with dots is quoted in the path', '{"HostConfig":{"Sysctls":{"net.x":"1","net.x":"0"}}}',
      /^duplicate key "net\.x" at HostConfig\.Sysctls\["net\.x"\]$/],
    // C6: trailing data.
    ['two objects', '{}{}', /^trailing data after the JSON value at top level$/],
    ['object then text', '{} x', /^trailing data/],
    ['object then a second value on a new line', '{"Image":"a"}\n{"Image":"b"}', /^trailing data/],
    ['extra closing bracket', '{}]', /^trailing data/],
    ['trailing NUL', '{}\u0000', /^trailing data/],
    // Encoding.
    ['byte order mark', bytes([0xef, 0xbb, 0xbf], '{}'), /^body starts with a byte order mark$/],
    ['invalid UTF-8 in a string', bytes('{"Image":"', [0xc3, 0x28], '"}'), /^body is not valid UTF-8$/],
    ['invalid UTF-8 in a key', bytes('{"Priv', [0xff], 'ileged":true}'), /^body is not valid UTF-8$/],
    ['lone continuation byte', bytes('["', [0x80], '"]'), /^body is not valid UTF-8$/],
    ['overlong encoding of "/"', bytes('["', [0xc0, 0xaf], '"]'), /^body is not valid UTF-8$/],
    ['UTF-8 encoded surrogate', bytes('["', [0xed, 0xa0, 0x80], '"]'), /^body is not valid UTF-8$/],
    ['code point above U+10FFFF', bytes('["', [0xf4, 0x90, 0x80, 0x80], '"]'), /^body is not valid UTF-8$/],
    ['truncated sequence at the end', bytes('"', [0xe2, 0x82]), /^body is not valid UTF-8$/],
    ['lone high surrogate escape', '["\\ud800"]', /^lone surrogate in a \\u escape at \[0\]$/],
    ['lone low surrogate escape', '["\\udc00x"]', /^lone surrogate/],
    ['high surrogate then a non-surrogate escape', '["\\ud83d\\u0041"]', /^lone surrogate/],
    ['high surrogate then high surrogate', '["\\ud83d\\ud83d"]', /^lone surrogate/],
    ['lone surrogate in a key', '{"Privileged\\udfff":true}', /^lone surrogate .* at top level$/],
    // Grammar.
    ['empty body', '', /^body is empty$/],
    ['whitespace only', ' \r\n\t', /^body is empty$/],
    ['non-JSON whitespace (form feed)', '\f{}', /^expected a value, found byte 0x0c/],
    ['non-JSON whitespace (NBSP)', '{}\u00a0', /^trailing data/],
    [`nesting deeper than ${MAX_DEPTH}`, '['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1), /^nesting deeper than 256/],
    ['very deep nesting (no stack overflow)', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000), /^nesting deeper than 256/],
    ['leading zero', '{"Memory":01}', /^number with a leading zero at Memory$/],
    ['negative leading zero', '[-01]', /^number with a leading zero/],
    ['double zero', '[00]', /^number with a leading zero/],
    ['NaN', '{"CpuShares":NaN}', /^expected a value, found "N" at CpuShares$/],
    ['Infinity', '[Infinity]', /^expected a value/],
    ['-Infinity', '[-Infinity]', /^invalid number/],
    ['plus sign', '[+1]', /^expected a value/],
    ['leading dot', '[.5]', /^expected a value/],
    ['trailing dot', '[1.]', /^invalid number \(no digits after "\."\)/],
    ['empty exponent', '[1e]', /^invalid number \(no digits in the exponent\)/],
    ['hex number', '[0x10]', /^expected "," or "\]", found "x"/],
    ['minus alone', '[-]', /^invalid number/],
    ['line comment', '{"Image":"a"} // hi', /^trailing data/],
    ['block comment inside', '{/* c */"Image":"a"}', /^expected a key, found "\/"/],
    ['hash comment', '# c\n{}', /^expected a value, found "#"/],
    ['trailing comma in an object', '{"Image":"a",}', /^expected a key \(trailing comma\), found "}" at top level$/],
    ['trailing comma in an array', '{"Cmd":["a",]}', /^expected a value \(trailing comma\), found "\]" at Cmd$/],
    ['leading comma in an array', '[,1]', /^expected a value, found ","/],
    ['raw newline in a string', '{"Image":"a\nb"}', /^control character in a string \(must be escaped\) at Image$/],
    ['raw tab in a string', '["a\tb"]', /^control character/],
    ['raw NUL in a string', '["a\u0000b"]', /^control character/],
    ['raw U+001F in a key', '{"Im\u001fage":"a"}', /^control character .* at top level$/],
    ['invalid escape \\x', '["\\x41"]', /^invalid escape in a string/],
    ["invalid escape \\'", "[\"\\'\"]", /^invalid escape in a string/],
    ['upper-case \\U', '["\\U0041"]', /^invalid escape in a string/],
    ['short \\u escape', '["\\u12"]', /^invalid \\u escape/],
    ['non-hex \\u escape', '["\\u00g0"]', /^invalid \\u escape/],
    ['single quotes', "{'Image':'a'}", /^expected a key, found "'"/],
    ['unquoted key', '{Image:"a"}', /^expected a key, found "I"/],
    ['missing colon', '{"Image" "a"}', /^expected ":" after a key, found """/],
    ['missing comma', '{"Image":"a" "Tty":true}', /^expected "," or "}", found """/],
    ['unterminated string', '{"Image":"a', /^unterminated string at Image$/],
    ['unclosed object', '{"Image":"a"', /^expected "," or "}", found end of body/],
    ['unclosed array', '[1', /^expected "," or "\]", found end of body/],
    ['missing value', '{"Image":}', /^expected a value, found "}" at Image$/],
    ['literal typo', '[tru]', /^expected a value, found "]"/],
    ['capitalised literal', '[True]', /^expected a value, found "T"/],
    ['literal with trailing letters', '[nullx]', /^expected "," or "\]", found "x"/],
  ])('%s', (_name, body, reason, shape) => {
    const err = refusal(body, shape)
    expect(err.reason).toMatch(reason)
    expect(err.message).toBe(err.reason)
    expect(err.name).toBe('BodyError')
  })

  test.each([
    ['duplicate key points at the repeated key', '{"A":1,"a":2}', 7],
    ['invalid UTF-8 points at the bad byte', bytes('{"A":"xé', [0xff], '"}'), 9],
    ['syntax error points at the byte', '{"A":1,}', 7],
    ['escape error points at the backslash', '["ab\\q"]', 4],
    ['number error points at its start', '[1, -01]', 4],
    ['byte offsets count UTF-8 bytes, not UTF-16 units', '["😀é"x]', 9],
  ])('offset: %s', (_name, body, offset) => {
    expect(refusal(body, ANY).offset).toBe(offset)
  })
})

describe('encodeBody', () => {
  test.each<[string, JsonValue, string]>([
    ['escapes like JSON.stringify', ['"\\\n\u0001\u007f\u2028é😀'], '["\\"\\\\\\n\\u0001\u007f\u2028é😀"]'],
    ['keys as stored, in order', new JsonObject([['b', new JsonNumber('1')], ['A', true]], 'struct'), '{"b":1,"A":true}'],
    ['map keys that differ only in case', new JsonObject([['a', '1'], ['A', '2']], 'map'), '{"a":"1","A":"2"}'],
    ['number text is kept', [new JsonNumber('1.0e+10'), new JsonNumber('-0')], '[1.0e+10,-0]'],
    ['nested', new JsonObject([['X', [null, false, new JsonObject([], 'map')]]], 'struct'), '{"X":[null,false,{}]}'],
  ])('%s', (_name, value, text) => {
    expect(encodeBody(value)).toBe(text)
  })

  test.each<[string, JsonValue]>([
    ['a number that is not JSON', [new JsonNumber('1,"Privileged":true')]],
    ['NaN as a number', [new JsonNumber('NaN')]],
    ['struct keys that fold alike', new JsonObject([['Binds', []], ['binds', []]], 'struct')],
    ['non-ASCII struct key', new JsonObject([['Bindſ', []]], 'struct')],
    ['exact duplicate map key', new JsonObject([['a', '1'], ['a', '2']], 'map')],
    ['lone surrogate in a string', ['a\ud800']],
    ['lone surrogate in a map key', new JsonObject([['\udc00', '1']], 'map')],
  ])('asserts on a hand-built tree: %s', (_name, value) => {
    expect(() => encodeBody(value)).toThrow(/duplicate|not a JSON number|non-ASCII|lone surrogate/)
  })

  test.each([
    '{"\\u0050rivileged":true,"Cmd":["\\u00e9\\/"]}',
    ' { "Labels" : { "a" : "1" , "A" : "2" } , "N" : 1E3 } ',
    '["\\ud83d\\ude00\\u2028\\u0000"]',
  ])('decode∘encode is stable: %s', (body) => {
    const once = encodeBody(decode(body))
    expect(encodeBody(decode(once))).toBe(once)
    expect(decode(once)).toEqual(decode(body))
  })
})

describe('formatPath', () => {
  test.each<[string, Array<string | number>, string]>([
    ['top level', [], 'top level'],
    ['dotted fields', ['HostConfig', 'Binds'], 'HostConfig.Binds'],
    ['array index', ['HostConfig', 'Binds', 2], 'HostConfig.Binds[2]'],
    ['index at top level', [0, 'a'], '[0].a'],
    ['key with a dot is quoted', ['Labels', 'com.example'], 'Labels["com.example"]'],
    ['empty key is quoted', [''], '[""]'],
    ['keys as sent', ['hostconfig', 'BINDS'], 'hostconfig.BINDS'],
  ])('%s', (_name, path, text) => {
    expect(formatPath(path)).toBe(text)
  })
})
