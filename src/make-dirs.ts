import { mkdirSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import { errnoCode } from './endpoint/errors.js';

/**
 * `mkdir -p`: makes `dir` and its missing parents, one by one. Node's own recursive mkdir loops
 * forever where a file system answers ENOENT for a parent that exists (/proc, /sys).
 */
export function makeDirs(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let p = nodePath.resolve(dir); ; ) {
    try {
      if (!statSync(p).isDirectory()) throw Object.assign(new Error(`not a directory: ${p}`), { code: 'ENOTDIR', path: p });
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
    }
  }
}
