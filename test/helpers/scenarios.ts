import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { processInstance } from '../../src/endpoint/local/process-alive.js';
import { BIN, type CliResult, boundRuns, comparable, makeTree, runCli, snapshot } from './tree.js';

/**
 * Block, lock and verification scenarios, run against local remotes and against remotes over SSH
 * alike: `remote(path)` names the remote endpoint for a directory, `env` is how to run the CLI.
 */
export interface Where {
  base: string;
  remote(path: string): string;
  env: NodeJS.ProcessEnv;
}

function writeConfig(file: string, job: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify({ jobs: { j: job } }, null, 2));
}

/** A run started in the background: how it ends, what it said so far, and a way to signal it. */
interface Started {
  done: Promise<CliResult>;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

/** Starts a run in the background, the test bounded (boundRuns). */
function start(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv): Started {
  boundRuns(t);
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    done: new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }))),
    stderr: () => stderr,
    kill: (signal) => child.kill(signal),
  };
}

/** Waits (at most 10 s) until `ready` holds. */
async function until(ready: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400 && !ready(); i++) await sleep(25);
  return ready();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A scenario's master (made from `spec`), its remote directory (made from `remoteSpec`, if given) and where its config goes. */
async function setupTrees(w: Where, spec: Record<string, string>, remoteSpec?: Record<string, string>): Promise<{ master: string; r: string; config: string }> {
  const master = nodePath.join(w.base, 'master');
  const r = nodePath.join(w.base, 'r');
  await makeTree(master, spec);
  if (remoteSpec) await makeTree(r, remoteSpec);
  return { master, r, config: nodePath.join(w.base, 'c.json') };
}

export async function hooksRunInOrderAroundEachBlock(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'lib/a.so': 'a', 'bin/app': 'app', 'www/index.html': 'hi' });
  const log = nodePath.join(w.base, 'hooks.log');
  writeConfig(config, {
    master,
    remotes: [w.remote(r)],
    blocks: [
      // One script for every hook, told which by its environment; one that reads its input gets none.
      { name: 'libs', include: ['lib/**'], preBlock: `read line; echo "$REPLISYNC_HOOK-$REPLISYNC_BLOCK $REPLISYNC_JOB $REPLISYNC_PASS" >> ${log}`, postBlock: `test -f lib/a.so && echo post-libs >> ${log}` },
      { name: 'app', include: ['bin/**'], preBlock: `test ! -f bin/app && echo pre-app >> ${log}`, postBlock: `echo post-app >> ${log}; echo app restarted` },
    ],
  });
  const res = await runCli(['sync', '--config', config, '--format', 'json', '-v'], { env: w.env });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['preBlock-libs j 1', 'post-libs', 'pre-app', 'post-app']);
  t.regex(res.stderr, /: postBlock echo post-app >> \S+; echo app restarted: app restarted\n/, 'what a hook prints is shown with -v');
  const blocks = JSON.parse(res.stdout).remotes[0].blocks.map((b: { name: string }) => b.name);
  t.deepEqual(blocks, ['libs', 'app', '(rest)']);
  // Nothing to change: no lock, no hook.
  const again = await runCli(['sync', '--config', config], { env: w.env });
  t.is(again.code, 0);
  t.is(readFileSync(log, 'utf8').trim().split('\n').length, 4);
}

export async function failingPreBlockLeavesTheBlockOld(t: ExecutionContext, w: Where): Promise<void> {
  // New directories too: their files were staged in directories made for them.
  const { master, r, config } = await setupTrees(w, { 'app/one': 'new one', 'app/two': 'new two', 'app/new/deeper/three': 'new three' }, { 'app/one': 'old', 'app/two': 'old' });
  const before = comparable(snapshot(r, { withRoot: true }));
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: 'echo cannot stop the service >&2; exit 3' }] });
  const res = await runCli(['sync', '--config', config], { env: w.env });
  t.is(res.code, 2);
  t.regex(res.stderr, /preBlock command failed with exit 3: cannot stop the service/);
  t.is(readFileSync(nodePath.join(r, 'app/one'), 'utf8'), 'old');
  t.is(readFileSync(nodePath.join(r, 'app/two'), 'utf8'), 'old');
  t.deepEqual(readdirSync(nodePath.join(r, 'app')).sort(), ['one', 'two'], 'staged files and the directories made for them removed');
  t.false(existsSync(nodePath.join(r, '.replisync.lock')));
  t.deepEqual(comparable(snapshot(r, { withRoot: true })), before, 'not even a time or a mode changed');
}

