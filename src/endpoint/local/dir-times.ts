import { lstatSync, lutimesSync } from 'node:fs';
import { depthOf } from '../../engine/entry.js';
import { underRoot } from './safe-path.js';

/**
 * Directories whose mtime a change is about to move (by creating, renaming or removing an entry in
 * them). Their mtime is put back afterwards: to the master's when the plan says so, else to what
 * it was, so that a run leaves no trace on directories it only passed through.
 */
export class DirTimes {
  private readonly saved = new Map<string, { atime: number; mtime: number }>();
  private readonly wanted = new Map<string, number>();

  constructor(private readonly root: string) {}

  private abs(rel: string): string {
    return underRoot(this.root, rel);
  }

  /** Call before changing an entry of directory `rel` ('' is the root). */
  note(rel: string): void {
    if (this.saved.has(rel)) return;
    try {
      const st = lstatSync(this.abs(rel), { bigint: true, throwIfNoEntry: false });
      // Seconds as a double: the closest to the nanosecond value that node's utimes can set.
      if (st?.isDirectory()) this.saved.set(rel, { atime: Number(st.atimeNs) / 1e9, mtime: Number(st.mtimeNs) / 1e9 });
    } catch {
      // Not there yet (it will be created and its time set from the plan) or gone.
    }
  }

  /** The master's mtime for a directory this commit creates or touches. */
  want(rel: string, mtimeMs: number): void {
    this.wanted.set(rel, mtimeMs);
  }

  /** Sets every noted or wanted directory's mtime, deepest first, the root last. */
  restore(): void {
    const dirs = [...new Set([...this.saved.keys(), ...this.wanted.keys()])];
    dirs.sort((a, b) => (a === '' ? 1 : b === '' ? -1 : depthOf(b) - depthOf(a)));
    for (const rel of dirs) {
      const ms = this.wanted.get(rel);
      const prev = this.saved.get(rel);
      try {
        if (ms !== undefined) lutimesSync(this.abs(rel), prev?.atime ?? Date.now() / 1000, ms / 1000);
        else if (prev) lutimesSync(this.abs(rel), prev.atime, prev.mtime);
      } catch {
        // Removed by this commit: nothing to restore.
      }
    }
    this.saved.clear();
    this.wanted.clear();
  }
}
