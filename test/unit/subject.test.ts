/**
 * Certificate subjects (src/subject.ts): how `match: { subject }` is read, when it matches a
 * client certificate (whole subject, exact values, any order), and how audit records write it.
 */
import { describe, expect, test } from 'vitest'
import { formatSubject, parseSubject, parseSubjectAltNames, subjectMatches, type Subject } from '../../src/subject.js'

function subject(text: string): Subject {
  const r = parseSubject(text)
  if ('error' in r) throw new Error(r.error)
  return r.subject
}

describe('parseSubject', () => {
  test.each<[string, string, Record<string, string[]>]>([
    ['one attribute', 'CN=ci-runner', { CN: ['ci-runner'] }],
    ['names are case-insensitive, written as Node writes them', 'cn=ci-runner,o=Acme,emailaddress=a@b.c', { CN: ['ci-runner'], O: ['Acme'], emailAddress: ['a@b.c'] }],
    ['spaces around pairs are dropped', ' CN = ci runner ,  O=Acme ', { CN: ['ci runner'], O: ['Acme'] }],
    ['a repeated attribute keeps every value', 'OU=ops,OU=dev,CN=x', { OU: ['ops', 'dev'], CN: ['x'] }],
    ['an escaped comma is part of the value', 'OU=R\\,D,CN=x', { OU: ['R,D'], CN: ['x'] }],
    ['escaped spaces at the ends are kept', 'CN=\\ x\\ ', { CN: [' x '] }],
    ['= inside a value', 'CN=a=b', { CN: ['a=b'] }],
    ['an OID for attributes without a short name', '2.5.4.97=VATDE-123', { '2.5.4.97': ['VATDE-123'] }],
    ['an escaped backslash', 'CN=a\\\\b', { CN: ['a\\b'] }],
  ])('%s: %s', (_name, text, expected) => {
    expect(subject(text)).toEqual(expected)
  })

  test.each<[string, string, string]>([
    ['not NAME=value', 'ci-runner', '"ci-runner" is not NAME=value'],
    ['an unknown attribute, with a suggestion', 'CM=ci-runner', 'unknown attribute "CM" (did you mean C or CN?); use CN, C, L, ST, O, OU, … or an OID'],
    ['an RFC 2253 long name is not a short name', 'commonName=x', 'unknown attribute "commonName"; use CN, C, L, ST, O, OU, … or an OID'],
    ['an empty value', 'CN=', 'CN has an empty value'],
    ['an empty value of blanks', 'CN=  ', 'CN has an empty value'],
    ['two commas', 'CN=a,,O=b', 'an empty attribute (two commas in a row, or a comma at an end)'],
    ['a trailing comma', 'CN=a,', 'an empty attribute (two commas in a row, or a comma at an end)'],
    ['a lone backslash at the end', 'CN=a\\', 'ends with a lone backslash'],
    ['OpenSSL slash form is not read', '/CN=ci-runner/O=Acme', 'write NAME=value pairs separated by commas (CN=ci-runner,O=Acme), not the /CN=…/O=… form of openssl -subj'],
  ])('refused: %s (%s)', (_name, text, error) => {
    expect(parseSubject(text)).toEqual({ error })
  })
})

describe('subjectMatches: the whole subject, exact values, any order', () => {
  const cert = (o: Record<string, string[]>): Subject => o
  test.each<[string, string, Record<string, string[]>, boolean]>([
    ['the same single attribute', 'CN=ci-runner', { CN: ['ci-runner'] }, true],
    ['RFC 4514 order (most specific first)', 'CN=ci-runner,O=Acme', { O: ['Acme'], CN: ['ci-runner'] }, true],
    ['OpenSSL order', 'O=Acme,CN=ci-runner', { O: ['Acme'], CN: ['ci-runner'] }, true],
    ['repeated attribute, values in another order', 'OU=b,OU=a,CN=x', { OU: ['a', 'b'], CN: ['x'] }, true],
    ['near miss: the certificate has one more attribute', 'CN=ci-runner', { O: ['Acme'], CN: ['ci-runner'] }, false],
    ['near miss: the entry has one more attribute', 'CN=ci-runner,O=Acme', { CN: ['ci-runner'] }, false],
    ['near miss: value case differs', 'CN=CI-Runner', { CN: ['ci-runner'] }, false],
    ['near miss: a prefix of the value', 'CN=ci', { CN: ['ci-runner'] }, false],
    ['near miss: value with a trailing space', 'CN=ci-runner\\ ', { CN: ['ci-runner'] }, false],
    ['near miss: one OU of two', 'OU=a,CN=x', { OU: ['a', 'b'], CN: ['x'] }, false],
    ['near miss: the same OU twice against two different', 'OU=a,OU=a,CN=x', { OU: ['a', 'b'], CN: ['x'] }, false],
    ['near miss: same value under another attribute', 'O=ci-runner', { CN: ['ci-runner'] }, false],
    ['near miss: glob characters are plain', 'CN=ci-*', { CN: ['ci-runner'] }, false],
    ['glob characters match themselves', 'CN=ci-*', { CN: ['ci-*'] }, true],
  ])('%s', (_name, wanted, have, expected) => {
    expect(subjectMatches(subject(wanted), cert(have))).toBe(expected)
  })
})

describe('formatSubject writes what a subject: entry would say', () => {
  test.each<[string, Record<string, string[]>, string]>([
    ['one attribute', { CN: ['ci-runner'] }, 'CN=ci-runner'],
    ['certificate order, repeated attributes together', { O: ['Acme'], OU: ['a', 'b'], CN: ['x'] }, 'O=Acme,OU=a,OU=b,CN=x'],
    ['commas and backslashes escaped', { OU: ['R,D'], CN: ['a\\b'] }, 'OU=R\\,D,CN=a\\\\b'],
    ['spaces at the ends escaped', { CN: [' x '] }, 'CN=\\ x\\ '],
  ])('%s', (_name, s, text) => {
    expect(formatSubject(s)).toBe(text)
    expect(subjectMatches(subject(text), s)).toBe(true)
  })
})

describe('parseSubjectAltNames', () => {
  test.each<[string, string | undefined, string[]]>([
    ['none', undefined, []],
    ['empty', '', []],
    ['Node\'s list', 'DNS:ci.example, IP Address:127.0.0.1, email:a@b.c, URI:spiffe://x/y', ['DNS:ci.example', 'IP Address:127.0.0.1', 'email:a@b.c', 'URI:spiffe://x/y']],
    ['a quoted value with a comma is one name', 'DNS:a, URI:"spiffe://x, y", DNS:b', ['DNS:a', 'URI:spiffe://x, y', 'DNS:b']],
  ])('%s', (_name, text, expected) => {
    expect(parseSubjectAltNames(text)).toEqual(expected)
  })
})
