import type { Entry } from './entry.js';

export type Op = 'copy' | 'delete' | 'mkdir' | 'rmdir' | 'chmod' | 'chown' | 'touch' | 'symlink' | 'hardlink';
/** `links`: the remote file shares its inode with a path it must not (hard-link grouping differs). */
export type CopyReason = 'missing' | 'size' | 'checksum' | 'type' | 'links';

/**
 * One step of a plan. `master` is the state to reach (absent for removals), `remote` what the
 * remote had when it was listed: the executor refuses to act when the path changed since.
 */
export interface Action {
  op: Op;
  path: string;
  reason?: CopyReason;
  master?: Entry;
  remote?: Entry;
  /** hardlink: the path (already in place on the remote) this one becomes another name of. */
  linkTo?: string;
}

/**
 * The counts of the contract's example: `copied` the copies (the transfers `bytes` adds up),
 * `deleted` the deletes (directories removed are not counted, nor those made), `attributes` the
 * fixes of what --attrs names: mode (chmod), owner and group (chown), mtime (touch), links (hardlink).
 */
export interface PlanSummary {
  copied: number;
  bytes: number;
  deleted: number;
  attributes: number;
}

export function summarize(actions: readonly Action[]): PlanSummary {
  const s: PlanSummary = { copied: 0, bytes: 0, deleted: 0, attributes: 0 };
  for (const a of actions) {
    if (a.op === 'copy') {
      s.copied++;
      s.bytes += a.master?.size ?? 0;
    } else if (a.op === 'delete') s.deleted++;
    else if (a.op === 'chmod' || a.op === 'chown' || a.op === 'touch' || a.op === 'hardlink') s.attributes++;
  }
  return s;
}

export function countDeletions(actions: readonly Action[]): number {
  return actions.filter((a) => a.op === 'delete' || a.op === 'rmdir').length;
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

export function formatOwner(e: Entry): string {
  return `${e.uid}:${e.gid}`;
}
