import type { Action } from '../engine/action.js';
import type { ClassSpec } from '../engine/classification.js';
import type { Entry, Listing, RootAttrs } from '../engine/entry.js';
import type { Location } from './location.js';

/**
 * One file tree on one host. The local endpoint implements it in-process; the SSH endpoint sends
 * the same calls to an agent that serves a local endpoint on the host. Every argument and result is
 * plain data (or bytes), so that the two behave alike.
 *
 * Errors: methods reject with EndpointError when the endpoint as a whole fails, and with PathError
 * when only the named path does.
 */
export interface Endpoint {
  /** For messages and reports: "host:/root", or the local path. */
  readonly label: string;

  /** Where the tree really is on its host, when that host can say: two names of one directory are refused. */
  readonly location?: Location;

  /** Lists the tree under the classification. A missing root gives `exists: false`. */
  list(classes: ClassSpec[]): Promise<Listing>;

  /**
   * Entries for the given paths as a listing gives them (cached CRCs included, `partial` never
   * set); a path that does not exist, or is no file, directory or symlink, is left out.
   */
  stat(paths: string[]): Promise<Entry[]>;

  /** CRC-32 of regular files; a path that cannot be read is left out of the result. */
  checksums(paths: string[]): Promise<Map<string, number>>;

  /**
   * Reads small regular files whole, in one call (one request over a connection), each at most
   * one byte past its listed size and under the same check as openRead; each fails alone.
   */
  readFiles(files: { path: string; size: number }[]): Promise<ReadOutcome[]>;

  /** Reads a regular file in chunks, checking that it did not change while it was read. */
  openRead(path: string): Promise<FileReader>;

  /**
   * Set where sending only the blocks of a file that changed pays (a host across a network, not a
   * process beside this one): then `blockSignatures` and an `openWrite` on a basis are worth their cost.
   */
  readonly deltaTransfer?: boolean;

  /**
   * The signatures (see block-signature.ts; SIGNATURE_BYTES each, end to end) of the blocks of the
   * regular file at `path` as it is now, the last block possibly short: what a sender looks for
   * in its own file.
   */
  blockSignatures(path: string, blockSize: number): Promise<Buffer>;

  /**
   * Stages new content for `path` in a temp file next to it (or in the root while its directory
   * does not exist yet). With a `basis`, the writer can also copy blocks of the file now at `path`.
   */
  openWrite(path: string, size: number, basis?: { blockSize: number }): Promise<FileWriter>;

  /**
   * Stages several small files given whole, in one call (one request over a connection): the
   * outcome of each, in order. A file that cannot be staged fails alone.
   */
  stageFiles(files: WholeFile[]): Promise<StageOutcome[]>;

  /** Makes every staged file durable before it is renamed into place. */
  flush(): Promise<void>;

  /**
   * Applies actions in order (with `flush`, after making the files staged so far durable); per-path
   * failures are data. Files staged before the call and not committed are removed; files staged
   * after it wait for a later commit, so that the next block can be staged while this one commits.
   */
  commit(steps: CommitStep[], options?: { flush?: boolean }): Promise<StepResult[]>;

  /**
   * Takes the root's lock file for a block, waiting up to timeoutMs for another holder. Called
   * again while held, it only names the new block in the lock record.
   */
  lock(owner: LockOwner, timeoutMs: number): Promise<void>;
  /**
   * Releases the lock; staged files not committed are removed. If the lock was held, the root
   * directory then takes the attributes given in `root` (the master root's, as --attrs selects),
   * as rsync gives a replica's top directory the source's; without them, its mtime is put back.
   */
  unlock(root?: Partial<RootAttrs>): Promise<void>;

  /** Removes temp files that interrupted runs left (paths from the listing's leftovers). */
  removeLeftovers(paths: string[]): Promise<void>;

  /** Runs a block's pre/post command on the host, in the root, with `env` added to the environment. */
  runHook(command: string, env: HookEnv): Promise<HookResult>;

  close(): Promise<void>;
}

export interface ReadStat {
  size: number;
  crc: number;
  mtimeMs: number;
  mode: number;
  uid: number;
  gid: number;
  /** False when size, mtime or ctime moved while the file was read: what was sent is not to be used. */
  consistent: boolean;
}

export interface FileReader {
  chunks(): AsyncIterable<Buffer>;
  /** After chunks() is exhausted. */
  result(): Promise<ReadStat>;
  /** Stops reading early and releases the file. */
  cancel(): Promise<void>;
}

export interface StagedFile {
  /** Relative path of the temp file. */
  temp: string;
  size: number;
  crc: number;
}

export type ReadOutcome = { ok: true; content: Buffer; stat: ReadStat } | { ok: false; error: string; code?: string };

/**
 * Attributes a staged file is given while it is still open (mode by its creation, mtime after the
 * last write): what its commit would set by path anyway, so the commit need not. Left out, the
 * commit sets them as it does for any copy.
 */
export interface StagedAttrs {
  /** The mode it is to have (one the file cannot be created with, a set-ID one say, is left to the commit). */
  mode?: number;
  mtimeMs?: number;
}

export interface WholeFile {
  path: string;
  content: Buffer;
  attrs?: StagedAttrs;
}

export type StageOutcome = { ok: true; staged: StagedFile } | { ok: false; error: string; code?: string };

export interface FileWriter {
  write(chunk: Buffer): Promise<void>;
  /**
   * With a basis: appends blocks [first, first + count) of the file that was at the path (as far
   * as it still reaches: one that changed or shrank leaves the result short or different, which
   * the CRC and size of the staged file tell).
   */
  copyBasis?(first: number, count: number): Promise<void>;
  finish(): Promise<StagedFile>;
  abort(): Promise<void>;
}

export interface CommitStep {
  action: Action;
  /** For copy: the staged temp file to rename into place. */
  temp?: string;
  /** Which attributes to set on what is created. */
  attrs: { mode: boolean; mtime: boolean; owner: boolean; group: boolean };
}

/** A step's `code` when the path is not what the plan was made from: no error, the next pass looks again. */
export const CHANGED = 'ECHANGED';

export interface StepResult {
  path: string;
  ok: boolean;
  error?: string;
  /** The errno-style code of what failed, or CHANGED. */
  code?: string;
  /**
   * For a copy done: the file as a look right after it was put in place found it (its CRC
   * included), as `stat` would give it. The verification takes it instead of asking again.
   */
  entry?: Entry;
}

export interface LockOwner {
  runId: string;
  job: string;
  block: string;
}

/** What `.replisync.lock` holds. */
export interface LockRecord extends LockOwner {
  host: string;
  pid: number;
  since: string;
  /** Which process had that pid (boot and start time), where the host can tell: see processInstance. */
  instance?: string;
}

/** What a hook is told in its environment (REPLISYNC_JOB, REPLISYNC_BLOCK, ...): one script can serve several blocks. */
export type HookEnv = Readonly<Record<string, string>>;

export interface HookResult {
  code: number;
  output: string;
}

/** A remote being reached: its agent started, over SSH or beside this process. Never rejects: one that cannot be reached opens as an UnreachableEndpoint. */
export interface PendingEndpoint {
  label: string;
  opened: Promise<Endpoint>;
  /** The endpoint, once opened. */
  settled?: Endpoint;
}
