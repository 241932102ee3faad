import { lstatSync, mkdirSync, readlinkSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import { errnoCode } from './endpoint/errors.js';

/** What stands where a directory should be; its message names the path (a code would say only "not a directory"). */
function notADirectory(p: string): Error {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) return new Error(`${p} is a symlink to ${readlinkSync(p)}, which is no directory`);
  return new Error(`${p} is not a directory`);
}

/**
 * `mkdir -p`: makes `dir` and its missing parents, one by one. Node's own recursive mkdir loops
 * forever where a file system answers ENOENT for a parent that exists (/proc, /sys).
 */
export function makeDirs(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let p = nodePath.resolve(dir); ; ) {
    try {
      if (!statSync(p).isDirectory()) throw notADirectory(p);
      break;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      missing.push(p);
      const parent = nodePath.dirname(p);
      if (parent === p) break;
      p = parent;
    }
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p, mode);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      // Made meanwhile by another run, or a symlink to nowhere, which mkdir does not follow.
      if (!statSync(p, { throwIfNoEntry: false })?.isDirectory()) throw notADirectory(p);
    }
  }
}
