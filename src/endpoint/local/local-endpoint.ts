import { type BigIntStats, lstatSync, readlinkSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { type ClassSpec, LOCK_FILE, compileClassification } from '../../engine/classification.js';
import { type Entry, type Listing, type RootAttrs } from '../../engine/entry.js';
import type { CommitStep, Endpoint, FileReader, FileWriter, HookEnv, HookResult, LockOwner, ReadOutcome, StageOutcome, StepResult, WholeFile } from '../endpoint.js';
import { EndpointError, PathError, errnoCode, movedAway, reasonOf } from '../errors.js';
import { ChecksumCache } from './checksum-cache.js';
import { Committer } from './commit.js';
import { TouchedDirs } from './touched-dirs.js';
import { FsSync } from './fs-sync.js';
import { blockSignaturesOf, withBasis } from './delta-basis.js';
import { CHUNK, crcOfFile, openReader, readWholeFile } from './file-io.js';
import { StagedTemps } from './staged-temps.js';
import { type ListedFile, entryType, listedFile, toEntry } from './stat-key.js';
import { Breather, breathe } from './yield.js';
import { WalkError, walk } from './list.js';
import { RootLock } from './root-lock.js';
import { dressRoot, rootAttrsOf } from './root-attrs.js';
import { locate } from './locate.js';
import { timeGranularityMs } from './time-granularity.js';
import { runHookIn } from './run-hook.js';
import type { Location } from '../location.js';
import { StagingDirs } from './staging-dirs.js';
import { ParentGuard, resolveInside } from './safe-path.js';
import { makeDirs } from '../../make-dirs.js';


export interface LocalEndpointOptions {
  /** How the endpoint is named in messages ("host:/root" when served by an agent). */
  label?: string;
  /** Where the checksum cache of this root is kept between runs; none: in memory only. */
  cacheFile?: string;
  /** False for dry runs: they read the cache but change nothing on the host, not even it. */
  saveCache?: boolean;
}

/** A directory on this machine. Also what the agent serves on a remote host. */
export class LocalEndpoint implements Endpoint {
  readonly label: string;
  private readonly root: string;
  private readonly cache: ChecksumCache;
  private cacheLoaded: Promise<void> | undefined;
  /** A save begun when the lock was released (what this run learnt is kept by then); close waits for it. */
  private cacheSaving: Promise<void> = Promise.resolve();
  /** The files of the last listing (and of stat calls since), as checksums need them. */
  private files = new Map<string, ListedFile>();
  private readonly stagingDirs: StagingDirs;
  private readonly touchedDirs: TouchedDirs;
  private readonly lockFile: RootLock;
  private readonly fsSync: FsSync;
  private readonly temps: StagedTemps;
  readonly canChown = process.getuid?.() === 0;
  readonly location: Location | undefined;

  constructor(root: string, options: LocalEndpointOptions = {}) {
    this.root = nodePath.resolve(root);
    this.label = options.label ?? root;
    this.location = locate(this.root);
    this.cache = new ChecksumCache(options.cacheFile, options.saveCache ?? true);
    this.touchedDirs = new TouchedDirs(this.root);
    this.stagingDirs = new StagingDirs(this.root, this.touchedDirs);
    this.lockFile = new RootLock(this.root, this.touchedDirs);
    this.fsSync = new FsSync(this.root);
    this.temps = new StagedTemps(this.root, this.stagingDirs, this.touchedDirs);
  }

  private fail(message: string, path?: string, err?: unknown): never {
    const why = err === undefined ? message : `${message}: ${reasonOf(err)}`;
    if (path === undefined) throw new EndpointError(why, this.label, undefined, errnoCode(err), { cause: err });
    throw new PathError(why, this.label, path, errnoCode(err), { cause: err });
  }

  async list(classes: ClassSpec[]): Promise<Listing> {
    // Loaded before anything is learnt in this run, so the file never overrides fresher entries.
    await this.loadCache();
    let st;
    try {
      st = await stat(this.root, { bigint: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { exists: false, entries: [], leftovers: [], canChown: this.canChown, ...this.timeStep() };
      this.fail('cannot read the root directory', undefined, err);
    }
    if (!st.isDirectory()) this.fail('the root is not a directory');
    try {
      const { entries, leftovers, badNames, files, lockFound } = await walk(this.root, compileClassification(classes));
      this.files = files;
      for (const e of entries) if (e.type === 'file') this.vouch(e, files.get(e.path)!.key);
      const stale = lockFound && (await this.lockFile.isStale()) ? { staleLock: true } : {};
      return { exists: true, root: rootAttrsOf(st), entries, leftovers, canChown: this.canChown, ...this.timeStep(st), ...stale, ...(badNames.length > 0 ? { badNames } : {}) };
    } catch (err) {
      if (err instanceof WalkError) this.fail(`listing failed at ${err.path}`, undefined, err.cause);
      throw err;
    }
  }

  /** Told only where coarser than the millisecond, the step comparisons take without it. `st`: the root's, when it exists. */
  private timeStep(st?: BigIntStats): { mtimeStepMs?: number } {
    const step = timeGranularityMs(this.root, st);
    return step > 1 ? { mtimeStepMs: step } : {};
  }

  async stat(paths: string[]): Promise<Entry[]> {
    await this.loadCache();
    // Paths below a root that is gone would all look deleted: for a master, that would delete them everywhere.
    if (!statSync(this.root, { throwIfNoEntry: false })?.isDirectory()) this.fail('the directory is gone');
    const out: Entry[] = [];
    const breather = new Breather();
    // As a listing sees the tree, never through a symlink: below one (a directory replaced by a
    // symlink since, even one to itself), a path is gone.
    const parents = new ParentGuard(this.root);
    for (const p of paths) {
      if (breather.tick()) await breathe();
      let abs: string;
      let st: BigIntStats | undefined;
      try {
        abs = resolveInside(this.root, p);
        parents.check(p);
        st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
      } catch (err) {
        if (movedAway(errnoCode(err))) continue; // a parent is gone or no directory now
        this.fail('cannot look at', p, err);
      }
      if (!st) continue;
      const type = entryType(st);
      if (type === 'file') {
        const listed = listedFile(st);
        this.files.set(p, listed);
        out.push(this.vouch(toEntry(p, st, type), listed.key));
      } else if (type !== 'symlink') out.push(toEntry(p, st, type));
      else {
        try {
          out.push(toEntry(p, st, type, readlinkSync(abs)));
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') this.fail('cannot read the link', p, err);
        }
      }
    }
    return out;
  }

  /** Gives a listed file the CRC the cache still vouches for (`key`: its content key): no checksum request is needed for it. */
  private vouch(e: Entry, key: string): Entry {
    const crc = this.cache.get(e.path, key);
    if (crc !== undefined) e.crc = crc;
    return e;
  }

  private loadCache(): Promise<void> {
    this.cacheLoaded ??= this.cache.load();
    return this.cacheLoaded;
  }

  async checksums(paths: string[]): Promise<Map<string, number>> {
    await this.loadCache();
    const out = new Map<string, number>();
    const buf = Buffer.allocUnsafe(CHUNK);
    const breather = new Breather(64);
    for (const p of paths) {
      try {
        const abs = resolveInside(this.root, p);
        const listed = this.files.get(p) ?? this.lookUp(abs);
        if (!listed) continue; // not a regular file: left out, so it counts as different
        let crc = this.cache.get(p, listed.key);
        if (crc === undefined) {
          const read = crcOfFile(abs, buf, listed);
          if (breather.tick(16)) await breathe();
          if (!read) continue; // changed since listed: left out, so it counts as different
          crc = read.crc;
          if (!read.racy) this.cache.set(p, listed.key, crc);
        }
        out.set(p, crc);
      } catch {
        // Unreadable or gone: left out, so the file counts as different.
      }
      if (breather.tick()) await breathe();
    }
    return out;
  }

  /** A file asked about without being listed first. */
  private lookUp(abs: string): ListedFile | undefined {
    const st = lstatSync(abs, { bigint: true });
    return st.isFile() ? listedFile(st) : undefined;
  }

  async readFiles(files: { path: string; size: number }[]): Promise<ReadOutcome[]> {
    // One buffer for the batch, the contents side by side in it: one allocation, and a view of
    // several contents at once is sent without copying them.
    const buf = Buffer.allocUnsafe(files.reduce((n, f) => n + f.size, 0) + 1);
    let at = 0;
    return files.map(({ path, size }): ReadOutcome => {
      try {
        const read = readWholeFile(resolveInside(this.root, path), size, buf.subarray(at), this.files.get(path), (key, crc) => this.cache.set(path, key, crc));
        // A file that grew is read one byte too far (it is inconsistent): the next file takes that byte.
        if (read.content.length > size) read.content = Buffer.from(read.content);
        else at += read.content.length;
        return { ok: true, ...read };
      } catch (err) {
        return { ok: false, error: `cannot read: ${reasonOf(err)}`, code: errnoCode(err) };
      }
    });
  }

  async openRead(path: string): Promise<FileReader> {
    let reader: FileReader;
    try {
      reader = openReader(resolveInside(this.root, path), this.files.get(path), (key, crc) => this.cache.set(path, key, crc));
    } catch (err) {
      this.fail('cannot open for reading', path, err);
    }
    const fail = (err: unknown): never => this.fail('cannot read', path, err);
    return {
      async *chunks() {
        try {
          yield* reader.chunks();
        } catch (err) {
          fail(err);
        }
      },
      result: () => reader.result(),
      cancel: () => reader.cancel(),
    };
  }

  async blockSignatures(path: string, blockSize: number): Promise<Buffer> {
    try {
      return blockSignaturesOf(resolveInside(this.root, path), blockSize);
    } catch (err) {
      this.fail('cannot read', path, err);
    }
  }

  async openWrite(path: string, _size: number, basis?: { blockSize: number }): Promise<FileWriter> {
    let writer: FileWriter;
    try {
      await this.readyToChange();
      writer = this.temps.writer(path);
    } catch (err) {
      this.fail('cannot stage new content', path, err);
    }
    // A write that fails (a full disk, say) names the file as well.
    const failed = (err: unknown): never => this.fail('cannot stage new content', path, err);
    const named: FileWriter = {
      write: (chunk) => writer.write(chunk).catch(failed),
      finish: () => writer.finish().catch(failed),
      abort: () => writer.abort(),
    };
    return basis ? withBasis(named, resolveInside(this.root, path), basis.blockSize) : named;
  }

  async stageFiles(files: WholeFile[]): Promise<StageOutcome[]> {
    await this.readyToChange();
    const out: StageOutcome[] = [];
    for (const f of files) {
      let writer: FileWriter | undefined;
      try {
        writer = this.temps.writer(f.path, f.attrs);
        await writer.write(f.content);
        out.push({ ok: true, staged: await writer.finish() });
      } catch (err) {
        await writer?.abort().catch(() => undefined);
        out.push({ ok: false, error: `cannot stage new content: ${reasonOf(err)}`, code: errnoCode(err) });
      }
    }
    return out;
  }

  private rootReady = false;
  private closed = false;
  /** Ends the hooks under way when the endpoint closes (a run that stops). */
  private readonly hooksStop = new AbortController();

  /**
   * Called before every change: the remote directory is created if missing (only ever by a run
   * that writes), and nothing is written once the endpoint is closed (an upload that was under way
   * when a run was stopped would otherwise stage files after its cleanup).
   */
  private async readyToChange(): Promise<void> {
    if (this.closed) this.fail('closed: the run is stopping');
    if (this.rootReady) return;
    try {
      makeDirs(this.root);
    } catch (err) {
      this.fail('cannot create the directory', undefined, err);
    }
    this.rootReady = true;
  }

  async flush(): Promise<void> {
    await this.flushTemps(this.temps.written());
  }

  private flushTemps(temps: string[]): Promise<void> {
    return this.fsSync.flushFiles(temps, (temp, err) => this.fail('cannot flush new content to disk', temp, err));
  }

  async commit(steps: CommitStep[], options: { flush?: boolean } = {}): Promise<StepResult[]> {
    // Taken before the first await: what is staged from here on belongs to a later commit.
    const mine = this.temps.waiting();
    await this.readyToChange();
    const committer = new Committer({
      root: this.root,
      canChown: this.canChown,
      guard: new ParentGuard(this.root),
      touchedDirs: this.touchedDirs,
      cache: this.cache,
      newTemp: () => this.temps.newName(),
      staged: (temp) => this.temps.info(temp),
      madeForStaging: this.stagingDirs.made,
      committed: (temp) => this.temps.committed(temp),
      placed: (path, st) => this.files.set(path, listedFile(st)),
    });
    try {
      if (options.flush) await this.flushTemps(this.temps.written(mine));
      return await committer.run(steps);
    } finally {
      this.temps.discard(mine);
    }
  }

  async lock(owner: LockOwner, timeoutMs: number): Promise<void> {
    await this.readyToChange();
    try {
      await this.lockFile.acquire(owner, timeoutMs);
    } catch (err) {
      this.fail('cannot take the lock', LOCK_FILE, err);
    }
  }

  async unlock(root?: Partial<RootAttrs>): Promise<void> {
    this.temps.discard();
    const released = await this.lockFile.release();
    // The pass is done here: the cache is written while the run verifies (mostly by looking at the
    // master), not after it. Begun once this answer is sent: writing it takes a while.
    this.cacheSaving = this.cacheSaving.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(() => this.cache.save()).catch(() => undefined);
    if (!released || !root) return;
    try {
      dressRoot(this.root, root);
    } catch (err) {
      this.fail("cannot give the root directory the master's attributes", undefined, err);
    }
  }

  async removeLeftovers(paths: string[]): Promise<void> {
    this.temps.remove(paths);
  }

  async runHook(command: string, env: HookEnv): Promise<HookResult> {
    await this.readyToChange();
    return runHookIn(this.root, command, env, this.hooksStop.signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hooksStop.abort();
    this.fsSync.close();
    await this.cacheSaving;
    await this.cache.save().catch(() => undefined);
    try {
      this.temps.discard();
    } catch {
      // best effort: the next run removes what is left
    }
    await this.lockFile.close().catch(() => undefined);
  }
}
