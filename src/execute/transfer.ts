import pLimit from 'p-limit';
import type { Action } from '../engine/action.js';
import type { AttrName } from '../engine/entry.js';
import { CHANGED, type Endpoint, type FileWriter, type ReadOutcome, type ReadStat, type StagedAttrs, type StagedFile, type WholeFile } from '../endpoint/endpoint.js';
import { EndpointError, PathError, ReplisyncError, describe, movedAway } from '../endpoint/errors.js';
import { DeltaSender, blockSizeFor } from './delta.js';
import type { RemoteRun } from './remote-run.js';
import type { Progress } from './types.js';

/** Large master files read at once; each is streamed to every remote that needs it. */
const FILES_IN_FLIGHT = 64;
/** Files up to this size travel in batches: each read whole, a batch staged on a remote by one request. */
const SMALL_FILE = 64 * 1024;
const BATCH_FILES = 256;
const BATCH_BYTES = 1024 * 1024;
const BATCHES_IN_FLIGHT = 4;

export interface CopyTarget {
  remote: RemoteRun;
  action: Action;
  /** Set when the content is staged and checked: the temp file to commit. */
  temp?: string;
  /** Set when the master file moved while it was read: not committed this pass. */
  inconsistent?: boolean;
  /** Set when the remote could not stage it (full, failing): the block is not committed there. */
  failed?: boolean;
}

/** What a block's staging met of the master as a whole: once it is lost, nothing more is committed. */
export interface MasterState {
  lost?: EndpointError;
}

/**
 * A master file that is gone by the time it is read (removed, or its directory replaced), or is
 * no regular file any more (a directory, a symlink or a FIFO now), is no error: like one that
 * changed while read, it is left for the next pass, whose look at the master sees what is there
 * now and plans by that (rsync calls the first kind "vanished"). So is a remote directory that
 * another process removed or replaced while a copy was staged in it.
 */
function vanished(code: string | undefined): boolean {
  return movedAway(code) || code === 'EISDIR' || code === CHANGED;
}

/** The remote could not stage a copy: noted on it, and its block is not committed there. */
function stagingFailed(t: CopyTarget, err: unknown): void {
  if (err instanceof PathError && vanished(err.code)) {
    t.inconsistent = true;
    return;
  }
  t.failed = true;
  t.remote.fail(err);
}

function masterProblem(master: Endpoint, path: string, err: unknown, state: MasterState): string {
  if (err instanceof EndpointError) state.lost ??= err;
  return err instanceof ReplisyncError ? describe(err) : `${master.label}: ${path}: ${(err as Error).message}`;
}

/**
 * Stages every copy of a block; each master file is read once for all remotes that need it.
 * Small files go in batches (one request per batch and remote instead of one per file); larger
 * ones are streamed, each write awaited so that memory stays flat (backpressure from the slowest
 * remote). Content is committed only if the master did not change while it was read and the CRC
 * each remote computed of what it stored equals the CRC of what was read.
 */
