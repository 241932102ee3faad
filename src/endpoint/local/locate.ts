import { type Stats, readFileSync, realpathSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import type { Location } from '../location.js';

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

function statOrNone(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

const idOf = (st: Stats): string => `${st.dev}:${st.ino}`;

/** Where `root` is on this machine; undefined where the kernel has no boot id (not Linux) or the path cannot be placed. */
export function locate(root: string): Location | undefined {
  let boot: string;
  try {
    boot = readFileSync(BOOT_ID, 'utf8').trim();
  } catch {
    return undefined;
  }
  let dir = nodePath.resolve(root);
  const rest: string[] = [];
  let st = statOrNone(dir);
  while (!st) {
    const parent = nodePath.dirname(dir);
    if (parent === dir) return undefined;
    rest.unshift(nodePath.basename(dir));
    dir = parent;
    st = statOrNone(dir);
  }
  if (!st.isDirectory()) return undefined;
  const above: string[] = [];
  try {
    for (let real = realpathSync.native(dir); real !== '/'; ) {
      real = nodePath.dirname(real);
      above.push(idOf(statSync(real)));
    }
  } catch {
    return undefined;
  }
  return { boot, anchor: idOf(st), rest: rest.join('/'), above };
}
