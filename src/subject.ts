/**
 * Certificate subjects: how a `clients:` entry's `match: { subject: "CN=ci-runner" }` is read,
 * how a client certificate's subject is shown in audit records, and when the two match.
 *
 * Matching is exact and whole (README, "Who is calling"): the entry lists every attribute of the
 * subject, and it matches a certificate whose subject has exactly those attributes with exactly
 * those values, no more and no fewer. Order does not matter (RFC 4514 writes the most specific
 * attribute first, OpenSSL the reverse; both spellings match), attribute names are
 * case-insensitive (`cn` = `CN`), values are compared byte for byte: case, spaces inside the
 * value and Unicode form all count; no wildcards. An attribute that occurs twice (two `OU`s) must
 * be listed twice. So `CN=ci-runner` does not match a certificate for `O=Acme, CN=ci-runner`:
 * copy the subject from the audit record's `client.subject`.
 *
 * Written as `NAME=value` pairs separated by commas; a backslash makes the next character plain
 * (`OU=R\,D`); spaces around a pair are ignored (escape them, `\ `, to keep them).
 */
import { didYouMean } from './problems.js'

/** Attribute → its values, in the order the subject lists them. Names are Node's short names. */
export type Subject = Readonly<Record<string, readonly string[]>>

/** Short names as Node's TLSSocket#getPeerCertificate() writes them (OpenSSL OBJ_nid2sn). */
const ATTRIBUTES = [
  'CN', 'C', 'L', 'ST', 'O', 'OU', 'street', 'DC', 'UID', 'emailAddress', 'serialNumber', 'title', 'SN', 'GN',
  'initials', 'pseudonym', 'generationQualifier', 'dnQualifier', 'postalCode', 'businessCategory', 'name', 'description',
] as const
const BY_LOWER = new Map<string, string>(ATTRIBUTES.map((a) => [a.toLowerCase(), a]))
/** Attributes OpenSSL has no short name for are written as their OID. */
const OID = /^[0-9]+(\.[0-9]+)+$/

/** One character of a `subject:` and whether a backslash made it plain. */
interface Char {
  readonly c: string
  readonly escaped: boolean
}

/** Reads the `subject:` of a clients entry; the error is a phrase for a config problem. */
export function parseSubject(text: string): { subject: Subject } | { error: string } {
  if (/^\s*\/[A-Za-z]+=/.test(text)) return { error: 'write NAME=value pairs separated by commas (CN=ci-runner,O=Acme), not the /CN=…/O=… form of openssl -subj' }
  const pairs: Array<Char[]> = [[]]
  let escaped = false
  for (const c of text) {
    if (escaped) {
      pairs[pairs.length - 1]!.push({ c, escaped: true })
      escaped = false
    } else if (c === '\\') {
      escaped = true
    } else if (c === ',') {
      pairs.push([])
    } else {
      pairs[pairs.length - 1]!.push({ c, escaped: false })
    }
  }
  if (escaped) return { error: 'ends with a lone backslash' }
  const subject = new Map<string, string[]>()
  for (const chars of pairs) {
    const r = readPair(chars)
    if ('error' in r) return r
    subject.set(r.name, [...(subject.get(r.name) ?? []), r.value])
  }
  return { subject: Object.fromEntries(subject) }
}

const isBlank = (ch: Char): boolean => !ch.escaped && (ch.c === ' ' || ch.c === '\t')

/** `NAME=value` with unescaped blanks around the name and the value dropped. */
function readPair(chars: Char[]): { name: string; value: string } | { error: string } {
  const text = chars.map((ch) => ch.c).join('').trim()
  if (text === '') return { error: 'an empty attribute (two commas in a row, or a comma at an end)' }
  const eq = chars.findIndex((ch) => !ch.escaped && ch.c === '=')
  if (eq < 0) return { error: `${JSON.stringify(text)} is not NAME=value` }
  const name = chars.slice(0, eq).map((ch) => ch.c).join('').trim()
  const canonical = BY_LOWER.get(name.toLowerCase()) ?? (OID.test(name) ? name : undefined)
  if (canonical === undefined) return { error: `unknown attribute ${JSON.stringify(name)}${didYouMean(name, ATTRIBUTES)}; use ${ATTRIBUTES.slice(0, 6).join(', ')}, … or an OID` }
  let from = eq + 1
  let to = chars.length
  while (from < to && isBlank(chars[from]!)) from++
  while (to > from && isBlank(chars[to - 1]!)) to--
  if (from === to) return { error: `${canonical} has an empty value` }
  return { name: canonical, value: chars.slice(from, to).map((ch) => ch.c).join('') }
}

/** The subject object of TLSSocket#getPeerCertificate() (values are strings, repeated attributes arrays). */
export function subjectFromCertificate(raw: unknown): Subject | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const subject: Array<[string, string[]]> = []
  for (const [name, value] of Object.entries(raw)) {
    const values: unknown[] = Array.isArray(value) ? value : [value]
    if (!values.every((v): v is string => typeof v === 'string')) return undefined
    subject.push([name, values])
  }
  return subject.length === 0 ? undefined : Object.fromEntries(subject)
}

/** `O=Acme,OU=R\,D,CN=ci-runner`: what audit records show, written so that it can be pasted into a `subject:`. */
export function formatSubject(subject: Subject): string {
  const escape = (v: string): string => v.replace(/[\\,]/g, (c) => `\\${c}`).replace(/^ | $/g, (c) => `\\${c}`)
  return Object.entries(subject).flatMap(([name, values]) => values.map((v) => `${name}=${escape(v)}`)).join(',')
}

/** True when `cert` has exactly the attributes and values of `wanted` (order-free, see the file comment). */
export function subjectMatches(wanted: Subject, cert: Subject): boolean {
  if (Object.keys(wanted).length !== Object.keys(cert).length) return false
  for (const [name, values] of Object.entries(wanted)) {
    const have = Object.hasOwn(cert, name) ? cert[name] : undefined
    if (have === undefined || have.length !== values.length) return false
    const a = [...values].sort()
    const b = [...have].sort()
    if (a.some((v, i) => v !== b[i])) return false
  }
  return true
}

/**
 * Node's `subjectaltname` string (`DNS:a, IP Address:127.0.0.1, URI:"spiffe://x,y"`) as a list.
 * Node quotes a value that holds a comma or quote as a JSON string (since the fix for
 * CVE-2021-44532), so the list is split only outside quotes.
 */
export function parseSubjectAltNames(text: string | undefined): string[] {
  if (text === undefined || text === '') return []
  const out: string[] = []
  let i = 0
  while (i < text.length) {
    const colon = text.indexOf(':', i)
    if (colon < 0) break
    const type = text.slice(i, colon)
    let value: string
    let next: number
    if (text[colon + 1] === '"') {
      let j = colon + 2
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string
      } catch {
        value = text.slice(colon + 1, j + 1)
      }
      next = text.indexOf(', ', j)
    } else {
      next = text.indexOf(', ', colon)
      value = text.slice(colon + 1, next < 0 ? undefined : next)
    }
    out.push(`${type}:${value}`)
    if (next < 0) break
    i = next + 2
  }
  return out
}
