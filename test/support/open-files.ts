import { readdirSync, readlinkSync, realpathSync } from 'node:fs';

/**
 * Files under `dir` this process holds open, as their descriptors' targets (Linux: /proc/self/fd; a
 * file without a name shows as `<dir>/#<inode> (deleted)` or `<dir>/<name> (deleted)`).
 */
export function openFilesUnder(dir: string): Array<{ fd: string; target: string }> {
  // Descriptors name files by their real path: a directory reached through a symlink (TMPDIR) is resolved first.
  const real = realpathSync(dir);
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return { fd, target: readlinkSync(`/proc/self/fd/${fd}`) };
      } catch {
        return { fd, target: '' }; // closed meanwhile (the directory listing's own descriptor)
      }
    })
    .filter((open) => open.target.startsWith(`${real}/`));
}
