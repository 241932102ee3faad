import { chmodSync, closeSync, constants, fchmodSync, fstatSync, openSync } from 'node:fs';
import { errnoCode } from '../errors.js';

/** Never through a symlink at the path itself, never waiting on a FIFO. */
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const isRoot = process.getuid?.() === 0;

/**
 * chmod that never follows a symlink. chmod(2) follows one and Linux has no lchmod, so between a
 * look at a path and the chmod of it, another process that may write in its directory could put a
 * symlink there, and a run as root would change the mode of the target (/etc/shadow, say). So the
 * entry is opened without following it (a symlink: ELOOP), checked to be the kind expected (and,
 * given `ino`, the very entry expected), and changed through its descriptor. One the user may not
 * open (their own file without read permission) is changed by path: a run as a user can only be
 * led to that user's own files, and root can open anything.
 */
export function chmodNoFollow(abs: string, mode: number, kind: 'file' | 'dir', ino?: number): void {
  let fd: number;
  try {
    fd = openSync(abs, FLAGS);
  } catch (err) {
    if (errnoCode(err) !== 'EACCES' || isRoot) throw err;
    chmodSync(abs, mode);
    return;
  }
  try {
    const st = fstatSync(fd);
    const kindOk = kind === 'dir' ? st.isDirectory() : st.isFile();
    if (!kindOk || (ino !== undefined && st.ino !== ino)) {
      throw Object.assign(new Error(`not the ${kind === 'dir' ? 'directory' : 'file'} expected: replaced since it was looked at`), { code: 'ELOOP' });
    }
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}
