import { link, open, rename, unlink } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_FILE } from '../../engine/classification.js';
import type { LockOwner, LockRecord } from '../endpoint.js';
import { PathError, errnoCode } from '../errors.js';
import type { TouchedDirs } from './touched-dirs.js';
import { readLockFile, removeStaleLock } from './lock-file.js';
import { processAlive, thisProcess } from './process-alive.js';

const POLL_MS = 200;

/** A lock record of this host whose process is gone. Records of other hosts (a root shared over NFS) cannot be judged so. */
function heldByTheDead(holder: LockRecord): boolean {
  return holder.host === os.hostname() && !processAlive(holder.pid, holder.instance);
}

export function describeHolder(h: LockRecord): string {
  return `held by ${h.host} pid ${h.pid} (run ${h.runId}, job ${h.job}, block ${h.block}, since ${h.since})`;
}

/**
 * `.replisync.lock` in the root: created whole (written under a temp name, then hard-linked into
 * place, so nobody reads half a record), respected by other runs, taken over when its holder's
 * process is gone from this host, and removed at release. The root's mtime is put back each time.
 */
export class RootLock {
  private held: LockRecord | undefined;
  private readonly path: string;
  /** Changes of the lock file, one after the other: a release waits for a record being written. */
  private changes: Promise<unknown> = Promise.resolve();
  /** Set when the endpoint closes (a run stopping on a signal, say): no lock is taken after that. */
  private closed = false;

  constructor(private readonly root: string, private readonly touchedDirs: TouchedDirs) {
    this.path = nodePath.join(root, LOCK_FILE);
  }

  /**
   * Writes a record whole under a temp name, then puts it in place with `place` (link: only where
   * there is none; rename: over ours), so that nobody reads half a record.
   */
  private writeWhole(record: LockRecord, place: (tmp: string, path: string) => Promise<void>): Promise<void> {
    return this.serial(() => this.writeNow(record, place));
  }

  private serial<T>(change: () => Promise<T>): Promise<T> {
    const done = this.changes.then(change);
    this.changes = done.catch(() => undefined);
    return done;
  }

  private async writeNow(record: LockRecord, place: (tmp: string, path: string) => Promise<void>): Promise<void> {
    const tmp = nodePath.join(this.root, `.replisync-${record.runId.slice(0, 8).padEnd(8, '0')}-lock.tmp`);
    this.touchedDirs.note('');
    try {
      const file = await open(tmp, 'w', 0o644);
      try {
        await file.writeFile(`${JSON.stringify(record)}\n`);
        // On disk before its name is: a machine that crashes holding the lock leaves a record
        // the next run can read (and find stale), not an empty file it must respect.
        if (place === link) await file.sync();
      } finally {
        await file.close();
      }
      await place(tmp, this.path);
    } finally {
      await unlink(tmp).catch(() => undefined);
      this.touchedDirs.restore();
    }
  }

  /** Whether a lock is there whose holder was a process of this host that is gone (a killed run): the next run that writes takes it over. */
  async isStale(): Promise<boolean> {
    const found = await readLockFile<LockRecord>(this.path).catch(() => undefined);
    return found !== undefined && 'record' in found && heldByTheDead(found.record);
  }

  private async read(): Promise<LockRecord | undefined> {
    const found = await readLockFile<LockRecord>(this.path);
    return found && 'record' in found ? found.record : undefined;
  }

  private async tryCreate(record: LockRecord): Promise<boolean> {
    try {
      await this.writeWhole(record, link);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw err;
    }
  }

  async acquire(owner: LockOwner, timeoutMs: number): Promise<void> {
    if (this.held) {
      if (this.held.block !== owner.block) await this.relabel({ ...this.held, block: owner.block });
      return;
    }
    const record: LockRecord = { host: os.hostname(), ...thisProcess(), ...owner, since: new Date().toISOString() };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.closed) throw new PathError('closed: the run is stopping', '', LOCK_FILE, 'ECLOSED');
      if (await this.tryCreate(record)) {
        this.held = record;
        return;
      }
      // Ours are written whole, so a file that holds no record was put there by someone else (an
      // operator holding runs off by hand, say): it is respected, never taken over, and named as it is.
      const found = await readLockFile<LockRecord>(this.path);
      const holder = found && 'record' in found ? found.record : undefined;
      if (holder && heldByTheDead(holder)) {
        await this.removeStale((found as { ino: number }).ino, record.runId); // its process is gone
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder
          ? describeHolder(holder)
          : found && 'problem' in found
            ? `the lock file is there but ${found.problem}: if no run is at work on this directory, remove it`
            : 'held by another run';
        throw new PathError(`lock not obtained within ${Math.round(timeoutMs / 1000)}s: ${who}`, '', LOCK_FILE, 'ELOCKED');
      }
      await sleep(POLL_MS);
    }
  }

  /** Names another block in the record we hold (readers see the old record or the new one). */
  private async relabel(record: LockRecord): Promise<void> {
    await this.writeWhole(record, rename);
    this.held = record;
  }

  private removeFile(): Promise<void> {
    return this.serial(() => this.removeNow());
  }

  /** Removes a stale lock, the one found (inode `ino`) and no other; the root's mtime is put back. */
  private removeStale(ino: number, runId: string): Promise<void> {
    return this.serial(async () => {
      this.touchedDirs.note('');
      try {
        await removeStaleLock(this.path, ino, nodePath.join(this.root, `.replisync-${runId.slice(0, 8).padEnd(8, '0')}-stale.tmp`));
      } finally {
        this.touchedDirs.restore();
      }
    });
  }

  private async removeNow(): Promise<void> {
    this.touchedDirs.note('');
    try {
      await unlink(this.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    } finally {
      this.touchedDirs.restore();
    }
  }

  /** Releases the lock for good: what is being written of it is waited for, and none is taken after. */
  async close(): Promise<void> {
    this.closed = true;
    await this.changes;
    // An acquire under way may have placed its record without having noted it as held yet.
    const current = await this.read().catch(() => undefined);
    this.held = undefined;
    if (current && current.host === os.hostname() && current.pid === process.pid) await this.removeFile();
  }

  /** Whether the lock was held (and so the run had the root to itself until now). */
  async release(): Promise<boolean> {
    if (!this.held) return false;
    const mine = this.held;
    this.held = undefined;
    const current = await this.read().catch(() => undefined);
    if (current && current.runId === mine.runId && current.pid === mine.pid) await this.removeFile();
    return true;
  }
}
