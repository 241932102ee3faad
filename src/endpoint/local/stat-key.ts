import type { BigIntStats } from 'node:fs';
import type { Entry, EntryType } from '../../engine/entry.js';
import { timeMs } from './file-time.js';

export function entryType(st: BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special';
}

export function toEntry(path: string, st: BigIntStats, type: EntryType, target?: string): Entry {
  const e: Entry = {
    path,
    type,
    size: type === 'file' ? Number(st.size) : 0,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeMs: timeMs(st.mtimeNs),
    ino: Number(st.ino),
    nlink: Number(st.nlink),
  };
  if (target !== undefined) e.target = target;
  return e;
}

/** Identity of a file's content as far as stat can tell: any write moves one of these. */
export function contentKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * A file's inode with its birth time: a file made after another was removed may get the same
 * inode number at once (ext4 does), but not the same birth time, which no one can set. Where the
 * file system keeps no birth time, the inode alone.
 */
export function fileIdentity(st: BigIntStats): string {
  return `${st.ino}:${st.birthtimeNs}`;
}

/** Whether `st` is the very file that was listed (its key starts with the device and inode), not another put at its path. */
export function sameFile(listed: ListedFile, st: BigIntStats): boolean {
  return listed.key.startsWith(`${st.dev}:${st.ino}:`);
}

/** What checksumming (and reading) a listed file needs of its stat when it was listed. */
export interface ListedFile {
  key: string;
  size: number;
  ctimeNs: bigint;
}

export function listedFile(st: BigIntStats): ListedFile {
  return { key: contentKey(st), size: Number(st.size), ctimeNs: st.ctimeNs };
}