export async function crashBetweenStagingAndCommit(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'app/one': 'new one', 'app/two': 'new two', 'app/three': 'new three' }, { 'app/one': 'old', 'app/two': 'old' });
  // The hook runs after staging, before the commit: it kills the agent (its parent), then replisync.
  const crash = `kill -9 $PPID; pkill -9 -f 'replisync.js sync --config ${config}'`;
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: crash }] });
  const res = await runCli(['sync', '--config', config], { env: w.env });
  t.not(res.code, 0);
  t.is(readFileSync(nodePath.join(r, 'app/one'), 'utf8'), 'old', 'no mixed block');
  t.is(readFileSync(nodePath.join(r, 'app/two'), 'utf8'), 'old');
  t.false(existsSync(nodePath.join(r, 'app/three')));
  t.true(readdirSync(nodePath.join(r, 'app')).some((f) => f.startsWith('.replisync-')), 'the crash left staged temp files');
  t.true(existsSync(nodePath.join(r, '.replisync.lock')), 'and a stale lock');
  // Another config file: a pkill of the crash hook still on its way must not match the next run.
  const again = nodePath.join(w.base, 'again.json');
  writeConfig(again, { master, remotes: [w.remote(r)] });
  const next = await runCli(['sync', '--config', again], { env: w.env });
  t.is(next.code, 0, next.stderr);
  t.deepEqual(comparable(snapshot(r)), comparable(snapshot(master)));
  t.deepEqual(readdirSync(nodePath.join(r, 'app')).sort(), ['one', 'three', 'two'], 'leftovers removed');
  t.false(existsSync(nodePath.join(r, '.replisync.lock')), 'stale lock taken over and removed');
}

export async function remoteChangedDuringSyncGetsAnotherPass(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'app/conf': 'master version' }, { 'app/conf': 'remote version' });
  const marker = nodePath.join(w.base, 'changed-once');
  // Someone writes the file on the remote between the listing and the commit (once).
  const hook = `test -f ${marker} || { echo meddled >> app/conf; touch ${marker}; }`;
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: hook }] });
  const res = await runCli(['sync', '--config', config, '--format', 'json'], { env: w.env });
  t.is(res.code, 0, res.stderr);
  const report = JSON.parse(res.stdout).remotes[0];
  t.is(report.passes, 2, 'the changed file got a second pass');
  t.is(readFileSync(nodePath.join(r, 'app/conf'), 'utf8'), 'master version');
  const once = await runCli(['sync', '--config', config, '--max-passes', '1'], { env: w.env });
  t.is(once.code, 0);
}

export async function remoteDirectoriesChangedByAnotherProcess(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(
    w,
    { 'app/keep': 'k', 'app/new/one': 'one', 'app/made/two': 'two' },
    { 'app/keep': 'old k', 'app/old/x': 'x' },
  );
  const marker = nodePath.join(w.base, 'changed-once');
  // Between staging and commit (once), another process on the remote removes the directory made
  // for the new file staged in it, puts a file in a directory the plan empties, and a file where
  // a directory is to be made.
  const hook = `test -f ${marker} || { rm -rf app/new; touch app/old/y; echo in the way > app/made; touch ${marker}; }`;
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: hook }] });
  const res = await runCli(['sync', '--config', config, '--format', 'json'], { env: w.env });
  t.true(existsSync(marker), 'the hook ran');
  t.is(res.code, 0, `no error, another pass: ${res.stderr}`);
  t.is(res.stderr, '');
  const report = JSON.parse(res.stdout).remotes[0];
  t.is(report.passes, 2);
  t.deepEqual(report.inconsistent, []);
  t.deepEqual(comparable(snapshot(r)), comparable(snapshot(master)), 'the remote ends as the master');
  const again = await runCli(['diff', '--config', config], { env: w.env });
  t.is(again.code, 0, again.stdout);
}

