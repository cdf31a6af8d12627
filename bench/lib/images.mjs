/**
 * The bench's images, made without a registry (docs/testing.md, "Images without a
 * registry"): a root filesystem with the static busybox, tarred by tar(1) and sent to the import
 * endpoint (`POST /images/create?fromSrc=-`, what `docker import` calls). The big image adds
 * /big.bin of random bytes (incompressible, so no layer of the pipeline can cheat).
 */
import { spawn } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { copyFile, mkdir, open, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { api, request } from './engine.mjs'

/**
 * Small image: busybox with its applets linked into /bin. Names have no `/`, so that they sit in a
 * path (`/images/{name}/get`) without percent-encoding, which dockgate refuses for `/`.
 */
export const SMALL_IMAGE = 'dockgate-bench-busybox:latest'
/** Big image name for `mb` MiB of /big.bin. */
export const bigImageName = (mb) => `dockgate-bench-big:${mb}mb`

const APPLETS = ['sh', 'cat', 'echo', 'sleep', 'seq', 'true', 'false', 'yes', 'head', 'sha256sum', 'wc', 'ls', 'dd']
const MIB = 1024 * 1024

/** Makes the images that are missing; returns the names it created (so they can be removed later). */
export async function ensureImages(socket, { bigMb, workDir, busybox = '/bin/busybox' }) {
  const created = []
  const big = bigImageName(bigMb)
  for (const [name, extraMb] of [[SMALL_IMAGE, 0], [big, bigMb]]) {
    if ((await request(socket, 'GET', `/images/${encodeURIComponent(name)}/json`)).status === 200) continue
    const root = join(workDir, `rootfs-${extraMb}`)
    await mkdir(join(root, 'bin'), { recursive: true })
    await mkdir(join(root, 'tmp'), { recursive: true, mode: 0o1777 })
    await copyFile(busybox, join(root, 'bin', 'busybox'))
    for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a))
    await writeFile(join(root, 'README'), 'dockgate bench image\n')
    if (extraMb > 0) await writeRandom(join(root, 'big.bin'), extraMb * MIB)
    await importDir(socket, root, name)
    created.push(name)
  }
  return created
}

async function writeRandom(path, bytes) {
  const fh = await open(path, 'w')
  try {
    const chunk = Buffer.alloc(4 * MIB)
    for (let left = bytes; left > 0; left -= chunk.length) {
      randomFillSync(chunk)
      await fh.write(chunk, 0, Math.min(chunk.length, left))
    }
  } finally {
    await fh.close()
  }
}

async function importDir(socket, root, name) {
  const [repo, tag] = name.split(':')
  const q = new URLSearchParams({ fromSrc: '-', repo, tag })
  q.append('changes', 'CMD ["sh"]')
  q.append('changes', 'ENV PATH=/bin')
  const tar = spawn('tar', ['-C', root, '--owner=0', '--group=0', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const tarExit = new Promise((resolve) => tar.once('exit', resolve))
  const res = await request(socket, 'POST', `/images/create?${q}`, tar.stdout, { headers: { 'content-type': 'application/x-tar' }, timeoutMs: 300_000 })
  const code = await tarExit
  // The import answers 200 and reports failures inside its JSON progress stream.
  const failure = res.body.toString().split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).find((m) => m.error)
  if (code !== 0 || res.status !== 200 || failure) throw new Error(`import ${name}: tar exit ${code}, HTTP ${res.status} ${failure?.error ?? ''}`)
}

/** Removes images by name (best effort, used on an engine the bench did not start). */
export async function removeImages(socket, names) {
  for (const name of names) await api(socket, 'DELETE', `/images/${encodeURIComponent(name)}?force=1`, undefined, { ok: [200, 404, 409] }).catch(() => {})
}
