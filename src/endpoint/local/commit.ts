import type { BigIntStats } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { Action } from '../../engine/action.js';
import { type Entry, parentOf } from '../../engine/entry.js';
import type { CommitStep, StepResult } from '../endpoint.js';
import { errnoCode, reasonOf } from '../errors.js';
import type { ChecksumCache } from './checksum-cache.js';
import type { DirTimes } from './dir-times.js';
import { type ParentGuard, resolveInside } from './safe-path.js';
import { wholeMs } from './stat-key.js';

/** What applying steps needs from its endpoint. */
export interface CommitContext {
  root: string;
  canChown: boolean;
  guard: ParentGuard;
  dirTimes: DirTimes;
  cache: ChecksumCache;
  /** A fresh temp name in directory `dirRel`, for symlinks and hard links made beside their target. */
  newTemp(dirRel: string): string;
  /** The CRC of a staged temp file, and forgetting it once it is renamed into place. */
  stagedCrc(temp: string): number | undefined;
  committed(temp: string): void;
}

class Changed extends Error {
  readonly code = 'ECHANGED';
}

const UMASK = process.umask();

async function lstatOrNone(abs: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(abs, { bigint: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function kindOf(st: BigIntStats): Entry['type'] | 'other' {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

/** Refuses to act when the remote path is no longer what the plan was made from. */
async function expectState(abs: string, expect: Entry | undefined, strictContent: boolean): Promise<BigIntStats | undefined> {
  const st = await lstatOrNone(abs);
  if (!expect) {
    if (st) throw new Changed('appeared on the remote since it was listed');
    return undefined;
  }
  if (!st) throw new Changed('vanished from the remote since it was listed');
  const same =
    kindOf(st) === expect.type &&
    Number(st.ino) === expect.ino &&
    (!strictContent || expect.type !== 'file' || (Number(st.size) === expect.size && wholeMs(st.mtimeNs) === expect.mtimeMs));
  if (!same) throw new Changed('changed on the remote since it was listed');
  return st;
}

export class Committer {
  /** Directories created by this commit that must get their final mode once filled. */
  private readonly finalModes = new Map<string, number>();

  constructor(private readonly ctx: CommitContext) {}

  async run(steps: CommitStep[]): Promise<StepResult[]> {
    const results: StepResult[] = [];
    try {
      for (const step of steps) {
        try {
          await this.apply(step);
          results.push({ path: step.action.path, ok: true });
        } catch (err) {
          results.push({ path: step.action.path, ok: false, error: reasonOf(err), code: errnoCode(err) });
        }
      }
    } finally {
      for (const [rel, mode] of [...this.finalModes].reverse()) {
        await chmod(this.abs(rel), mode).catch(() => undefined);
      }
      this.finalModes.clear();
      await this.ctx.dirTimes.restore();
      this.ctx.guard.forget();
    }
    return results;
  }

  private abs(rel: string): string {
    return resolveInside(this.ctx.root, rel);
  }

  private async apply(step: CommitStep): Promise<void> {
    const a = step.action;
    const abs = this.abs(a.path);
    await this.ctx.guard.check(a.path);
    switch (a.op) {
      case 'copy':
        return this.copy(step, abs);
      case 'delete':
        await expectState(abs, a.remote, true);
        await this.ctx.dirTimes.note(parentOf(a.path));
        await unlink(abs);
        this.ctx.cache.delete(a.path);
        return;
      case 'rmdir':
        await expectState(abs, a.remote, false);
        await this.ctx.dirTimes.note(parentOf(a.path));
        await rmdir(abs);
        return;
      case 'mkdir':
        return this.mkdir(step, abs);
      case 'symlink':
        return this.replaceWith(a, abs, (tmp) => symlink(a.master!.target!, tmp), step);
      case 'hardlink':
        return this.hardlink(step, abs);
      case 'chmod':
        await expectState(abs, a.remote, false);
        await chmod(abs, a.master!.mode);
        return;
      case 'chown': {
        await expectState(abs, a.remote, false);
        const [uid, gid] = this.owner(step, a.remote);
        await lchown(abs, uid, gid);
        return;
      }
      case 'touch': {
        const st = await expectState(abs, a.remote, false);
        if (a.master!.type === 'dir') this.ctx.dirTimes.want(a.path, a.master!.mtimeMs);
        else await lutimes(abs, Number(st!.atimeNs) / 1e9, a.master!.mtimeMs / 1000);
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

  /** Mode, owner and mtime of something new, set before it is renamed into place. */
  private async dress(tmpAbs: string, step: CommitStep, current: Entry | undefined): Promise<void> {
    const m = step.action.master!;
    if (m.type !== 'symlink') {
      const mode = step.attrs.mode ? m.mode : current && current.type === m.type ? current.mode : m.mode & ~UMASK;
      await chmod(tmpAbs, mode);
    }
    if (this.ctx.canChown && (step.attrs.owner || step.attrs.group)) {
      const [uid, gid] = this.owner(step, current);
      await lchown(tmpAbs, uid, gid);
    }
    if (step.attrs.mtime) await lutimes(tmpAbs, Date.now() / 1000, m.mtimeMs / 1000);
  }

  private async copy(step: CommitStep, abs: string): Promise<void> {
    const a = step.action;
    if (!step.temp) throw new Error('nothing was staged for this file');
    const tmpAbs = this.abs(step.temp);
    await expectState(abs, a.remote, true);
    await this.dress(tmpAbs, step, a.remote);
    await this.ctx.dirTimes.note(parentOf(a.path));
    await this.ctx.dirTimes.note(parentOf(step.temp));
    await rename(tmpAbs, abs);
    const crc = this.ctx.stagedCrc(step.temp);
    this.ctx.committed(step.temp);
    if (crc !== undefined) this.ctx.cache.set(a.path, await lstat(abs, { bigint: true }), crc);
  }

  private async mkdir(step: CommitStep, abs: string): Promise<void> {
    const m = step.action.master!;
    const mode = step.attrs.mode ? m.mode : 0o777 & ~UMASK;
    await this.ctx.dirTimes.note(parentOf(m.path));
    let created = true;
    try {
      await mkdir(abs, mode | 0o700);
    } catch (err) {
      const st = errnoCode(err) === 'EEXIST' ? await lstat(abs) : undefined;
      if (!st?.isDirectory()) throw err;
      created = false;
    }
    if (created || step.attrs.mode) {
      // Writable while it is filled; a mode without u+rwx is set at the end of the commit.
      await chmod(abs, mode | 0o700);
      if ((mode & 0o700) !== 0o700) this.finalModes.set(m.path, mode);
    }
    if (this.ctx.canChown && (step.attrs.owner || step.attrs.group)) {
      const [uid, gid] = this.owner(step, undefined);
      await lchown(abs, uid, gid);
    }
    if (step.attrs.mtime) this.ctx.dirTimes.want(m.path, m.mtimeMs);
  }

  /** Creates the new entry under a temp name beside the target, then renames it over the target. */
  private async replaceWith(a: Action, abs: string, make: (tmpAbs: string) => Promise<void>, step: CommitStep): Promise<void> {
    await expectState(abs, a.remote, true);
    const dir = parentOf(a.path);
    const tmpAbs = nodePath.join(this.ctx.root, dir, this.ctx.newTemp(dir));
    await this.ctx.dirTimes.note(dir);
    await make(tmpAbs);
    try {
      await this.dress(tmpAbs, step, a.remote);
      await rename(tmpAbs, abs);
    } catch (err) {
      await unlink(tmpAbs).catch(() => undefined);
      throw err;
    }
  }

  private async hardlink(step: CommitStep, abs: string): Promise<void> {
    const a = step.action;
    const targetAbs = this.abs(a.linkTo!);
    await this.ctx.guard.check(a.linkTo!);
    const target = await lstat(targetAbs, { bigint: true });
    const current = await lstatOrNone(abs);
    if (current && current.ino === target.ino && current.dev === target.dev) return; // already one inode
    await expectState(abs, a.remote, true);
    const dir = parentOf(a.path);
    const tmpAbs = nodePath.join(this.ctx.root, dir, this.ctx.newTemp(dir));
    await this.ctx.dirTimes.note(dir);
    await link(targetAbs, tmpAbs);
    try {
      await rename(tmpAbs, abs);
    } catch (err) {
      await unlink(tmpAbs).catch(() => undefined);
      throw err;
    }
  }
}
