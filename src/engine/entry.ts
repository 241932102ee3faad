/** What one host says about one path of its tree. Plain data: it crosses the agent protocol as JSON. */
/**
 * `special`: a FIFO, socket or device. Listed so that a remote one can be deleted or replaced;
 * a master one is not replicated (node cannot make one), and its path is left alone on remotes.
 */
export type EntryType = 'file' | 'dir' | 'symlink' | 'special';

export interface Entry {
  /** Relative to the endpoint root, '/'-separated, never empty, never with '.' or '..' parts. */
  path: string;
  type: EntryType;
  /** Bytes for regular files; 0 for everything else. */
  size: number;
  /** Permission bits only (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Milliseconds with the microseconds as a fraction: what a replica can be given (see sameMtime). */
  mtimeMs: number;
  /** Inode number and link count, for hard-link grouping within one host. */
  ino: number;
  nlink: number;
  /** Symlink target, exactly as stored (never followed). */
  target?: string;
  /** Directory that holds entries outside the classification: it is never removed. */
  partial?: boolean;
  /** CRC-32 of a regular file, when the host's checksum cache holds one still valid for its current stat. */
  crc?: number;
}

/** The root directory's own attributes: never an entry, but a remote root takes the master's (see Endpoint.unlock). */
export interface RootAttrs {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

export interface Listing {
  /** False when the root directory does not exist (only allowed for remotes: it is created). */
  exists: boolean;
  /** Set when the root exists. */
  root?: RootAttrs;
  /** Sorted by path (code-unit order), parents before children. */
  entries: Entry[];
  /** Temp files of interrupted runs, relative paths; removed by the next run that writes. */
  leftovers: string[];
  /** Whether this endpoint may set owner and group (it runs as root). */
  canChown: boolean;
  /** The step (ms) in which this endpoint's file system keeps mtimes, where coarser than 1 ms (see sameMtime). */
  mtimeStepMs?: number;
  /** The root holds the lock of a run of this host that was killed: the next sync takes it over and removes it. */
  staleLock?: boolean;
  /** Paths whose names are not valid UTF-8 (bad bytes shown as \xHH): not listed, so neither replicated nor deleted. */
  badNames?: string[];
}

/** Whether a killed run left anything in the tree that the next sync removes: temp files, or its lock. */
export function holdsLeftovers(listing: Listing): boolean {
  return listing.leftovers.length > 0 || listing.staleLock === true;
}

export type AttrName = 'mode' | 'mtime' | 'owner' | 'group' | 'links';
export const ALL_ATTRS: readonly AttrName[] = ['mode', 'mtime', 'owner', 'group', 'links'];


/**
 * mtimes are compared to the millisecond (a replica is set to the microsecond where its file
 * system can hold that), or in the coarser steps the remote's file system keeps them in (whole
 * seconds on ext3, two on FAT): there a replica holds the master's mtime rounded down to the step,
 * and compared more finely it would be touched again on every run, never matching. Times at most
 * `windowMs` apart are the same too (--modify-window, as rsync's).
 */
export function sameMtime(master: Entry, remote: Entry, stepMs = 1, windowMs = 0): boolean {
  return Math.floor(master.mtimeMs / stepMs) === Math.floor(remote.mtimeMs / stepMs) || Math.abs(master.mtimeMs - remote.mtimeMs) <= windowMs;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** `name` inside the relative directory `dir` ('' is the root). */
export function childOf(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

export function depthOf(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}

export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
