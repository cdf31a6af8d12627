/**
 * Test certificates, made with the openssl CLI into a temporary directory that `remove()` deletes:
 * a CA, a server certificate for 127.0.0.1/localhost, client certificates it signed, and a second
 * ("rogue") CA with a client certificate of the same subject, which a dockgate trusting only the
 * first CA must refuse. EC P-256 keys: fast to make.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface CertPair {
  readonly cert: string
  readonly key: string
}

export interface TestCerts {
  readonly dir: string
  /** CA certificate (PEM file) that signed `server` and `clients`. */
  readonly ca: string
  readonly server: CertPair
  /** Client certificates by name, signed by `ca`. */
  readonly clients: Readonly<Record<string, CertPair>>
  /** A client certificate with subject CN=ci-runner signed by another CA. */
  readonly rogue: CertPair
  remove(): void
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

function key(dir: string, name: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir)
  return join(dir, `${name}.key`)
}

function selfSigned(dir: string, name: string, subject: string): CertPair {
  const k = key(dir, name)
  openssl(['req', '-x509', '-new', '-key', k, '-out', `${name}.pem`, '-days', '2', '-subj', subject], dir)
  return { cert: join(dir, `${name}.pem`), key: k }
}

function signed(dir: string, name: string, subject: string, ca: CertPair, ext: string): CertPair {
  const k = key(dir, name)
  openssl(['req', '-new', '-key', k, '-out', `${name}.csr`, '-subj', subject], dir)
  writeFileSync(join(dir, `${name}.ext`), ext)
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir)
  return { cert: join(dir, `${name}.pem`), key: k }
}

/** Makes the certificates; `clients` maps a name to an openssl subject like `/O=Acme/CN=ci-runner`. */
export function makeCerts(clients: Record<string, string> = { ci: '/CN=ci-runner', other: '/CN=someone-else' }): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'dockgate-tls-'))
  try {
    const ca = selfSigned(dir, 'ca', '/CN=dockgate test CA')
    const server = signed(dir, 'server', '/CN=localhost', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
    const made: Record<string, CertPair> = {}
    for (const [name, subject] of Object.entries(clients)) {
      made[name] = signed(dir, `client-${name}`, subject, ca, 'subjectAltName=DNS:client.test\nextendedKeyUsage=clientAuth\n')
    }
    const rogueCa = selfSigned(dir, 'rogue-ca', '/CN=dockgate test CA')
    const rogue = signed(dir, 'rogue', '/CN=ci-runner', rogueCa, 'extendedKeyUsage=clientAuth\n')
    return { dir, ca: ca.cert, server, clients: made, rogue, remove: () => rmSync(dir, { recursive: true, force: true }) }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
