import { statSync } from 'node:fs';
import { link, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError, reasonOf } from '../endpoint/errors.js';
import { readLockFile, removeStaleLock } from '../endpoint/local/lock-file.js';
import { processAlive, thisProcess } from '../endpoint/local/process-alive.js';
import { makeDirs } from '../make-dirs.js';

/** Another run of the same job holds its run lock (exit 2, unless --wait). */
export class JobBusy extends Error {}

interface JobLockRecord {
  job: string;
  runId: string;
  host: string;
  pid: number;
  since: string;
  instance?: string;
}

export interface JobLock {
  release(): Promise<void>;
}

/** Where job locks live: REPLISYNC_LOCK_DIR, else the session's runtime directory if it is there (cron may inherit a stale one), else the temp directory. */
function lockDir(): string {
  if (process.env.REPLISYNC_LOCK_DIR) return process.env.REPLISYNC_LOCK_DIR;
  const runtime = process.env.XDG_RUNTIME_DIR;
  // A relative one is no runtime directory (XDG spec): runs started elsewhere would not meet there.
  const base = runtime && nodePath.isAbsolute(runtime) && statSync(runtime, { throwIfNoEntry: false })?.isDirectory() ? runtime : os.tmpdir();
  return nodePath.join(base, `replisync-${process.getuid?.() ?? 0}`);
}

function fileFor(job: string): string {
  const safe = job.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return nodePath.join(lockDir(), `${safe}.lock`);
}

/** A temp record with no holder's record in it is left only this long to the run writing it. */
const UNFINISHED_RECORD_MS = 60_000;

/**
 * Removes what runs killed mid-way left in the lock directory: the temp record a run writes before
 * it takes the lock (kept while it waits with --wait), and a stale lock moved aside to be removed.
 * Each holds a record; one whose process is gone is nobody's.
 */
async function removeLeftovers(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!/\.lock\.[^/]*\.(tmp|stale)$/.test(name)) continue;
    const path = nodePath.join(dir, name);
    const found = await readLockFile<JobLockRecord>(path);
    if (found?.ino === undefined) continue;
    const holder = 'record' in found ? found.record : undefined;
    const gone = holder ? !processAlive(holder.pid, holder.instance) : Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now()) > UNFINISHED_RECORD_MS;
    if (gone) await unlink(path).catch(() => undefined);
  }
}

/**
 * One run per job at a time on this machine, so that overlapping cron runs do not collide: the
 * second one fails at once naming the first, or with `wait` waits for it (`waiting` hears of it
 * once). A lock whose process is gone is taken over.
 */
export async function acquireJobLock(job: string, runId: string, wait: boolean, waiting?: (message: string) => void, stop?: AbortSignal): Promise<JobLock> {
  const file = fileFor(job);
  try {
    makeDirs(nodePath.dirname(file), 0o700);
  } catch (err) {
    throw new UsageError(`job lock: cannot make ${nodePath.dirname(file)}: ${reasonOf(err)}`);
  }
  await removeLeftovers(nodePath.dirname(file));
  const record: JobLockRecord = { job, runId, host: os.hostname(), ...thisProcess(), since: new Date().toISOString() };
  const tmp = `${file}.${runId}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record)}\n`).catch((err: unknown) => {
    throw new UsageError(`job lock: cannot write in ${nodePath.dirname(file)}: ${reasonOf(err)}`);
  });
  let told = false;
  try {
    for (;;) {
      try {
        await link(tmp, file);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw new UsageError(`job lock: cannot take ${file}: ${reasonOf(err)}`);
      }
      const found = await readLockFile<JobLockRecord>(file);
      // Not a file we could open: not ours to judge, nor to remove.
      if (found && found.ino === undefined) throw new UsageError(`job lock: ${file}: ${'problem' in found ? found.problem : ''}`);
      const holder = found && 'record' in found ? found.record : undefined;
      // Records go in whole, so a file that holds none is what a crash of the machine left (the
      // file linked, its content not yet on disk): nobody holds it. Stale like one whose process is gone.
      if (found && (!holder || !processAlive(holder.pid, holder.instance))) {
        try {
          await removeStaleLock(file, found.ino!, `${file}.${runId}.stale`);
        } catch (err) {
          if ((err as { code?: string }).code !== 'ENOENT') throw new UsageError(`job lock: cannot remove the stale ${file}: ${reasonOf(err)}`);
        }
        continue;
      }
      const who = holder ? `pid ${holder.pid} on ${holder.host}, run ${holder.runId}, since ${holder.since}` : 'another run';
      if (!wait) throw new JobBusy(`job ${job} is already running (${who}); ${file} is its lock. Use --wait to wait for it.`);
      if (!told) waiting?.(`job ${job} is already running (${who}): waiting for it to end`);
      told = true;
      // A stop ends the wait: the temp record is removed below.
      await sleep(500, undefined, { signal: stop });
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return {
    async release() {
      const found = await readLockFile<JobLockRecord>(file);
      if (found && 'record' in found && found.record.runId === runId) await unlink(file).catch(() => undefined);
    },
  };
}