export async function stageCopies(
  master: Endpoint,
  byPath: Map<string, CopyTarget[]>,
  state: MasterState,
  attrs: ReadonlySet<AttrName>,
  progress?: Progress,
): Promise<void> {
  const large: [string, CopyTarget[]][] = [];
  const batches: [string, CopyTarget[]][][] = [];
  let batch: [string, CopyTarget[]][] = [];
  let batchBytes = 0;
  for (const item of byPath) {
    const size = item[1][0]!.action.master!.size;
    if (size > SMALL_FILE) {
      large.push(item);
      continue;
    }
    if (batch.length >= BATCH_FILES || batchBytes + size > BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push(item);
    batchBytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  const fileLimit = pLimit(FILES_IN_FLIGHT);
  const batchLimit = pLimit(BATCHES_IN_FLIGHT);
  await Promise.all([
    ...batches.map((b) => batchLimit(() => stageBatch(master, b, state, attrs, progress))),
    ...large.map(([path, targets]) => fileLimit(() => stageOne(master, path, targets, state, progress))),
  ]);
}

/** What a remote gets of a batch: each file with the copy it serves and how it was read. */
type RemoteBatch = { file: WholeFile; target: CopyTarget; read: ReadStat }[];

/** Of the master file's attributes as read, those --attrs selects: a remote gives them to the staged file as it writes it. */
function attrsToStage(read: ReadStat, attrs: ReadonlySet<AttrName>): StagedAttrs {
  return { mode: attrs.has('mode') ? read.mode : undefined, mtimeMs: attrs.has('mtime') ? read.mtimeMs : undefined };
}

async function stageBatch(master: Endpoint, batch: [string, CopyTarget[]][], state: MasterState, attrs: ReadonlySet<AttrName>, progress?: Progress): Promise<void> {
  const wanted = batch.filter(([, targets]) => targets.some((t) => t.remote.alive));
  if (wanted.length === 0) return;
  let reads: ReadOutcome[];
  try {
    // One call for the whole batch: one request when the master is over SSH.
    reads = await master.readFiles(wanted.map(([path, targets]) => ({ path, size: targets[0]!.action.master!.size })));
  } catch (err) {
    for (const [path, targets] of wanted) for (const t of targets) if (t.remote.alive) t.remote.note(masterProblem(master, path, err, state));
    return;
  }
  const perRemote = new Map<RemoteRun, RemoteBatch>();
  wanted.forEach(([path, targets], i) => {
    const read = reads[i]!;
    const live = targets.filter((t) => t.remote.alive);
    if (!read.ok) {
      for (const t of live) {
        if (vanished(read.code)) t.inconsistent = true;
        else t.remote.pathError(master.label, path, read.error);
      }
      return;
    }
    progress?.advance(read.content.length);
    const file: WholeFile = { path, content: read.content, attrs: attrsToStage(read.stat, attrs) };
    for (const t of live) {
      if (!read.stat.consistent) {
        t.inconsistent = true;
        continue;
      }
      let rb = perRemote.get(t.remote);
      if (!rb) perRemote.set(t.remote, (rb = []));
      rb.push({ file, target: t, read: read.stat });
    }
  });
  await Promise.all(
    [...perRemote].map(async ([remote, rb]) => {
      let outcomes;
      try {
        outcomes = await remote.endpoint.stageFiles(rb.map((x) => x.file));
      } catch (err) {
        for (const x of rb) stagingFailed(x.target, err);
        return;
      }
      outcomes.forEach((o, i) => {
        const { target, read } = rb[i]!;
        if (o.ok) accept(target, o.staged, read);
        else if (vanished(o.code)) target.inconsistent = true;
        else {
          target.failed = true;
          remote.pathError(remote.label, target.action.path, o.error);
        }
      });
    }),
  );
}

/** Takes a staged copy for commit if it arrived intact, with the attributes the master file had when read. */
function accept(t: CopyTarget, staged: StagedFile, read: ReadStat): void {
  if (staged.crc !== read.crc || staged.size !== read.size) {
    // Left staged but uncommitted: the commit removes it, and the next pass tries again.
    t.failed = true;
    t.remote.pathError(t.remote.label, t.action.path, `arrived damaged (CRC ${staged.crc} != ${read.crc})`);
    return;
  }
  t.temp = staged.temp;
  const m = t.action.master!;
  const { size, mtimeMs, mode, uid, gid } = read;
  // Mostly the file is as listed, and the planned action stands: no copy of it per file and remote.
  if (size !== m.size || mtimeMs !== m.mtimeMs || mode !== m.mode || uid !== m.uid || gid !== m.gid) {
    t.action = { ...t.action, master: { ...m, size, mtimeMs, mode, uid, gid } };
  }
}

/** Whether a copy may go as the blocks that differ from the remote's file at its path. */
function deltaWanted(t: CopyTarget, path: string): boolean {
  const there = t.action.remote;
  return t.remote.endpoint.deltaTransfer === true && there?.type === 'file' && there.size > 0 && !t.remote.wholeFile.has(path);
}

/** What a remote's file is to a delta: its block signatures, at a block size that suits it and the master's file. */
interface Basis {
  signatures: Buffer;
  blockSize: number;
}

/** The bases of the copies that may go as a delta; a remote that cannot give its signatures gets the file whole. */
async function remoteBases(live: CopyTarget[], path: string, size: number): Promise<Map<CopyTarget, Basis>> {
  const bases = new Map<CopyTarget, Basis>();
  await Promise.all(
    live.map(async (t) => {
      if (!deltaWanted(t, path)) return;
      const blockSize = blockSizeFor(Math.max(size, t.action.remote!.size));
      const signatures = await t.remote.endpoint.blockSignatures(path, blockSize).catch(() => undefined);
      if (signatures && signatures.length > 0) bases.set(t, { signatures, blockSize });
    }),
  );
  return bases;
}

/** Where the master file's chunks go: a remote's writer, or a delta that one or more remotes get. */
interface ChunkSink {
  push(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

/**
 * The sinks of a file's chunks. Remotes whose files have the same block signatures (as they do
 * when they all hold the same old version) get the same delta: it is made once and each of them
 * gets every part. A remote whose writer fails is dropped; the others go on.
 */
function chunkSinks(
  writers: Map<CopyTarget, FileWriter>,
  bases: Map<CopyTarget, Basis>,
  drop: (t: CopyTarget, err: unknown) => Promise<void>,
): { sinks: ChunkSink[]; deltas: Map<CopyTarget, DeltaSender> } {
  const sinks: ChunkSink[] = [];
  const groups: { basis: Basis; members: CopyTarget[] }[] = [];
  for (const [t, w] of writers) {
    const basis = bases.get(t);
    if (!basis || !w.copyBasis) {
      sinks.push({ push: async (chunk) => writers.get(t)?.write(chunk).catch((err) => drop(t, err)), end: async () => undefined });
      continue;
    }
    const same = groups.find((g) => g.basis.blockSize === basis.blockSize && g.basis.signatures.equals(basis.signatures));
    if (same) same.members.push(t);
    else groups.push({ basis, members: [t] });
  }
  const deltas = new Map<CopyTarget, DeltaSender>();
  for (const { basis, members } of groups) {
    const toEach = async (send: (w: FileWriter) => Promise<void>): Promise<void> => {
      await Promise.all(
        members.map(async (t) => {
          const w = writers.get(t);
          if (w) await send(w).catch((err) => drop(t, err));
        }),
      );
    };
    const sink = { write: (c: Buffer) => toEach((w) => w.write(c)), copyBasis: (first: number, count: number) => toEach((w) => w.copyBasis!(first, count)) };
    const sender = new DeltaSender(sink, basis.signatures, basis.blockSize);
    for (const t of members) deltas.set(t, sender);
    const unlessGone = async (step: () => Promise<void>): Promise<void> => {
      const left = (): CopyTarget[] => members.filter((t) => writers.has(t));
      if (left().length > 0) await step().catch((err) => Promise.all(left().map((t) => drop(t, err))));
    };
    sinks.push({ push: (chunk) => unlessGone(() => sender.push(chunk)), end: () => unlessGone(() => sender.end()) });
  }
  return { sinks, deltas };
}

async function stageOne(master: Endpoint, path: string, targets: CopyTarget[], state: MasterState, progress?: Progress): Promise<void> {
  const live = targets.filter((t) => t.remote.alive);
  if (live.length === 0) return;
  const size = live[0]!.action.master!.size;
  // The master file is opened while the remotes make their block signatures: one wait, not two.
  const [opened, bases] = await Promise.all([
    master.openRead(path).then(
      (reader) => ({ reader }),
      (err: unknown) => ({ err }),
    ),
    remoteBases(live, path, size),
  ]);
  if (!('reader' in opened)) {
    const { err } = opened;
    for (const t of live) {
      if (err instanceof PathError && vanished(err.code)) t.inconsistent = true;
      else t.remote.note(masterProblem(master, path, err, state));
    }
    return;
  }
  const { reader } = opened;
  const writers = new Map<CopyTarget, FileWriter>();
  await Promise.all(
    live.map(async (t) => {
      try {
        const basis = bases.get(t);
        writers.set(t, await t.remote.endpoint.openWrite(path, size, basis && { blockSize: basis.blockSize }));
      } catch (err) {
        stagingFailed(t, err);
      }
    }),
  );
  const drop = async (t: CopyTarget, err?: unknown): Promise<void> => {
    const w = writers.get(t);
    writers.delete(t);
    if (err !== undefined) stagingFailed(t, err);
    await w?.abort().catch(() => undefined);
  };
  const { sinks, deltas } = chunkSinks(writers, bases, drop);

  let stat: ReadStat;
  try {
    for await (const chunk of reader.chunks()) {
      if (writers.size === 0) break;
      await Promise.all(sinks.map((s) => s.push(chunk)));
      progress?.advance(chunk.length);
    }
    await Promise.all(sinks.map((s) => s.end()));
    if (writers.size === 0) {
      await reader.cancel();
      return;
    }
    stat = await reader.result();
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    for (const t of [...writers.keys()]) {
      t.remote.note(masterProblem(master, path, err, state));
      await drop(t);
    }
    return;
  }

  await Promise.all(
    [...writers].map(async ([t, w]) => {
      if (!stat.consistent) {
        t.inconsistent = true;
        await drop(t);
        return;
      }
      try {
        const staged = await w.finish();
        const delta = deltas.get(t);
        if (delta) acceptDelta(t, staged, stat, delta.sent, path);
        else accept(t, staged, stat);
      } catch (err) {
        stagingFailed(t, err);
      }
    }),
  );
}

/**
 * A file built on the remote's own may come out wrong only because that file changed since its
 * block signatures were made: not damage, but a remote that moved. Left uncommitted, it is sent
 * whole in the next pass.
 */
function acceptDelta(t: CopyTarget, staged: StagedFile, read: ReadStat, sent: number, path: string): void {
  if (staged.crc !== read.crc || staged.size !== read.size) {
    t.inconsistent = true;
    t.remote.wholeFile.add(path);
    return;
  }
  t.remote.delta.copies++;
  t.remote.delta.bytes += read.size;
  t.remote.delta.sent += sent;
  accept(t, staged, read);
}