export async function stagedFileReplacedBeforeCommit(t: ExecutionContext, w: Where): Promise<void> {
  // Same size as the master's content: only the content tells the replacement apart.
  const { master, r, config } = await setupTrees(w, { 'app/conf': 'GOOD' }, { 'app/conf': 'OLD!' });
  // Between staging and commit, a process that may write in app/ puts its own file at the temp's name.
  const marker = nodePath.join(w.base, 'replaced-once');
  const hook = `test -f ${marker} || { for f in app/.replisync-*.tmp; do rm -f "$f"; printf EVIL > "$f"; done; touch ${marker}; }`;
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: hook }] });
  const res = await runCli(['sync', '--config', config, '--format', 'json'], { env: w.env });
  t.true(existsSync(marker), 'the hook ran');
  t.is(res.code, 0, res.stderr);
  t.is(JSON.parse(res.stdout).remotes[0].passes, 2, 'what was put in place was read again, and copied again');
  t.is(readFileSync(nodePath.join(r, 'app/conf'), 'utf8'), 'GOOD');
  const cached = await runCli(['diff', '--config', config], { env: w.env });
  t.is(cached.code, 0, cached.stdout);
}

export async function hooksWrapLaterPassesToo(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'app/conf': 'master version', 'lib/a.so': 'a' }, { 'app/conf': 'remote version' });
  const log = nodePath.join(w.base, 'hooks.log');
  const marker = nodePath.join(w.base, 'changed-once');
  // The first time, someone writes the file on the remote between staging and commit: it needs a second pass.
  const meddle = `test -f ${marker} || { echo meddled >> app/conf; touch ${marker}; }`;
  writeConfig(config, {
    master,
    remotes: [w.remote(r)],
    blocks: [
      { name: 'libs', include: ['lib/**'], preBlock: `echo pre-libs >> ${log}`, postBlock: `echo post-libs >> ${log}` },
      { name: 'app', include: ['app/**'], preBlock: `echo pre-app >> ${log}; ${meddle}`, postBlock: `echo post-app >> ${log}` },
    ],
  });
  const res = await runCli(['sync', '--config', config, '--format', 'json'], { env: w.env });
  t.is(res.code, 0, res.stderr);
  const report = JSON.parse(res.stdout).remotes[0];
  t.is(report.passes, 2);
  t.deepEqual(
    report.blocks.map((b: { name: string; pass: number }) => `${b.name} ${b.pass}`),
    ['libs 1', 'app 1', 'app 2'],
    'the second pass keeps the declared block',
  );
  t.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['pre-libs', 'post-libs', 'pre-app', 'post-app', 'pre-app', 'post-app'], 'its hooks wrap the second pass too');
  t.is(readFileSync(nodePath.join(r, 'app/conf'), 'utf8'), 'master version');
}

/** `size` 8 MiB goes through the streamed path; a small size through the batches of small files. */
export async function masterWriterNeverCommitsAMix(t: ExecutionContext, w: Where, size = 8 * 1024 * 1024): Promise<void> {
  const { master, r } = await setupTrees(w, { 'data/other': 'x' });
  const file = nodePath.join(master, 'data/busy.bin');
  writeFileSync(file, Buffer.alloc(size, 'a'));
  let stop = false;
  const writer = (async () => {
    // Rewrites the file in place, each version one letter in one write: at rest the file is always
    // one whole version, so a remote file with two letters can only come from a read that raced a
    // write. (Writing a version in pieces with pauses between left mixed versions at rest, which a
    // sync may rightly copy once the pause outlasts the racy window on a loaded machine.)
    const version = Buffer.alloc(size);
    const fd = openSync(file, 'r+');
    for (let v = 0; !stop; v++) {
      writeSync(fd, version.fill(98 + (v % 24)), 0, size, 0);
      await new Promise(setImmediate);
    }
    closeSync(fd);
  })();
  const run = start(t, ['sync', master, w.remote(r), '--max-passes', '3', '--format', 'json'], w.env);
  const res = await run.done;
  stop = true;
  await writer;
  t.true(res.code === 0 || res.code === 1, res.stderr);
  const target = nodePath.join(r, 'data/busy.bin');
  if (existsSync(target)) t.is(new Set(readFileSync(target)).size, 1, 'the remote file is one whole version, never a mix');
  else t.is(res.code, 1, 'a file never read whole is not committed, and reported');
  if (res.code === 1) t.true(JSON.parse(res.stdout).remotes[0].inconsistent.includes('data/busy.bin'));
}

