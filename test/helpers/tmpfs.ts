import { spawnSync } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'

/**
 * Mounts a tmpfs of `size` (e.g. "8m") at a new temp dir, for tests of a really full disk; or says
 * why it cannot (it needs Linux and root with CAP_SYS_ADMIN), for the test's skip message.
 * `unmount()` removes the mount and the dir.
 */
export function mountTmpfs(size: string): { dir: string; unmount: () => void } | { why: string } {
  if (process.platform !== 'linux') return { why: 'tmpfs mounts need Linux' }
  const dir = spawnSync('mktemp', ['-d', path.join(os.tmpdir(), 'game-tmpfs-XXXXXX')], {
    encoding: 'utf8',
  }).stdout.trim()
  if (!dir) return { why: 'mktemp failed' }
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' })
  if (r.status !== 0) {
    spawnSync('rmdir', [dir])
    return {
      why: `mount -t tmpfs failed (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}): needs root with CAP_SYS_ADMIN`,
    }
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', ['-l', dir])
      spawnSync('rmdir', [dir])
    },
  }
}
