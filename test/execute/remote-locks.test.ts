import test, { type ExecutionContext } from 'ava';
import { mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LockOwner } from '../../src/endpoint/endpoint.js';
import { LocalEndpoint } from '../../src/endpoint/local/local-endpoint.js';
import { type LockRequest, lockRemotes } from '../../src/execute/remote-locks.js';
import { RemoteRun } from '../../src/execute/remote-run.js';
import { cleanup, tempDir } from '../helpers/tree.js';

/** A real remote whose first lock attempt comes late: so another run gets there first. */
class LateLock extends LocalEndpoint {
  constructor(root: string, private delayMs: number) {
    super(root);
  }

  override async lock(owner: LockOwner, timeoutMs: number): Promise<void> {
    await sleep(this.delayMs);
    this.delayMs = 0;
    return super.lock(owner, timeoutMs);
  }
}

function request(runId: string, waited: string[]): LockRequest {
  return {
    ownerOf: () => ({ runId, job: runId, block: 'b' }),
    timeoutMs: 10_000,
    each: (remotes, fn) => Promise.all([...remotes].map((r) => fn(r).catch((err: unknown) => r.fail(err)))),
    waiting: (r) => waited.push(`${runId} ${nodePath.basename(r.label)}`),
  };
}

/** Run A takes `first` at once and `second` late; run B the other way round: each holds one lock the other wants. */
async function crossed(t: ExecutionContext, first: 'r1' | 'r2'): Promise<void> {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const second = first === 'r1' ? 'r2' : 'r1';
  for (const r of ['r1', 'r2']) mkdirSync(nodePath.join(dir, r));
  const runOf = async (early: string, late: string): Promise<RemoteRun[]> => {
    const runs = [new RemoteRun(nodePath.join(dir, early), Promise.resolve(new LateLock(nodePath.join(dir, early), 0))), new RemoteRun(nodePath.join(dir, late), Promise.resolve(new LateLock(nodePath.join(dir, late), 200)))];
    for (const r of runs) await r.open();
    return runs;
  };
  const [a, b] = [await runOf(first, second), await runOf(second, first)];
  const waited: string[] = [];
  const finish = async (runs: RemoteRun[], id: string): Promise<number> => {
    const locked = await lockRemotes(runs, request(id, waited));
    // The run's work: the locks are held a moment, then let go.
    await sleep(50);
    await Promise.all([...locked].map((r) => r.endpoint.unlock()));
    await Promise.all(runs.map((r) => r.endpoint.close()));
    return locked.size;
  };
  const [lockedA, lockedB] = await Promise.all([finish(a, 'A'), finish(b, 'B')]);
  t.deepEqual([lockedA, lockedB], [2, 2], 'each run got both locks, one after the other');
  t.deepEqual([...a, ...b].flatMap((r) => r.errors), []);
  t.true(waited.length > 0, 'one of them waited for the other');
}

test('two runs that each took one lock the other wants do not wait for each other for good (the first taken comes first in lock order)', async (t) => {
  // Which of the two comes first in lock order depends on the inodes: both ways round are tried.
  await crossed(t, 'r1');
});

test('two runs that each took one lock the other wants do not wait for each other for good (the other way round)', async (t) => {
  await crossed(t, 'r2');
});
