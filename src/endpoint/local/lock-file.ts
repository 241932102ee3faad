import { constants } from 'node:fs';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

/** What a lock file holds, as read: a record, or what is wrong with it (`ino` where the file could be opened); undefined: no file. */
export type LockFileFound<R> = { record: R; ino: number } | { problem: string; ino?: number } | undefined;

/**
 * Reads a lock file (the remote's `.replisync.lock`, or a job lock): a record names its holder's
 * host and pid. The inode read with it lets a stale one be removed without removing another.
 */
export async function readLockFile<R extends { host: string; pid: number }>(path: string): Promise<LockFileFound<R>> {
  let handle;
  try {
    // Non-blocking: a FIFO put there must not hold the run.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    return { problem: `it cannot be read (${errnoCode(err) ?? (err as Error).message})` };
  }
  try {
    const stat = await handle.stat();
    // Not to be moved aside, nor removed.
    if (!stat.isFile()) return { problem: stat.isDirectory() ? 'it is a directory' : 'it is no regular file' };
    const ino = stat.ino;
    let text: string;
    try {
      text = await handle.readFile('utf8');
    } catch (err) {
      return { problem: `it cannot be read (${errnoCode(err) ?? (err as Error).message})`, ino };
    }
    try {
      const record = JSON.parse(text) as Partial<R> | null;
      if (typeof record?.host === 'string' && typeof record.pid === 'number') return { record: record as R, ino };
    } catch {
      // said below
    }
    return { problem: text.trim() === '' ? 'it is empty' : 'it holds no lock record of replisync', ino };
  } finally {
    await handle.close();
  }
}

/**
 * Removes the lock file at `path` if it is still the one found stale (inode `ino`). Two runs may
 * find one stale lock at once: the second must not remove the lock the first has just taken in
 * its place. So it is moved aside (to `aside`, a name of the same directory) and looked at; one
 * that is not the stale file goes back.
 */
export async function removeStaleLock(path: string, ino: number, aside: string): Promise<void> {
  try {
    await rename(path, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return; // removed by another run already
    throw err;
  }
  try {
    // Put back; should yet another run have taken the place meanwhile, it holds the lock now.
    if ((await lstat(aside)).ino !== ino) await link(aside, path).catch(() => undefined);
  } finally {
    await unlink(aside);
  }
}
