import { type BigIntStats, type Dirent, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { type Classifier, LOCK_FILE, isTempName } from '../../engine/classification.js';
import { type Entry, childOf, comparePaths } from '../../engine/entry.js';
import { errnoCode, movedAway } from '../errors.js';
import { garbled, undecodableNames } from './bad-names.js';
import { type ListedFile, entryType, listedFile, toEntry } from './stat-key.js';
import { underRoot } from './safe-path.js';
import { Breather, breathe } from './yield.js';

export interface WalkResult {
  entries: Entry[];
  leftovers: string[];
  /** Paths within the classification whose names are not valid UTF-8, shown with \xHH: neither listed nor descended. */
  badNames: string[];
  /** Every listed regular file's stat, as checksums need it, so that they need no other call. */
  files: Map<string, ListedFile>;
  /** The root holds a lock file (never listed). */
  lockFound: boolean;
}

/** A directory that could not be read: the listing is refused rather than silently short. */
export class WalkError extends Error {
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`cannot read directory`, { cause });
  }
}

/**
 * Lists everything under `root` (absolute, normalised) that the classification selects, without following symlinks.
 * A directory is listed when it is selected itself or holds selected entries; it is marked
 * `partial` when it also holds entries outside the classification. Excluded directories are not
 * descended. Sockets, FIFOs and devices are listed as `special`.
 */
export async function walk(root: string, classifier: Classifier): Promise<WalkResult> {
  const entries: Entry[] = [];
  const leftovers: string[] = [];
  const badNames: string[] = [];
  const files = new Map<string, ListedFile>();
  const breather = new Breather();
  let lockFound = false;

  /** `ino`: the directory's inode as its parent's listing found it (none for the root). */
  async function visit(rel: string, ino?: number): Promise<{ partial: boolean; listed: number; gone?: true }> {
    const gone = { partial: false, listed: 0, gone: true } as const;
    let dirents: Dirent[];
    try {
      dirents = readdirSync(underRoot(root, rel), { withFileTypes: true });
    } catch (err) {
      // Removed (or replaced) since its parent was read: as if never there. Not so the root.
      if (ino !== undefined && movedAway(errnoCode(err))) return gone;
      throw new WalkError(rel || '.', err);
    }
    // readdir follows a symlink: one put in the directory's place since its lstat led it to
    // another directory, whose entries are not this tree's.
    if (ino !== undefined) {
      const now = lstatSync(underRoot(root, rel), { throwIfNoEntry: false });
      if (!now?.isDirectory() || now.ino !== ino) return gone;
    }
    let partial = false;
    let listed = 0;
    const subdirs: Entry[] = [];
    const undecodable = garbled(dirents) ? undecodableNames(underRoot(root, rel)) : undefined;
    for (const d of dirents) {
      if (breather.tick()) await breathe();
      const child = childOf(rel, d.name);
      if (rel === '' && d.name === LOCK_FILE) {
        lockFound = true;
        continue;
      }
      const shown = undecodable?.get(d.name);
      if (shown !== undefined) {
        // Holds what cannot be listed: never emptied nor removed as if it were all listed.
        partial = true;
        if (!classifier.excluded(child, d.isDirectory()) && (d.isDirectory() || classifier.included(child, false))) badNames.push(childOf(rel, shown));
        continue;
      }
      if (isTempName(d.name)) {
        leftovers.push(child);
        continue;
      }
      if (classifier.excluded(child, d.isDirectory())) {
        partial = true;
        continue;
      }
      const abs = underRoot(root, child);
      let st: BigIntStats;
      try {
        st = lstatSync(abs, { bigint: true });
      } catch (err) {
        if (movedAway(errnoCode(err))) continue; // vanished while listed (or its directory did): as if never there
        throw new WalkError(child, err);
      }
      const type = entryType(st);
      if (type === 'dir') {
        subdirs.push(toEntry(child, st, type));
        continue;
      }
      if (!classifier.included(child, false)) {
        partial = true;
        continue;
      }
      let target: string | undefined;
      if (type === 'symlink') {
        try {
          target = readlinkSync(abs);
        } catch (err) {
          throw new WalkError(child, err);
        }
      } else if (type === 'file') files.set(child, listedFile(st));
      entries.push(toEntry(child, st, type, target));
      listed++;
    }
    for (const s of subdirs) {
      const sub = await visit(s.path, s.ino);
      if (sub.gone) continue;
      if (sub.listed > 0 || classifier.included(s.path, true)) {
        if (sub.partial) s.partial = true;
        entries.push(s);
        listed += sub.listed + 1;
      } else {
        partial = true;
      }
    }
    return { partial, listed };
  }

  await visit('');
  entries.sort((a, b) => comparePaths(a.path, b.path));
  leftovers.sort(comparePaths);
  return { entries, leftovers, badNames, files, lockFound };
}
