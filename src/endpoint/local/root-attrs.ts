import { type BigIntStats, chmodSync, chownSync, statSync, utimesSync } from 'node:fs';
import type { RootAttrs } from '../../engine/entry.js';
import { utimesArg } from './file-time.js';
import { wholeMs } from './stat-key.js';

export function rootAttrsOf(st: BigIntStats): RootAttrs {
  return { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeMs: wholeMs(st.mtimeNs) };
}

/**
 * Gives the root directory (followed if it is a symlink, as the endpoint's path is) the
 * attributes given: owner first, since chown clears set-id bits that the mode may then set.
 */
export function dressRoot(root: string, attrs: Partial<RootAttrs>): void {
  if (attrs.uid !== undefined || attrs.gid !== undefined) chownSync(root, attrs.uid ?? -1, attrs.gid ?? -1);
  if (attrs.mode !== undefined) chmodSync(root, attrs.mode);
  if (attrs.mtimeMs !== undefined) utimesSync(root, statSync(root).atime, utimesArg(attrs.mtimeMs / 1000));
}
