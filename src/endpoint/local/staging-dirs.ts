import { lstatSync, mkdirSync } from 'node:fs';
import { depthOf, parentOf } from '../../engine/entry.js';
import type { TouchedDirs } from './touched-dirs.js';
import { resolveInside } from './safe-path.js';

/**
 * The directories that temp files are staged in, beside their targets: each part of the way a
 * real directory (never a symlink), the missing ones made here, private (0700).
 */
export class StagingDirs {
  /** Found fit (or not) while a block is staged; it is locked, so they stay. Forgotten at each commit, which may change them. */
  private readonly fit = new Map<string, boolean>();
  /** Made here for new files; the commit's mkdir of each gives it its mode, owner and time. */
  readonly made = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly touchedDirs: TouchedDirs,
  ) {}

  /** Whether temp files can be staged in `dir`; if not (a part is a file, say: the commit changes its type), they wait in the root. */
  usable(dir: string): boolean {
    if (dir === '') return true;
    let ok = this.fit.get(dir);
    if (ok !== undefined) return ok;
    ok = this.usable(parentOf(dir));
    if (ok) {
      const abs = resolveInside(this.root, dir);
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st) ok = st.isDirectory();
      else {
        this.touchedDirs.note(parentOf(dir));
        try {
          mkdirSync(abs, 0o700);
          this.made.add(dir);
        } catch {
          ok = false;
        }
      }
    }
    this.fit.set(dir, ok);
    return ok;
  }

  forget(): void {
    this.fit.clear();
  }

  /**
   * The directories made here that no commit took as its own, deepest first, forgotten: once
   * their staged files are gone, they go too (a block that failed before its commit leaves
   * nothing of itself).
   */
  untaken(): string[] {
    const dirs = [...this.made].sort((a, b) => depthOf(b) - depthOf(a));
    this.made.clear();
    this.fit.clear();
    return dirs;
  }
}
