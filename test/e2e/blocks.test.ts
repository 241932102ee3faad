import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import * as s from '../helpers/scenarios.js';
import { BIN, cleanup, comparable, makeTree, runCli, snapshot, tempDir } from '../helpers/tree.js';

function local(t: { teardown(fn: () => void): void }): s.Where {
  const base = tempDir('replisync-blocks-');
  t.teardown(() => void cleanup(base));
  return { base, remote: (p) => p, env: { REPLISYNC_LOCK_DIR: nodePath.join(base, 'locks') } };
}

test.serial('preBlock and postBlock run in order around each block; nothing to do runs no hook', (t) => s.hooksRunInOrderAroundEachBlock(t, local(t)));
test.serial('declared blocks hold in later passes: their hooks wrap every change of their files', (t) => s.hooksWrapLaterPassesToo(t, local(t)));
test.serial('a failing preBlock leaves the block entirely old', (t) => s.failingPreBlockLeavesTheBlockOld(t, local(t)));
test.serial('master files that vanish before they are read are no error: the next pass sees them gone', (t) => s.vanishedMasterFilesAreNoError(t, local(t)));
test.serial('a master directory gone mid-run fails the run and deletes nothing for it', (t) => s.masterGoneMidRunDeletesNothing(t, local(t)));
test.serial('a crash between staging and commit leaves no mixed block; the next run completes', (t) => s.crashBetweenStagingAndCommit(t, local(t)));
test.serial('a remote file changed during the sync gets another pass', (t) => s.remoteChangedDuringSyncGetsAnotherPass(t, local(t)));
test.serial('remote directories removed or filled by another process mid-run are no error: another pass sets them right', (t) =>
  s.remoteDirectoriesChangedByAnotherProcess(t, local(t)),
);
test.serial('a staged file replaced before its commit is not taken for the one staged: read again, copied again', (t) => s.stagedFileReplacedBeforeCommit(t, local(t)));
test.serial('a master file rewritten during the sync is never committed half old, half new', (t) => s.masterWriterNeverCommitsAMix(t, local(t)));
test.serial('a small master file rewritten during the sync is never committed mixed either (batched path)', (t) =>
  s.masterWriterNeverCommitsAMix(t, local(t), 64 * 1024),
);
test.serial('two runs on one remote: the lock makes the second wait or fail naming the holder', (t) => s.concurrentRunsRespectTheRemoteLock(t, local(t)));
test.serial('overlapping runs of one job: the second exits 2, or waits with --wait (and stops cleanly on SIGTERM)', (t) => s.overlappingRunsOfOneJob(t, local(t)));
test.serial('SIGTERM to replisync alone while a hook runs or a lock is waited for: it stops then, the hook with it, nothing changed', (t) =>
  s.stopDuringHookOrLockWait(t, local(t)),
);

test.serial('a file the remote cannot take (too large for it) keeps its whole block old there; the other blocks go on', async (t) => {
  const w = local(t);
  const master = nodePath.join(w.base, 'master');
  const r = nodePath.join(w.base, 'r');
  await makeTree(master, { 'app/small': 'new small', 'app/big': 'x'.repeat(300 * 1024), 'app/new/deeper': 'new', 'lib/other': 'other block' });
  await makeTree(r, { 'app/small': 'old small' });
  const before = comparable(snapshot(nodePath.join(r, 'app'), { withRoot: true }));
  // The file size limit is inherited by the local agent: a write past 200 KiB fails there (EFBIG).
  const limited = spawnSync('bash', ['-c', 'ulimit -f 200; exec "$@"', 'bash', process.execPath, BIN, 'sync', master, r], { env: { ...process.env, ...w.env }, encoding: 'utf8' });
  t.is(limited.status, 2, limited.stderr);
  t.regex(limited.stderr, new RegExp(`${r}: app/big: cannot stage new content: file too large \\(EFBIG\\)`));
  t.regex(limited.stderr, new RegExp(`${r}: block app left as it was: 1 of its file\\(s\\) could not be staged there`));
  t.deepEqual(comparable(snapshot(nodePath.join(r, 'app'), { withRoot: true })), before, 'nothing of the block changed, no temp file left');
  t.is(readFileSync(nodePath.join(r, 'lib/other'), 'utf8'), 'other block');
  t.false(existsSync(nodePath.join(r, '.replisync.lock')));

  const next = await runCli(['sync', master, r], { env: w.env });
  t.is(next.code, 0, next.stderr);
  t.deepEqual(comparable(snapshot(r)), comparable(snapshot(master)));
});