export async function concurrentRunsRespectTheRemoteLock(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'app/x': 'x', 'app/y': 'y' });
  // Long enough for the patient run below to wait well over the second after which it says so.
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: 'sleep 5' }] });
  const slow = start(t, ['sync', '--config', config], w.env);
  // Another job (plain command line) on the same remote while the first holds the lock.
  for (let i = 0; i < 100 && !existsSync(nodePath.join(r, '.replisync.lock')); i++) await sleep(50);
  const lock = JSON.parse(readFileSync(nodePath.join(r, '.replisync.lock'), 'utf8'));
  t.like(lock, { job: 'j', block: 'app' });
  t.truthy(lock.host && lock.pid && lock.runId && lock.since);
  t.regex(lock.instance, /^[0-9a-f-]{36}\/\d+$/, 'which process holds it: boot id and start time');
  // Started at once, so that it waits for most of the holder's 5 s whatever the load of the machine.
  const patientRun = start(t, ['sync', master, w.remote(r), '--lock-timeout', '30', '-v'], w.env);
  // A third job on it, named in a config of its own (the patient run holds the ad-hoc job's lock).
  const otherConfig = nodePath.join(w.base, 'other.json');
  writeFileSync(otherConfig, JSON.stringify({ jobs: { other: { master, remotes: [w.remote(r)] } } }));
  const other = await runCli(['sync', '--config', otherConfig, '--lock-timeout', '1'], { env: w.env });
  t.is(other.code, 2);
  t.regex(other.stderr, /lock not obtained within 1s: held by .* \(run [0-9a-f]+, job j, block app/);
  const patient = await patientRun.done;
  t.is(patient.code, 0, patient.stderr);
  t.regex(patient.stderr, /r: waiting for its lock, held by another run \(up to 30s\)/);
  t.is((await slow.done).code, 0);
}

/**
 * A stop (SIGTERM to replisync alone, as `timeout` or a service manager sends it) while a hook
 * runs, or while another run's lock is waited for: the run ends then, not when the hook or the
 * wait would have; the hook ends with it; nothing changed; the other run's lock is left to it.
 */
export async function stopDuringHookOrLockWait(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'app/x': 'new' }, { 'app/x': 'old' });
  const pidFile = nodePath.join(w.base, 'hook.pid');
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: `echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 600` }] });
  const hooked = start(t, ['sync', '--config', config], w.env);
  t.true(await until(() => existsSync(pidFile)), 'the hook runs');
  hooked.kill('SIGTERM');
  const stopped = await hooked.done;
  t.is(stopped.code, 2, stopped.stderr);
  t.regex(stopped.stderr, /SIGTERM: stopping/);
  t.is(stopped.stdout, '', 'no report of a run cut short: what it met after the stop is the stop');
  const hookPid = Number(readFileSync(pidFile, 'utf8'));
  t.true(await until(() => !alive(hookPid)), 'the hook ended with the run');
  t.is(readFileSync(nodePath.join(r, 'app/x'), 'utf8'), 'old');
  t.false(existsSync(nodePath.join(r, '.replisync.lock')));

  const lockFile = nodePath.join(r, '.replisync.lock');
  const holder = JSON.stringify({ host: hostname(), pid: process.pid, instance: processInstance(), runId: 'other', job: 'other', block: 'app', since: 'now' });
  writeFileSync(lockFile, holder);
  const log = nodePath.join(w.base, 'runs.jsonl');
  const waiting = start(t, ['sync', master, w.remote(r), '--lock-timeout', '600', '-v', '--format', 'json', '--log', log], w.env);
  t.true(await until(() => /waiting for its lock/.test(waiting.stderr())), 'the run waits for the lock');
  waiting.kill('SIGTERM');
  const waited = await waiting.done;
  t.is(waited.code, 2, waited.stderr);
  t.like(JSON.parse(waited.stdout), { error: 'stopped by SIGTERM', remotes: [] }, 'scripts still get their one JSON object');
  t.like(JSON.parse(readFileSync(log, 'utf8')), { exitCode: 2, error: 'stopped by SIGTERM' }, 'and cron its log line');
  t.is(readFileSync(lockFile, 'utf8'), holder, "the other run's lock is left to it");
  t.is(readFileSync(nodePath.join(r, 'app/x'), 'utf8'), 'old');
}

