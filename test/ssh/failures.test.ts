import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, boundRuns, comparable, makeTree, runCli, snapshot } from '../helpers/tree.js';
import { freshDir, sshTest, trees, type SshContext } from '../helpers/ssh-fixture.js';
import * as scenarios from '../helpers/scenarios.js';
import type { Where } from '../helpers/scenarios.js';

const test = sshTest(['web1']);

test.serial('a connection killed mid-copy leaves old or new content, and the next run completes and cleans up', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, { 'small.txt': 'small' });
  const big = nodePath.join(master, 'big.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=300'], { stdio: 'ignore' });
  await makeTree(at('r'), { 'big.bin': 'old content' });
  boundRuns(t);
  const child = spawn(process.execPath, [BIN, 'sync', master, `web1:${at('r')}`], { env: { ...process.env, ...lab.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Wait until the transfer is under way (a temp file appears), then cut the agent's connection.
  let temp: string | undefined;
  for (let i = 0; i < 400 && !temp; i++) {
    temp = readdirSync(at('r')).find((f) => f.startsWith('.replisync-'));
    if (!temp) await sleep(25);
  }
  t.truthy(temp, 'a temp file appeared during the transfer');
  execFileSync('pkill', ['-KILL', '-f', `${lab.hosts.get('web1')!.home}/.cache/replisync/agent-`]);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 2, stderr);
  t.regex(stderr, /web1:.*connection to the agent lost/);
  t.is(readFileSync(nodePath.join(at('r'), 'big.bin'), 'utf8'), 'old content', 'never a partial file at its path');
  const again = await runCli(['sync', master, `web1:${at('r')}`], { env: lab.env() });
  t.is(again.code, 0, again.stderr);
  t.deepEqual(readdirSync(at('r')).sort(), ['big.bin', 'small.txt']);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
});

test.serial("a master over SSH lost mid-copy fails the run (exit 2, named once) and changes nothing more on the remotes", async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  // The big file's block comes first; the root's block would delete the remote's extra file.
  const { master, at } = await trees(t, { 'small.txt': 'small' });
  mkdirSync(nodePath.join(master, 'a'));
  execFileSync('dd', ['if=/dev/urandom', `of=${nodePath.join(master, 'a/big.bin')}`, 'bs=1M', 'count=300'], { stdio: 'ignore' });
  await makeTree(at('r'), { extra: 'remote only', 'a/old': 'old' });
  const before = comparable(snapshot(at('r'), { withRoot: true }));
  boundRuns(t);
  const child = spawn(process.execPath, [BIN, 'sync', `web1:${master}`, at('r')], { env: { ...process.env, ...lab.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let staging = false;
  for (let i = 0; i < 400 && !staging; i++) {
    staging = readdirSync(nodePath.join(at('r'), 'a')).some((f) => f.startsWith('.replisync-'));
    if (!staging) await sleep(25);
  }
  t.true(staging, 'the transfer was under way');
  execFileSync('pkill', ['-KILL', '-f', `${lab.hosts.get('web1')!.home}/.cache/replisync/agent-`]);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 2, stderr);
  t.is(stderr.match(/web1:\S+: connection to the agent lost/g)?.length, 1, stderr);
  t.deepEqual(comparable(snapshot(at('r'), { withRoot: true })), before, 'no delete without its copies, no temp file, no lock');
});

function overSsh(t: { context: SshContext }): Where {
  const { lab } = t.context;
  lab.writeClientFiles();
  const base = freshDir(t, 'blocks');
  return { base, remote: (p) => `web1:${p}`, env: lab.env({ REPLISYNC_LOCK_DIR: nodePath.join(base, 'locks') }) };
}

test.serial('over SSH: preBlock and postBlock run on the host in order', (t) => scenarios.hooksRunInOrderAroundEachBlock(t, overSsh(t)));
test.serial('over SSH: a failing preBlock leaves the block entirely old', (t) => scenarios.failingPreBlockLeavesTheBlockOld(t, overSsh(t)));
test.serial('over SSH: SIGTERM while a hook runs on the host or its lock is waited for stops the run then, the hook with it', (t) =>
  scenarios.stopDuringHookOrLockWait(t, overSsh(t)),
);
test.serial('over SSH: master files that vanish before they are read are no error', (t) => scenarios.vanishedMasterFilesAreNoError(t, overSsh(t)));
test.serial('over SSH: a master directory gone mid-run fails the run and deletes nothing for it', (t) => scenarios.masterGoneMidRunDeletesNothing(t, overSsh(t)));
test.serial('over SSH: a crash between staging and commit leaves no mixed block', (t) => scenarios.crashBetweenStagingAndCommit(t, overSsh(t)));
test.serial('over SSH: a remote file changed during the sync gets another pass', (t) => scenarios.remoteChangedDuringSyncGetsAnotherPass(t, overSsh(t)));
test.serial('over SSH: declared blocks hold in later passes, hooks and all', (t) => scenarios.hooksWrapLaterPassesToo(t, overSsh(t)));
test.serial('over SSH: a staged file replaced before its commit is read again and copied again', (t) => scenarios.stagedFileReplacedBeforeCommit(t, overSsh(t)));
test.serial('over SSH: remote directories removed or filled by another process mid-run get another pass', (t) =>
  scenarios.remoteDirectoriesChangedByAnotherProcess(t, overSsh(t)),
);
test.serial('over SSH: a master file rewritten during the sync is never committed mixed', (t) => scenarios.masterWriterNeverCommitsAMix(t, overSsh(t)));
test.serial('over SSH: two runs on one remote respect its lock', (t) => scenarios.concurrentRunsRespectTheRemoteLock(t, overSsh(t)));

test.serial('Ctrl-C while a host is still being reached stops the run at once, not when that host times out', async (t) => {
  const { lab } = t.context;
  // A "host" that takes the TCP connection and never says a word: its handshake would wait 5 minutes.
  const silent = createServer((socket) => socket.on('error', () => undefined));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const reached = once(silent, 'connection');
  t.teardown(() => silent.close());
  const port = (silent.address() as { port: number }).port;
  lab.writeClientFiles({ extraConfig: `Host silent\n  HostName 127.0.0.1\n  Port ${port}\n  User root\n  ConnectTimeout 300\n` });
  const { master, at } = await trees(t, { 'a.txt': 'a' });
  boundRuns(t);
  const child = spawn(process.execPath, [BIN, 'sync', master, at('r1'), `web1:${at('r2')}`, `silent:${at('r3')}`], { env: { ...process.env, ...lab.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await reached;
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  t.is(code, 2, stderr);
  t.regex(stderr, /SIGINT: stopping/);
  // Nothing was changed: the run stops before its first change waits for every host.
  t.deepEqual(readdirSync(nodePath.dirname(at('r1'))).sort(), ['master']);
});
