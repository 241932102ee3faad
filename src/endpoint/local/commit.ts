import {
  type BigIntStats,
  lchownSync as lchown,
  linkSync as link,
  lstatSync,
  lutimesSync as lutimes,
  mkdirSync as mkdir,
  renameSync as rename,
  rmdirSync as rmdir,
  symlinkSync as symlink,
  unlinkSync as unlink,
} from 'node:fs';
import { type Entry, childOf, parentOf } from '../../engine/entry.js';
import type { Op } from '../../engine/action.js';
import { CHANGED, type CommitStep, type StepResult } from '../endpoint.js';
import { errnoCode, movedAway, reasonOf } from '../errors.js';
import type { ChecksumCache } from './checksum-cache.js';
import type { TouchedDirs } from './touched-dirs.js';
import { chmodNoFollow } from './no-follow.js';
import { type ParentGuard, resolveInside, underRoot } from './safe-path.js';
import { fileTime, timeMs } from './file-time.js';
import { contentKey, entryType, fileIdentity, toEntry } from './stat-key.js';
import { Breather, breathe } from './yield.js';
import type { StagedInfo } from './file-io.js';

/** What applying steps needs from its endpoint. */
export interface CommitContext {
  root: string;
  canChown: boolean;
  guard: ParentGuard;
  touchedDirs: TouchedDirs;
  cache: ChecksumCache;
  /** Directories made (private) to stage new files in: a mkdir step takes one as its own. */
  madeForStaging: Set<string>;
  /** A fresh temp name, for symlinks and hard links made beside their target. */
  newTemp(): string;
  /** What staging knows of a temp file, and forgetting it once it is renamed into place. */
  staged(temp: string): StagedInfo | undefined;
  committed(temp: string): void;
  /** A file put in place at `path`: checksums of it go by this stat from now on, no longer the listing's. */
  placed(path: string, st: BigIntStats): void;
}

/** The path is not what the plan was made from: not an error, the next pass looks again. */
class Changed extends Error {
  readonly code = CHANGED;
}

const UMASK = process.umask();

/** No exception for a missing path: for new files that is the common case, and exceptions are costly. */
function lstatOrNone(abs: string): BigIntStats | undefined {
  return lstatSync(abs, { bigint: true, throwIfNoEntry: false });
}

/** Refuses to act when the remote path is no longer what the plan was made from. */
function expectState(abs: string, expect: Entry | undefined, strictContent: boolean): BigIntStats | undefined {
  const st = lstatOrNone(abs);
  if (!expect) {
    if (st) throw new Changed('something the listing did not show is in its place on the remote (made since, or outside the classification)');
    return undefined;
  }
  if (!st) throw new Changed('vanished from the remote since it was listed');
  const same =
    entryType(st) === expect.type &&
    Number(st.ino) === expect.ino &&
    (!strictContent || expect.type !== 'file' || (Number(st.size) === expect.size && timeMs(st.mtimeNs) === expect.mtimeMs));
  if (!same) throw new Changed('changed on the remote since it was listed');
  return st;
}

/** What a step was doing, for the message of a system call that failed in it. */
const DOING: Record<Op, string> = {
  copy: 'cannot put the new content in place',
  delete: 'cannot delete',
  mkdir: 'cannot create the directory',
  rmdir: 'cannot remove the directory',
  chmod: 'cannot change the mode',
  chown: 'cannot change the owner',
  touch: 'cannot set the mtime',
  symlink: 'cannot make the symlink',
  hardlink: 'cannot make the hard link',
};

/**
 * A step that failed. ENOENT, ENOTDIR or ELOOP: the path, its temp file or a directory above it
 * was removed or replaced since the listing (by another process: the plan makes parents first),
 * which the next pass looks at again. An entry outside the classification in the way of a
 * directory is named by the failed mkdir of that directory. A system call's error says what the
 * step was doing; ours say it themselves.
 */
function failed(path: string, op: Op, err: unknown): StepResult {
  const code = errnoCode(err);
  const fromSystem = (err as { syscall?: unknown } | null)?.syscall !== undefined;
  return { path, ok: false, error: fromSystem ? `${DOING[op]}: ${reasonOf(err)}` : reasonOf(err), code: movedAway(code) ? CHANGED : code };
}

