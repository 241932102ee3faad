import pLimit from 'p-limit';
import type { Action } from '../engine/action.js';
import type { Endpoint, FileWriter, ReadStat } from '../endpoint/endpoint.js';
import { ReplisyncError, describe } from '../endpoint/errors.js';
import type { RemoteRun } from './remote-run.js';
import type { Progress } from './types.js';

/** Master files read at once; each is streamed to every remote that needs it. */
const FILES_IN_FLIGHT = 64;

export interface CopyTarget {
  remote: RemoteRun;
  action: Action;
  /** Set when the content is staged and checked: the temp file to commit. */
  temp?: string;
  /** Set when the master file moved while it was read: not committed this pass. */
  inconsistent?: boolean;
}

function masterProblem(master: Endpoint, path: string, err: unknown): string {
  return err instanceof ReplisyncError ? describe(err) : `${master.label}: ${path}: ${(err as Error).message}`;
}

/**
 * Stages every copy of a block: each master file is read once and its chunks are written to all
 * remotes that need it, each write awaited so that memory stays flat (backpressure from the
 * slowest remote). Content is committed only if the master did not change while it was read and
 * the CRC each remote computed of what it stored equals the CRC of what was read.
 */
export async function stageCopies(master: Endpoint, byPath: Map<string, CopyTarget[]>, progress?: Progress): Promise<void> {
  const limit = pLimit(FILES_IN_FLIGHT);
  await Promise.all([...byPath].map(([path, targets]) => limit(() => stageOne(master, path, targets, progress))));
}

async function stageOne(master: Endpoint, path: string, targets: CopyTarget[], progress?: Progress): Promise<void> {
  const live = targets.filter((t) => t.remote.alive);
  if (live.length === 0) return;
  let reader;
  try {
    reader = await master.openRead(path);
  } catch (err) {
    for (const t of live) t.remote.errors.push(masterProblem(master, path, err));
    return;
  }
  const size = live[0]!.action.master!.size;
  const writers = new Map<CopyTarget, FileWriter>();
  await Promise.all(
    live.map(async (t) => {
      try {
        writers.set(t, await t.remote.endpoint.openWrite(path, size));
      } catch (err) {
        t.remote.fail(err);
      }
    }),
  );
  const drop = async (t: CopyTarget, err?: unknown): Promise<void> => {
    const w = writers.get(t);
    writers.delete(t);
    if (err !== undefined) t.remote.fail(err);
    await w?.abort().catch(() => undefined);
  };

  let stat: ReadStat;
  try {
    for await (const chunk of reader.chunks()) {
      if (writers.size === 0) break;
      await Promise.all([...writers].map(([t, w]) => w.write(chunk).catch((err) => drop(t, err))));
      progress?.advance(chunk.length);
    }
    if (writers.size === 0) {
      await reader.cancel();
      return;
    }
    stat = await reader.result();
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    for (const t of [...writers.keys()]) {
      t.remote.errors.push(masterProblem(master, path, err));
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
        if (staged.crc !== stat.crc || staged.size !== stat.size) {
          // Left staged but uncommitted: the commit removes it, and the next pass tries again.
          t.remote.pathError(t.remote.label, path, `arrived damaged (CRC ${staged.crc} != ${stat.crc})`);
          return;
        }
        t.temp = staged.temp;
        // Commit what was read, with the attributes it had when it was read.
        const { size: sz, mtimeMs, mode, uid, gid } = stat;
        t.action = { ...t.action, master: { ...t.action.master!, size: sz, mtimeMs, mode, uid, gid } };
      } catch (err) {
        t.remote.fail(err);
      }
    }),
  );
}