export async function overlappingRunsOfOneJob(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'app/x': 'x' });
  // Long enough to outlast the two refused runs below, even on a slow machine.
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'app', include: ['app/**'], preBlock: 'sleep 6' }] });
  const first = start(t, ['sync', '--config', config], w.env);
  const jobLock = nodePath.join(w.env.REPLISYNC_LOCK_DIR!, 'j.lock');
  for (let i = 0; i < 200 && !existsSync(jobLock); i++) await sleep(25);
  t.true(existsSync(jobLock), 'the first run holds the job lock');
  // Started at once, so that it finds the first one running whatever the load of the machine.
  const waitingRun = start(t, ['sync', '--config', config, '--wait'], w.env);
  const second = await runCli(['sync', '--config', config], { env: w.env });
  t.is(second.code, 2);
  t.regex(second.stderr, /job j is already running \(pid \d+/);
  const json = await runCli(['sync', '--config', config, '--format', 'json'], { env: w.env });
  t.is(json.code, 2);
  t.regex(JSON.parse(json.stdout).error, /job j is already running/);
  // One that waits too, then is stopped (SIGTERM, as `timeout` sends it): exit 2, nothing left behind.
  const stoppedRun = start(t, ['sync', '--config', config, '--wait'], w.env);
  t.true(await until(() => /waiting for it to end/.test(stoppedRun.stderr())));
  stoppedRun.kill('SIGTERM');
  const stopped = await stoppedRun.done;
  t.is(stopped.code, 2, stopped.stderr);
  t.regex(stopped.stderr, /SIGTERM: stopping/);
  const waiting = await waitingRun.done;
  t.is(waiting.code, 0, waiting.stderr);
  t.regex(waiting.stderr, /job j is already running \(pid \d+.*\): waiting for it to end/);
  t.is((await first.done).code, 0);
  t.deepEqual(readdirSync(w.env.REPLISYNC_LOCK_DIR!), [], 'no job lock, nor the temp record of the stopped run');
}

/** Master files removed after the listing, before they are read (a preBlock of an earlier block removes them): no error. */
export async function vanishedMasterFilesAreNoError(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'a/one': 'one', 'b/keep': 'keep', 'b/gone-small': 'small', 'b/now-a-dir': 'file', 'b/now-a-link': 'file' });
  writeFileSync(nodePath.join(master, 'b/gone-big'), Buffer.alloc(200 * 1024, 1)); // streamed, not batched
  const b = (name: string): string => nodePath.join(master, 'b', name);
  // Gone, or no regular file any more: a directory, a symlink.
  const remove = `rm ${b('gone-small')} ${b('gone-big')} ${b('now-a-dir')} ${b('now-a-link')} && mkdir ${b('now-a-dir')} && ln -s keep ${b('now-a-link')}`;
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'a', include: ['a/**'], preBlock: remove }, { name: 'b', include: ['b/**'] }] });
  const res = await runCli(['sync', '--config', config, '--format', 'json'], { env: w.env });
  t.is(res.code, 0, res.stderr);
  t.is(res.stderr, '');
  t.deepEqual(comparable(snapshot(r)), comparable(snapshot(master)));
  t.false(existsSync(nodePath.join(r, 'b/gone-big')));
}

/** The master directory moved away mid-run (by a preBlock here): the run fails, and nothing is deleted for it. */
export async function masterGoneMidRunDeletesNothing(t: ExecutionContext, w: Where): Promise<void> {
  const { master, r, config } = await setupTrees(w, { 'a/new': 'new', 'b/changed': 'new content', 'b/kept': 'kept' }, { 'b/changed': 'old', 'b/kept': 'kept' });
  writeConfig(config, { master, remotes: [w.remote(r)], blocks: [{ name: 'a', include: ['a/**'], preBlock: `mv ${master} ${master}-gone` }, { name: 'b', include: ['b/**'] }] });
  const res = await runCli(['sync', '--config', config], { env: w.env });
  t.is(res.code, 2, res.stderr);
  t.regex(res.stderr, /master: the directory is gone/);
  // The verification must not read a vanished master as an empty one, and delete what it had.
  t.is(readFileSync(nodePath.join(r, 'b/changed'), 'utf8'), 'old');
  t.is(readFileSync(nodePath.join(r, 'b/kept'), 'utf8'), 'kept');
  t.is(readFileSync(nodePath.join(r, 'a/new'), 'utf8'), 'new', 'the block done before stays done');
}