/** An error of our wording that keeps the system's code, which the executor decides by. */
function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // best effort: the entry is gone or was never made
  }
}

/** Applies commit steps in order with synchronous calls (see Breather for why). */
export class Committer {
  /** Directories this commit made (or took over from staging): nothing was listed in them, and no one else has had a moment to put anything there. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly ctx: CommitContext) {}

  async run(steps: CommitStep[]): Promise<StepResult[]> {
    const results: StepResult[] = [];
    const breather = new Breather(256);
    try {
      for (const step of steps) {
        if (breather.tick()) await breathe();
        try {
          const entry = this.apply(step);
          results.push(entry ? { path: step.action.path, ok: true, entry } : { path: step.action.path, ok: true });
        } catch (err) {
          results.push(failed(step.action.path, step.action.op, err));
        }
      }
    } finally {
      this.ctx.touchedDirs.restore();
      this.ctx.guard.forget();
    }
    return results;
  }

  private abs(rel: string): string {
    return resolveInside(this.ctx.root, rel);
  }

  /** Applies a step; a copy gives the entry of the file put in place. */
  private apply(step: CommitStep): Entry | undefined {
    const a = step.action;
    const abs = this.abs(a.path);
    this.ctx.guard.check(a.path);
    switch (a.op) {
      case 'copy':
        return this.copy(step, abs);
      case 'delete':
        expectState(abs, a.remote, true);
        this.ctx.touchedDirs.note(parentOf(a.path));
        unlink(abs);
        this.ctx.cache.delete(a.path);
        return;
      case 'rmdir':
        expectState(abs, a.remote, false);
        this.ctx.touchedDirs.note(parentOf(a.path));
        try {
          rmdir(abs);
        } catch (err) {
          // A directory the master has as a file or symlink, say, that holds what no run may remove.
          if (errnoCode(err) === 'ENOTEMPTY') throw withCode('directory not empty (ENOTEMPTY): it holds entries no run removes (outside the classification, kept by --no-delete, or made since the listing)', 'ENOTEMPTY');
          throw err;
        }
        return;
      case 'mkdir':
        this.mkdir(step, abs);
        return;
      case 'symlink':
        this.replaceWith(step, abs, (tmp) => symlink(a.master!.target!, tmp));
        return;
      case 'hardlink':
        this.hardlink(step, abs);
        return;
      case 'chmod':
        expectState(abs, a.remote, false);
        if (a.master!.type === 'dir') this.ctx.touchedDirs.setMode(a.path, a.master!.mode);
        else chmodNoFollow(abs, a.master!.mode, 'file', a.remote!.ino);
        return;
      case 'chown': {
        expectState(abs, a.remote, false);
        const [uid, gid] = this.owner(step, a.remote);
        lchown(abs, uid, gid);
        return;
      }
      case 'touch': {
        const st = expectState(abs, a.remote, false)!;
        if (a.master!.type === 'dir') this.ctx.touchedDirs.want(a.path, a.master!.mtimeMs);
        else lutimes(abs, fileTime(timeMs(st.atimeNs)), fileTime(a.master!.mtimeMs));
        return;
      }
    }
  }

  private owner(step: CommitStep, current: Entry | undefined): [number, number] {
    const m = step.action.master!;
    const uid = step.attrs.owner ? m.uid : (current?.uid ?? process.getuid?.() ?? 0);
    const gid = step.attrs.group ? m.gid : (current?.gid ?? process.getgid?.() ?? 0);
    return [uid, gid];
  }

  /**
   * Owner, mode and mtime of something new (`has`: what it has already, if known), set before it
   * is renamed into place. The owner first: chown clears the set-user-ID and set-group-ID bits.
   */
  private dress(tmpAbs: string, step: CommitStep, current: Entry | undefined, has?: StagedInfo): void {
    const m = step.action.master!;
    if (this.ctx.canChown && (step.attrs.owner || step.attrs.group)) {
      const [uid, gid] = this.owner(step, current);
      if (uid !== has?.uid || gid !== has.gid) lchown(tmpAbs, uid, gid);
    }
    if (m.type !== 'symlink') {
      const mode = step.attrs.mode ? m.mode : current && current.type === m.type ? current.mode : m.mode & ~UMASK;
      if (mode !== has?.mode) chmodNoFollow(tmpAbs, mode, 'file');
    }
    if (step.attrs.mtime && m.mtimeMs !== has?.mtimeMs) lutimes(tmpAbs, Date.now() / 1000, fileTime(m.mtimeMs));
  }

