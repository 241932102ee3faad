import test from 'ava';
import * as nodePath from 'node:path';
import * as s from '../helpers/scenarios.js';
import { cleanup, tempDir } from '../helpers/tree.js';

function local(t: { teardown(fn: () => void): void }): s.Where {
  const base = tempDir('replisync-blocks-');
  t.teardown(() => void cleanup(base));
  return { base, remote: (p) => p, env: { REPLISYNC_LOCK_DIR: nodePath.join(base, 'locks') } };
}

test.serial('preBlock and postBlock run in order around each block; nothing to do runs no hook', (t) => s.hooksRunInOrderAroundEachBlock(t, local(t)));
test.serial('a failing preBlock leaves the block entirely old', (t) => s.failingPreBlockLeavesTheBlockOld(t, local(t)));
test.serial('master files that vanish before they are read are no error: the next pass sees them gone', (t) => s.vanishedMasterFilesAreNoError(t, local(t)));
test.serial('a master directory gone mid-run fails the run and deletes nothing for it', (t) => s.masterGoneMidRunDeletesNothing(t, local(t)));
test.serial('a crash between staging and commit leaves no mixed block; the next run completes', (t) => s.crashBetweenStagingAndCommit(t, local(t)));
test.serial('a remote file changed during the sync gets another pass', (t) => s.remoteChangedDuringSyncGetsAnotherPass(t, local(t)));
test.serial('a master file rewritten during the sync is never committed half old, half new', (t) => s.masterWriterNeverCommitsAMix(t, local(t)));
test.serial('a small master file rewritten during the sync is never committed mixed either (batched path)', (t) =>
  s.masterWriterNeverCommitsAMix(t, local(t), 64 * 1024),
);
test.serial('two runs on one remote: the lock makes the second wait or fail naming the holder', (t) => s.concurrentRunsRespectTheRemoteLock(t, local(t)));
test.serial('overlapping runs of one job: the second exits 2, or waits with --wait', (t) => s.overlappingRunsOfOneJob(t, local(t)));
