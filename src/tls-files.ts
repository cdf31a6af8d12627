/**
 * The certificate, key and client CA of a TLS listener, read and checked once at start: a file
 * that cannot be read, is not PEM, or a key that does not belong to the certificate is a start-up
 * problem at the place that names the file, never a failure on the first connection.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import type { Problem } from './problems.js'
import { readText } from './problems.js'

/** What a TLS listener serves with; PEM text, so that the frozen config holds no Buffers. */
export interface TlsMaterial {
  /** The server certificate, and any intermediates after it. */
  readonly cert: string
  readonly key: string
  /** Client CA bundle: when set, only clients with a certificate it signed may connect (mutual TLS). */
  readonly ca?: string
  /** Subject of the server certificate, for the start-up log. */
  readonly subject: string
}

/** Lowest protocol version served: TLS 1.0 and 1.1 are deprecated (RFC 8996). */
export const TLS_MIN_VERSION = 'TLSv1.2'

/** One of the files: its path as written, the absolute path, and how to word a problem about it. */
export interface TlsFileRef {
  readonly shown: string
  readonly abs: string
  readonly problem: (message: string) => Problem
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** The certificates of a PEM file, or why there are none. */
function readCertificates(ref: TlsFileRef, what: string): { pem: string; certs: X509Certificate[] } | { error: string } {
  const read = readText(ref.abs)
  if ('error' in read) return { error: `cannot read ${what} ${JSON.stringify(ref.shown)}: ${read.error}` }
  const blocks = read.text.match(PEM_CERT) ?? []
  if (blocks.length === 0) return { error: `${JSON.stringify(ref.shown)} is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)` }
  const certs: X509Certificate[] = []
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block))
    } catch (err) {
      return { error: `${JSON.stringify(ref.shown)}: certificate ${i + 1} is not a valid PEM certificate (${(err as Error).message})` }
    }
  }
  return { pem: blocks.join('\n') + '\n', certs }
}

function readKey(ref: TlsFileRef): { pem: string; key: KeyObject } | { error: string } {
  const read = readText(ref.abs)
  if ('error' in read) return { error: `cannot read the key ${JSON.stringify(ref.shown)}: ${read.error}` }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(read.text)) {
    return { error: `${JSON.stringify(ref.shown)} is an encrypted key; dockgate reads unencrypted PEM keys (keep the file readable only by dockgate's user)` }
  }
  try {
    return { pem: read.text, key: createPrivateKey({ key: read.text, format: 'pem' }) }
  } catch (err) {
    return { error: `${JSON.stringify(ref.shown)} is not a PEM private key (${(err as Error).message})` }
  }
}

/**
 * Reads and checks a listener's TLS files. Problems: unreadable, not PEM, the key does not match
 * the certificate, OpenSSL refuses the pair. Warnings: a server certificate that has expired or is
 * not yet valid (clients will refuse it; dockgate still starts).
 */
export function loadTls(files: { cert: TlsFileRef; key: TlsFileRef; ca?: TlsFileRef | undefined }, now = new Date()): { tls?: TlsMaterial; problems: Problem[]; warnings: Problem[] } {
  const problems: Problem[] = []
  const warnings: Problem[] = []
  const cert = readCertificates(files.cert, 'the certificate')
  const key = readKey(files.key)
  const ca = files.ca === undefined ? undefined : readCertificates(files.ca, 'the client CA')
  if ('error' in cert) problems.push(files.cert.problem(cert.error))
  if ('error' in key) problems.push(files.key.problem(key.error))
  if (ca !== undefined && 'error' in ca && files.ca !== undefined) problems.push(files.ca.problem(ca.error))
  if ('error' in cert || 'error' in key || (ca !== undefined && 'error' in ca)) return { problems, warnings }
  const leaf = cert.certs[0]!
  const subject = leaf.subject.replace(/\n/g, ', ')
  if (!leaf.checkPrivateKey(key.key)) {
    problems.push(files.key.problem(`the key ${JSON.stringify(files.key.shown)} does not match the certificate ${JSON.stringify(files.cert.shown)} (${subject})`))
    return { problems, warnings }
  }
  if (now < new Date(leaf.validFrom) || now > new Date(leaf.validTo)) {
    warnings.push(files.cert.problem(`the certificate ${JSON.stringify(files.cert.shown)} is valid from ${leaf.validFrom} to ${leaf.validTo} only; clients will refuse it`))
  }
  const material: TlsMaterial = { cert: cert.pem, key: key.pem, subject, ...(ca === undefined ? {} : { ca: ca.pem }) }
  try {
    createSecureContext({ cert: material.cert, key: material.key, minVersion: TLS_MIN_VERSION, ...(material.ca === undefined ? {} : { ca: material.ca }) })
  } catch (err) {
    problems.push(files.cert.problem(`OpenSSL refuses ${JSON.stringify(files.cert.shown)} with its key: ${(err as Error).message}`))
    return { problems, warnings }
  }
  return { tls: material, problems, warnings }
}
