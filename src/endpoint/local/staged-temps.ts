import { randomBytes } from 'node:crypto';
import { rmdirSync, unlinkSync } from 'node:fs';
import { childOf, parentOf } from '../../engine/entry.js';
import type { FileWriter, StagedAttrs } from '../endpoint.js';
import { errnoCode } from '../errors.js';
import { type StagedInfo, openStagedWriter, tempName } from './file-io.js';
import { resolveInside } from './safe-path.js';
import type { StagingDirs } from './staging-dirs.js';
import type { TouchedDirs } from './touched-dirs.js';

/**
 * The temp files a run stages under a root: their names (unique in the run and across runs),
 * what is known of each once written, which are still waiting for a commit, and their removal.
 */
export class StagedTemps {
  private readonly runTag = randomBytes(4).toString('hex');
  private seq = 0;
  /** Written whole: their CRC and owner, by temp path. */
  private readonly staged = new Map<string, StagedInfo>();
  /** Created and neither committed nor removed yet. */
  private readonly pending = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly stagingDirs: StagingDirs,
    private readonly touchedDirs: TouchedDirs,
  ) {}

  newName(): string {
    return tempName(this.runTag, this.seq++);
  }

  /** A writer to a new temp file for `path`, next to it; `attrs`: what to give it while it is open. */
  writer(path: string, attrs?: StagedAttrs): FileWriter {
    // Beside its target, a temp file is renamed within its directory at commit: across
    // directories, renames serialise on a lock of the whole file system.
    const dir = this.stagingDirs.usable(parentOf(path)) ? parentOf(path) : '';
    this.touchedDirs.note(dir);
    const temp = childOf(dir, this.newName());
    const writer = openStagedWriter(this.root, temp, {
      finished: (staged, info) => this.staged.set(staged.temp, info),
      aborted: () => this.pending.delete(temp),
    }, attrs);
    this.pending.add(temp);
    return writer;
  }

  info(temp: string): StagedInfo | undefined {
    return this.staged.get(temp);
  }

  /** Of `temps` (all by default), those written whole: what a flush makes durable. */
  written(temps?: Iterable<string>): string[] {
    return temps ? [...temps].filter((t) => this.staged.has(t)) : [...this.staged.keys()];
  }

  /** What is waiting for a commit now (a commit takes these; what is staged later waits for the next). */
  waiting(): Set<string> {
    return new Set(this.pending);
  }

  committed(temp: string): void {
    this.staged.delete(temp);
    this.pending.delete(temp);
  }

  /**
   * Removes staged temp files (those of `only`, or all) that were not committed, and puts their
   * directories' mtimes back. With all of them goes every directory made to stage in and not
   * taken by a commit (only then: the next block may be staging in one while a commit runs).
   */
  discard(only?: ReadonlySet<string>): void {
    const temps = [...(only ?? this.pending)].filter((t) => this.pending.has(t));
    for (const temp of temps) this.committed(temp);
    if (only) {
      this.stagingDirs.forget();
      this.remove(temps);
    } else {
      this.staged.clear();
      this.remove([...temps, ...this.stagingDirs.untaken()]);
    }
  }

  /** Removes temp files (a leftover may be a directory an interrupted run left) and puts their directories' mtimes back. */
  remove(paths: Iterable<string>): void {
    for (const p of paths) {
      this.touchedDirs.note(parentOf(p));
      const abs = resolveInside(this.root, p);
      try {
        unlinkSync(abs);
      } catch (err) {
        // Already gone is fine; a directory is removed if empty, else left as it is.
        if (errnoCode(err) === 'EISDIR') {
          try {
            rmdirSync(abs);
          } catch {
            // not empty: not ours to empty
          }
        }
      }
    }
    this.touchedDirs.restore();
  }
}
