import { comparePaths } from '../engine/entry.js';
import type { LockOwner } from '../endpoint/endpoint.js';
import { errnoCode } from '../endpoint/errors.js';
import type { RemoteRun } from './remote-run.js';

export interface LockRequest {
  ownerOf(r: RemoteRun): LockOwner;
  timeoutMs: number;
  /** Runs `fn` on each remote, a bounded number at once; an error fails that remote. */
  each(remotes: Iterable<RemoteRun>, fn: (r: RemoteRun) => Promise<void>): Promise<unknown>;
  /** Told before the run waits for a lock another run holds. */
  waiting(r: RemoteRun): void;
}

/**
 * Takes the locks of a pass's remotes. Two runs that share remotes (two jobs into one tree, or
 * remotes named in another order) must not each hold one and wait for the other's: they would
 * both time out. So all are tried at once without waiting; where some are busy, those taken that
 * come after the first busy one are let go, and the rest are waited for one by one, in an order
 * every run agrees on (where the tree really is): who waits holds only locks that come before.
 * Returns the remotes locked; a remote that could not be locked has failed.
 */
export async function lockRemotes(remotes: RemoteRun[], req: LockRequest): Promise<Set<RemoteRun>> {
  const locked = new Set<RemoteRun>();
  const busy = new Set<RemoteRun>();
  await req.each(remotes, async (r) => {
    try {
      await r.endpoint.lock(req.ownerOf(r), 0);
      locked.add(r);
    } catch (err) {
      if (errnoCode(err) === 'ELOCKED') busy.add(r);
      else throw err;
    }
  });
  if (busy.size > 0) {
    const ordered = [...remotes].sort((a, b) => comparePaths(lockOrderKey(a), lockOrderKey(b)));
    const first = ordered.findIndex((r) => busy.has(r));
    const rest = ordered.slice(first).filter((r) => r.alive && (busy.has(r) || locked.has(r)));
    await req.each(
      rest.filter((r) => locked.delete(r)),
      (r) => r.endpoint.unlock(),
    );
    for (const r of rest) {
      if (!r.alive) continue;
      if (busy.has(r)) req.waiting(r);
      try {
        await r.endpoint.lock(req.ownerOf(r), req.timeoutMs);
        locked.add(r);
      } catch (err) {
        r.fail(err);
      }
    }
  }
  // A lock error names a path (the lock file), which alone would not stop the work there.
  for (const r of remotes) if (!locked.has(r)) r.failed = true;
  return locked;
}

/** Where the remote's tree is, as its host tells it; by its name where the host does not. */
function lockOrderKey(r: RemoteRun): string {
  const at = r.endpoint.location;
  return at ? `0\n${at.boot}\n${at.anchor}\n${at.rest}` : `1\n${r.label}`;
}
