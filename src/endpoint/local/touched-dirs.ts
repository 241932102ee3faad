import { lstatSync, lutimesSync } from 'node:fs';
import { depthOf } from '../../engine/entry.js';
import { fileTime, timeMs } from './file-time.js';
import { chmodNoFollow } from './no-follow.js';
import { ParentGuard, underRoot } from './safe-path.js';

/** Write and search for the owner: what creating, renaming or removing an entry in a directory takes. */
const OWNER_WX = 0o300;

/**
 * Directories whose entries a change is about to create, rename or remove. Afterwards each one's
 * mtime is put back (to the master's when the plan says so, else to what it was), so that a run
 * leaves no trace on directories it only passed through. A directory of ours without write
 * permission for us (a read-only tree replicated by its owner) is lent u+wx meanwhile, as rsync
 * does, and gets its mode back with its mtime. Root needs no such loan.
 */
export class TouchedDirs {
  private readonly saved = new Map<string, { atime: number; mtime: number }>();
  private readonly wanted = new Map<string, number>();
  /** Directories lent u+wx, and the mode each gets back. */
  private readonly lent = new Map<string, number>();
  private readonly uid = process.getuid?.();

  constructor(private readonly root: string) {}

  private abs(rel: string): string {
    return underRoot(this.root, rel);
  }

  /** Call before changing an entry of directory `rel` ('' is the root). */
  note(rel: string): void {
    if (this.saved.has(rel)) return;
    try {
      const st = lstatSync(this.abs(rel), { bigint: true, throwIfNoEntry: false });
      if (!st?.isDirectory()) return;
      this.saved.set(rel, { atime: timeMs(st.atimeNs), mtime: timeMs(st.mtimeNs) });
      const mode = Number(st.mode) & 0o7777;
      if (this.uid !== 0 && Number(st.uid) === this.uid && (mode & OWNER_WX) !== OWNER_WX) {
        chmodNoFollow(this.abs(rel), mode | OWNER_WX, 'dir');
        this.lent.set(rel, mode);
      }
    } catch {
      // Not there yet (it will be created and its time set from the plan) or gone.
    }
  }

  /** The master's mtime for a directory this commit creates or touches. */
  want(rel: string, mtimeMs: number): void {
    this.wanted.set(rel, mtimeMs);
  }

  /**
   * Gives directory `rel` its mode. One without u+wx would lock this change out of it: the
   * directory is lent u+wx until restore, which sets the mode (and undoes an earlier loan).
   */
  setMode(rel: string, mode: number): void {
    const usable = (mode & OWNER_WX) === OWNER_WX;
    chmodNoFollow(this.abs(rel), usable ? mode : mode | OWNER_WX, 'dir');
    if (usable) this.lent.delete(rel);
    else this.lent.set(rel, mode);
  }

  /** Sets every noted or wanted directory's mtime and gives back lent modes, deepest first, the root last. */
  restore(): void {
    const dirs = [...new Set([...this.saved.keys(), ...this.wanted.keys(), ...this.lent.keys()])];
    dirs.sort((a, b) => (a === '' ? 1 : b === '' ? -1 : depthOf(b) - depthOf(a)));
    // A parent replaced by a symlink (to '.', say) would lead the path to another directory.
    const parents = new ParentGuard(this.root);
    for (const rel of dirs) {
      const ms = this.wanted.get(rel);
      const prev = this.saved.get(rel);
      const mode = this.lent.get(rel);
      try {
        // Removed by this commit, or replaced (it or a parent) by a symlink or a file, whose own
        // times the commit set and which chmod would follow: nothing of the directory's to restore.
        parents.check(rel);
        if (!lstatSync(this.abs(rel), { throwIfNoEntry: false })?.isDirectory()) continue;
        if (ms !== undefined) lutimesSync(this.abs(rel), fileTime(prev?.atime ?? Date.now()), fileTime(ms));
        else if (prev) lutimesSync(this.abs(rel), fileTime(prev.atime), fileTime(prev.mtime));
        if (mode !== undefined) chmodNoFollow(this.abs(rel), mode, 'dir');
      } catch {
        // Gone meanwhile: nothing to restore.
      }
    }
    this.saved.clear();
    this.wanted.clear();
    this.lent.clear();
  }
}