test.serial('type changes across declared blocks: what stands in the way goes in the block that needs the path', async (t) => {
  const w = local(t);
  const master = nodePath.join(w.base, 'master');
  const r = nodePath.join(w.base, 'r');
  // On the remote, app is a file and data a directory; on the master the other way round. app/conf
  // falls in the first block, data (the file) too, while app and data/** fall in the second.
  await makeTree(master, { 'app/conf': 'c', 'app/bin': 'b', data: 'now a file' });
  await makeTree(r, { app: 'was a file', 'data/x/conf': 'old', 'data/y': 'old' });
  const config = nodePath.join(w.base, 'job.json');
  const blocks = [{ name: 'first', include: ['**/conf', 'data'] }, { name: 'second', include: ['app/**', 'data/**'] }];
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [r], blocks } } }));
  const res = await runCli(['sync', '--config', config, '--format', 'json'], { env: w.env });
  t.is(res.code, 0, res.stderr);
  t.is(JSON.parse(res.stdout).remotes[0].passes, 1);
  t.deepEqual(comparable(snapshot(r)), comparable(snapshot(master)));
});

test('a master directory swapped for a symlink after the listing is never read through: what is outside the master goes nowhere', async (t) => {
  const w = local(t);
  const master = nodePath.join(w.base, 'master');
  const r = nodePath.join(w.base, 'r');
  const outside = nodePath.join(w.base, 'outside');
  // The decoy has the size of the file outside, so that only the check of which file was opened stops the read.
  await makeTree(master, { 'a/first': 'first block', 'sub/secret': 'decoy!' });
  await makeTree(outside, { secret: 'SECRET' });
  const config = nodePath.join(w.base, 'c.json');
  const swap = `rm -r ${master}/sub && ln -s ${outside} ${master}/sub`;
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [r], blocks: [{ name: 'a', include: ['a/**'], preBlock: swap }, { name: 'sub', include: ['sub/**'] }] } } }));
  // One pass: what it copied stays, to be seen.
  const once = await runCli(['sync', '--config', config, '--format', 'json', '--max-passes', '1'], { env: w.env });
  t.is(once.code, 1, once.stderr);
  const report = JSON.parse(once.stdout).remotes[0];
  t.deepEqual(report.inconsistent, ['sub'], 'the master has a symlink there now');
  t.false(report.actions.some((a: { op: string; path: string }) => a.op === 'copy' && a.path === 'sub/secret'), 'not copied');
  for (const [path, e] of snapshot(r)) if (e.type === 'file') t.not(readFileSync(nodePath.join(r, path), 'utf8'), 'SECRET', path);
  const again = await runCli(['sync', '--config', config], { env: w.env });
  t.is(again.code, 0, again.stderr);
  t.is(snapshot(r).get('sub')?.type, 'symlink', 'the remote has what the master has now: a symlink');
  t.deepEqual(comparable(snapshot(r)), comparable(snapshot(master)));
});

test('--max-delete counts the deletions of every pass: a master emptied mid-run is not replicated by the next pass', async (t) => {
  const w = local(t);
  const master = nodePath.join(w.base, 'master');
  const r = nodePath.join(w.base, 'r');
  const files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`a/f${i}`, `file ${i}`]));
  await makeTree(master, { ...files, 'b/x': 'b' });
  const config = nodePath.join(w.base, 'c.json');
  // Once block a is on the remote, the master loses it (by mistake, say), before block b.
  const empty = `rm -f ${master}/a/*`;
  const job = { master, remotes: [r], maxDelete: 5, blocks: [{ name: 'a', include: ['a/**'] }, { name: 'b', include: ['b/**'], preBlock: empty }] };
  writeFileSync(config, JSON.stringify({ jobs: { j: job } }));
  const res = await runCli(['sync', '--config', config], { env: w.env });
  t.is(res.code, 2, res.stdout);
  t.regex(res.stderr, new RegExp(`${r}: refused: 20 more deletions needed in pass 2, 0 made before, --max-delete is 5; that pass was not applied`));
  t.is(readdirSync(nodePath.join(r, 'a')).length, 20, 'what the master lost is still on the remote');
});
