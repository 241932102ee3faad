import { type BigIntStats, chmodSync, chownSync, statSync, utimesSync } from 'node:fs';
import type { RootAttrs } from '../../engine/entry.js';
import { fileTime, timeMs } from './file-time.js';

export function rootAttrsOf(st: BigIntStats): RootAttrs {
  return { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeMs: timeMs(st.mtimeNs) };
}

/**
 * Gives the root directory (followed if it is a symlink, as the endpoint's path is) the
 * attributes given: owner first, since chown clears set-id bits that the mode may then set. A
 * root that is not ours (a user syncing into a directory root owns and lets them write in) is
 * left as it is: only its owner may set its mode and times, and the tree inside is what counts.
 */
export function dressRoot(root: string, attrs: Partial<RootAttrs>): void {
  const st = statSync(root);
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && st.uid !== uid) return;
  if (attrs.uid !== undefined || attrs.gid !== undefined) chownSync(root, attrs.uid ?? -1, attrs.gid ?? -1);
  if (attrs.mode !== undefined) chmodSync(root, attrs.mode);
  if (attrs.mtimeMs !== undefined) utimesSync(root, st.atime, fileTime(attrs.mtimeMs));
}
