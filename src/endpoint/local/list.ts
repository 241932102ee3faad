import type { Dirent } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import * as nodePath from 'node:path';
import pLimit from 'p-limit';
import { type Classifier, LOCK_FILE, isTempName } from '../../engine/classification.js';
import { type Entry, comparePaths } from '../../engine/entry.js';
import { errnoCode } from '../errors.js';
import { entryType, toEntry } from './stat-key.js';

export interface WalkResult {
  entries: Entry[];
  leftovers: string[];
}

/** A directory that could not be read: the listing is refused rather than silently short. */
export class WalkError extends Error {
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`cannot read directory`, { cause });
  }
}

/** Stat calls in flight at once: enough to keep the disk and libuv's thread pool busy. */
const STAT_CONCURRENCY = 64;

/**
 * Lists everything under `root` that the classification selects, without following symlinks.
 * A directory is listed when it is selected itself or holds selected entries; it is marked
 * `partial` when it also holds entries outside the classification. Excluded directories are not
 * descended. Sockets, FIFOs and devices are not replicated (they make their directory partial).
 */
export async function walk(root: string, classifier: Classifier): Promise<WalkResult> {
  const limit = pLimit(STAT_CONCURRENCY);
  const entries: Entry[] = [];
  const leftovers: string[] = [];

  async function visit(rel: string): Promise<{ partial: boolean; listed: number }> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(rel ? nodePath.join(root, rel) : root, { withFileTypes: true });
    } catch (err) {
      throw new WalkError(rel || '.', err);
    }
    let partial = false;
    let listed = 0;
    const subdirs: Entry[] = [];
    await Promise.all(
      dirents.map((d) =>
        limit(async () => {
          const child = rel ? `${rel}/${d.name}` : d.name;
          if (rel === '' && d.name === LOCK_FILE) return;
          if (isTempName(d.name)) {
            leftovers.push(child);
            return;
          }
          if (classifier.excluded(child)) {
            partial = true;
            return;
          }
          const abs = nodePath.join(root, child);
          let st;
          try {
            st = await lstat(abs, { bigint: true });
          } catch (err) {
            if (errnoCode(err) === 'ENOENT') return; // vanished while listed: as if never there
            throw new WalkError(child, err);
          }
          const type = entryType(st);
          if (type === undefined) {
            partial = true;
            return;
          }
          if (type === 'dir') {
            subdirs.push(toEntry(child, st, type));
            return;
          }
          if (!classifier.included(child)) {
            partial = true;
            return;
          }
          let target: string | undefined;
          if (type === 'symlink') {
            try {
              target = await readlink(abs);
            } catch (err) {
              throw new WalkError(child, err);
            }
          }
          entries.push(toEntry(child, st, type, target));
          listed++;
        }),
      ),
    );
    const results = await Promise.all(subdirs.map((s) => visit(s.path)));
    subdirs.forEach((s, i) => {
      const sub = results[i]!;
      if (sub.listed > 0 || classifier.included(s.path)) {
        if (sub.partial) s.partial = true;
        entries.push(s);
        listed += sub.listed + 1;
      } else {
        partial = true;
      }
    });
    return { partial, listed };
  }

  await visit('');
  entries.sort((a, b) => comparePaths(a.path, b.path));
  leftovers.sort(comparePaths);
  return { entries, leftovers };
}