  private copy(step: CommitStep, abs: string): Entry {
    const a = step.action;
    if (!step.temp) throw new Error('nothing was staged for this file');
    const tmpAbs = this.abs(step.temp);
    // In a directory this commit made, nothing can have appeared since the listing: no look needed.
    if (a.remote || !this.madeDirs.has(parentOf(a.path))) expectState(abs, a.remote, true);
    const staged = this.ctx.staged(step.temp);
    this.dress(tmpAbs, step, a.remote, staged);
    this.ctx.touchedDirs.note(parentOf(a.path));
    this.ctx.touchedDirs.note(parentOf(step.temp));
    rename(tmpAbs, abs);
    this.ctx.committed(step.temp);
    const st = lstatSync(abs, { bigint: true });
    this.ctx.placed(a.path, st);
    const entry = toEntry(a.path, st, 'file');
    // Another file put at the temp's name before the rename (by a process that may write in the
    // directory) is not what was staged: its CRC unknown, the verification reads it.
    if (staged && fileIdentity(st) === staged.identity) {
      this.ctx.cache.set(a.path, contentKey(st), staged.crc);
      entry.crc = staged.crc;
    }
    return entry;
  }

  private mkdir(step: CommitStep, abs: string): void {
    const m = step.action.master!;
    const mode = step.attrs.mode ? m.mode : 0o777 & ~UMASK;
    this.ctx.touchedDirs.note(parentOf(m.path));
    let created = true;
    try {
      mkdir(abs, mode | 0o700);
    } catch (err) {
      const st = errnoCode(err) === 'EEXIST' ? lstatSync(abs) : undefined;
      if (st && !st.isDirectory()) throw withCode('already exists (EEXIST) and is no directory: an entry outside the classification (or made since the listing) is in the way, and is left as it is', 'EEXIST');
      if (!st) throw err;
      created = this.ctx.madeForStaging.has(m.path);
    }
    this.ctx.madeForStaging.delete(m.path);
    if (created) this.madeDirs.add(m.path);
    // A mode that would keep this commit out of it is set at the end, once it is filled.
    if (created || step.attrs.mode) this.ctx.touchedDirs.setMode(m.path, mode);
    if (this.ctx.canChown && (step.attrs.owner || step.attrs.group)) {
      const [uid, gid] = this.owner(step, undefined);
      lchown(abs, uid, gid);
    }
    if (step.attrs.mtime) this.ctx.touchedDirs.want(m.path, m.mtimeMs);
  }

  /** A temp path beside `rel`, noting the directory whose mtime the change moves. */
  private besideTarget(rel: string): string {
    const dir = parentOf(rel);
    this.ctx.touchedDirs.note(dir);
    return underRoot(this.ctx.root, childOf(dir, this.ctx.newTemp()));
  }

  /** Creates the new entry under a temp name beside the target, then renames it over the target. */
  private replaceWith(step: CommitStep, abs: string, make: (tmpAbs: string) => void): void {
    const a = step.action;
    expectState(abs, a.remote, true);
    const tmpAbs = this.besideTarget(a.path);
    make(tmpAbs);
    try {
      this.dress(tmpAbs, step, a.remote);
      rename(tmpAbs, abs);
    } catch (err) {
      quietly(() => unlink(tmpAbs));
      throw err;
    }
  }

  private hardlink(step: CommitStep, abs: string): void {
    const a = step.action;
    const targetAbs = this.abs(a.linkTo!);
    this.ctx.guard.check(a.linkTo!);
    const target = lstatSync(targetAbs, { bigint: true });
    const current = lstatOrNone(abs);
    if (current && current.ino === target.ino && current.dev === target.dev) return; // already one inode
    expectState(abs, a.remote, true);
    const tmpAbs = this.besideTarget(a.path);
    link(targetAbs, tmpAbs);
    try {
      rename(tmpAbs, abs);
    } catch (err) {
      quietly(() => unlink(tmpAbs));
      throw err;
    }
  }
}
