import test, { type ExecutionContext } from 'ava';
import { chmodSync, chownSync, existsSync, linkSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import * as nodePath from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { makeZombie } from '../helpers/zombie.js';
import { processInstance, thisProcess } from '../../src/endpoint/local/process-alive.js';
import { BIN, assertSameTree, boundRuns, comparable, makeTree, runCli, setupMaster, snapshot } from '../helpers/tree.js';

const SAMPLE = {
  'README.md': 'read me\n',
  'bin/app': 'binary v1',
  'bin/run.sh': '#!/bin/sh\necho run\n',
  'lib/core.so': 'core library',
  'etc/app.conf': 'key=value\n',
  'releases/v2/': '',
  'current': '-> releases/v2',
  'empty/': '',
};

const setup = (t: { teardown(fn: () => void): void }, spec: Record<string, string> = SAMPLE) => setupMaster(t, spec);
const assertSame = assertSameTree;

test('sync creates missing remotes and makes them identical; a second run changes nothing', async (t) => {
  const { master, remote } = await setup(t);
  const first = await runCli(['sync', master, remote(1), remote(2)]);
  t.is(first.code, 0, first.stderr);
  assertSame(t, master, remote(1));
  assertSame(t, master, remote(2));
  t.regex(first.stdout, /^remote .*remote1$/m);
  t.regex(first.stdout, /\+ copy {5}bin\/app {17}missing on remote/);
  t.regex(first.stdout, /l symlink {2}current {17}-> releases\/v2/);
  t.regex(first.stdout, /summary .*remote1: 6 copied \(\d+ B\), 0 deleted, 0 attributes fixed, 0 inconsistent/);

  const before = snapshot(remote(1), { withRoot: true });
  const second = await runCli(['sync', master, remote(1), remote(2)]);
  t.is(second.code, 0);
  t.deepEqual(snapshot(remote(1), { withRoot: true }), before, 'not even a timestamp moves');
  t.notRegex(second.stdout, /^  . /m, 'no action lines');

  // Made even when the classification selects nothing to put in it, as rsync makes it.
  const empty = await runCli(['sync', master, remote(3), '--include', 'nothing-matches', '--format', 'json']);
  t.is(empty.code, 0, empty.stderr);
  t.like(JSON.parse(empty.stdout).remotes[0], { actions: [], passes: 1 });
  t.is(snapshot(remote(3), { withRoot: true }).get('.')?.mode, snapshot(master, { withRoot: true }).get('.')?.mode);
  const emptyAgain = await runCli(['sync', master, remote(3), '--include', 'nothing-matches', '--format', 'json']);
  t.like(JSON.parse(emptyAgain.stdout).remotes[0], { actions: [], passes: 0 });
});

test("the remote root takes the master root's mode and mtime when a run changes something there, and only then", async (t) => {
  const { master, remote } = await setup(t);
  chmodSync(master, 0o750);
  utimesSync(master, 1_500_000_000, 1_500_000_000);
  const rootOf = (dir: string) => snapshot(dir, { withRoot: true }).get('.');
  const r = remote();
  mkdirSync(r, { mode: 0o777 });
  t.is((await runCli(['sync', master, r])).code, 0);
  t.like(rootOf(r), { mode: 0o750, mtimeMs: 1_500_000_000_000 });
  t.deepEqual(comparable(snapshot(r, { withRoot: true })), comparable(snapshot(master, { withRoot: true })));

  // Nothing to change in the tree: the root is not touched either (nothing is reported of it).
  chmodSync(master, 0o755);
  const quiet = await runCli(['sync', master, r]);
  t.notRegex(quiet.stdout, /^  . /m);
  t.like(rootOf(r), { mode: 0o750 });
  // A change below it brings it along; --attrs decides which attributes.
  writeFileSync(nodePath.join(master, 'new.txt'), 'new');
  utimesSync(master, 1_500_000_100, 1_500_000_100);
  t.is((await runCli(['sync', master, r, '--attrs', 'mode'])).code, 0);
  t.like(rootOf(r), { mode: 0o755 });
  t.not(rootOf(r)!.mtimeMs, 1_500_000_100_000, 'mtime not among --attrs');
});

test('every action kind, in text and JSON', async (t) => {
  const { master, remote } = await setup(t);
  const r = remote();
  await runCli(['sync', master, r]);
  // Drift the remote in every way the contract names.
  writeFileSync(nodePath.join(r, 'lib/core.so'), 'core librarX'); // same size: checksum
  writeFileSync(nodePath.join(r, 'bin/app'), 'short'); // size
  rmSync(nodePath.join(r, 'etc/app.conf'));
  writeFileSync(nodePath.join(r, 'tmp-old.log'), 'old');
  chmodSync(nodePath.join(r, 'bin/run.sh'), 0o600);
  utimesSync(nodePath.join(r, 'README.md'), 1_600_000_000, 1_600_000_000);
  rmSync(nodePath.join(r, 'current'));
  symlinkSync('releases/v1', nodePath.join(r, 'current'));
  mkdirSync(nodePath.join(r, 'releases/v1'));
  rmSync(nodePath.join(r, 'releases/v2'), { recursive: true });
  // Owners are compared and fixed only where the remote may chown: as root.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(nodePath.join(r, 'lib'), 1000, 1000);
  linkSync(nodePath.join(master, 'bin/app'), nodePath.join(master, 'bin/app2'));

  const diff = await runCli(['diff', master, r, '--format', 'json']);
  t.is(diff.code, 1, diff.stderr);
  const report = JSON.parse(diff.stdout);
  t.true(report.dryRun);
  t.is(report.remotes[0].passes, 1, 'the pass it would take, as in the contract example');
  const ops = report.remotes[0].actions.map((a: { op: string; path: string }) => `${a.op} ${a.path}`).sort();
  t.deepEqual(ops, [
    'chmod bin/run.sh',
    ...(asRoot ? ['chown lib'] : []),
    'copy bin/app',
    'copy etc/app.conf',
    'copy lib/core.so',
    'delete tmp-old.log',
    'hardlink bin/app2',
    'mkdir releases/v2',
    'rmdir releases/v1',
    'symlink current',
    'touch README.md',
    // Their entries changed above, and with them their mtimes.
    'touch bin',
    'touch etc',
    'touch releases',
  ]);
  const byPath = Object.fromEntries(report.remotes[0].actions.map((a: { path: string }) => [a.path, a]));
  t.deepEqual(byPath['lib/core.so'], { op: 'copy', path: 'lib/core.so', reason: 'checksum' });
  t.deepEqual(byPath['bin/app'], { op: 'copy', path: 'bin/app', reason: 'size' });
  t.deepEqual(byPath['etc/app.conf'], { op: 'copy', path: 'etc/app.conf', reason: 'missing' });
  t.deepEqual(byPath['bin/run.sh'], { op: 'chmod', path: 'bin/run.sh', from: '0600', to: '0644' });
  if (asRoot) t.deepEqual(byPath['lib'], { op: 'chown', path: 'lib', from: '1000:1000', to: '0:0' });
  t.deepEqual(byPath['current'], { op: 'symlink', path: 'current', target: 'releases/v2' });
  t.deepEqual(byPath['bin/app2'], { op: 'hardlink', path: 'bin/app2', target: 'bin/app' });
  // Counted as the contract's example counts: deletes without rmdir; chmod, chown, touch and hardlink.
  t.deepEqual(report.remotes[0].summary, { copied: 3, bytes: 9 + 10 + 12, deleted: 1, attributes: asRoot ? 7 : 6 });
  t.is(report.remotes[0].error, null);

  const text = await runCli(['sync', master, r]);
  t.is(text.code, 0, text.stderr);
  for (const line of [/~ copy {5}lib\/core\.so {13}checksum differs/, /- delete {3}tmp-old\.log/, /m chmod {4}bin\/run\.sh {14}0600 -> 0644/, /t touch {4}README\.md {15}mtime/, /h hardlink bin\/app2 {16}== bin\/app/, /d mkdir {4}releases\/v2/, /x rmdir {4}releases\/v1/]) {
    t.regex(text.stdout, line);
  }
  if (asRoot) t.regex(text.stdout, /o chown {4}lib {21}1000:1000 -> 0:0/);
  // For people, the symlink written counts among the entries copied.
  t.regex(text.stdout, new RegExp(`summary .*: 4 copied \\(31 B\\), 1 deleted, ${asRoot ? 7 : 6} attributes fixed, 0 inconsistent`));
  assertSame(t, master, r);
});

test('diff and sync --dry-run change nothing at all', async (t) => {
  const { master, remote } = await setup(t);
  const r = remote();
  await makeTree(r, { 'extra/file': 'x', 'bin/app': 'other!!!!' });
  const before = snapshot(r, { withRoot: true });
  for (const args of [['diff', master, r], ['sync', '--dry-run', master, r], ['sync', '-n', master, r]]) {
    const res = await runCli(args);
    t.is(res.code, 1, res.stderr);
    t.deepEqual(snapshot(r, { withRoot: true }), before);
  }
  const missing = nodePath.join(nodePath.dirname(r), 'never-created');
  t.is((await runCli(['diff', master, missing])).code, 1);
  t.false(existsSync(missing));
});

test('classification: paths outside it are never copied, changed or deleted', async (t) => {
  const { master, remote } = await setup(t, { 'bin/app': 'a', 'bin/app.debug': 'dbg', 'logs/x.log': 'log', 'notes.tmp': 't', keep: 'k' });
  const r = remote();
  await makeTree(r, { 'logs/remote.log': 'mine', 'bin/local.debug': 'mine too', 'stale.tmp': 'remote tmp', 'gone': 'x' });
  const before = snapshot(r);
  const res = await runCli(['sync', master, r, '--exclude', '*.tmp', '--exclude', 'logs/', '--exclude-regex', '\\.debug$']);
  t.is(res.code, 0, res.stderr);
  const after = snapshot(r);
  for (const p of ['logs/remote.log', 'bin/local.debug', 'stale.tmp']) t.deepEqual(after.get(p), before.get(p), p);
  t.false(after.has('gone'));
  t.false(after.has('notes.tmp'));
  t.false(after.has('logs/x.log'));
  t.false(after.has('bin/app.debug'));
  t.true(after.has('bin/app'));
  // What an application writes on the remote outside the classification is no difference, though
  // it moves its directory's mtime.
  writeFileSync(nodePath.join(r, 'bin/new.debug'), 'written on the remote');
  const again = await runCli(['diff', master, r, '--exclude', '*.tmp', '--exclude', 'logs/', '--exclude-regex', '\\.debug$']);
  t.is(again.code, 0, again.stdout);

  // Options before the endpoints, as rsync users write them: each --include takes one glob.
  const inc = await runCli(['sync', '--include', 'bin/**', '--include-regex', '^keep$', master, remote(2)]);
  t.is(inc.code, 0, inc.stderr);
  t.deepEqual([...snapshot(remote(2)).keys()].sort(), ['bin', 'bin/app', 'bin/app.debug', 'keep']);

  // Lists kept in files, as rsync's --exclude-from: one glob a line, blank and # lines skipped; added to --exclude.
  const list = nodePath.join(nodePath.dirname(master), 'ignore');
  writeFileSync(list, '# build output\n*.debug\n\n  logs/  \n');
  const from = await runCli(['sync', master, remote(3), '--exclude-from', list, '--exclude', '*.tmp']);
  t.is(from.code, 0, from.stderr);
  t.deepEqual([...snapshot(remote(3)).keys()].sort(), ['bin', 'bin/app', 'keep']);
  const incFrom = await runCli(['sync', master, remote(4), '--include-from', '-'], { input: '# from stdin\r\nkeep\r\n' });
  t.is(incFrom.code, 0, incFrom.stderr);
  t.deepEqual([...snapshot(remote(4)).keys()].sort(), ['keep']);
  // A trailing slash matches directories only: the file named like the directory is synced.
  await makeTree(master, { cache: 'a file', 'deep/cache/x': 'in a directory' });
  const dirOnly = await runCli(['sync', master, remote(7), '--exclude', 'cache/']);
  t.is(dirOnly.code, 0, dirOnly.stderr);
  t.true(existsSync(nodePath.join(remote(7), 'cache')));
  t.false(existsSync(nodePath.join(remote(7), 'deep/cache')));
  // A value that starts with a dash is still the option's value, as with getopt.
  writeFileSync(nodePath.join(master, '-dash'), 'named like an option');
  const dashed = await runCli(['sync', master, remote(6), '--exclude', '-*', '--exclude', '*.tmp']);
  t.is(dashed.code, 0, dashed.stderr);
  t.false(existsSync(nodePath.join(remote(6), '-dash')));
  t.true(existsSync(nodePath.join(remote(6), 'keep')));
  const missing = await runCli(['sync', master, remote(5), '--exclude-from', nodePath.join(list, 'nope')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--exclude-from \S+nope: cannot read: not a directory/);
});

test('--bwlimit (or a job bwlimit) holds what is sent, and the copies are whole', async (t) => {
  // How fast is not asserted here (no timing in tests): the limiter's arithmetic has unit tests.
  const { master, remote } = await setup(t, { 'big.bin': 'x'.repeat(300_000), 'small/a': 'a', 'small/b': 'b' });
  const res = await runCli(['sync', master, remote(1), remote(2), '--bwlimit', '100M']);
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(remote(1))), comparable(snapshot(master)));
  t.deepEqual(comparable(snapshot(remote(2))), comparable(snapshot(master)));
  const config = nodePath.join(nodePath.dirname(master), 'bw.json');
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [remote(3)], bwlimit: 51200 } } }));
  const fromJob = await runCli(['sync', '--config', config]);
  t.is(fromJob.code, 0, fromJob.stderr);
  t.deepEqual(comparable(snapshot(remote(3))), comparable(snapshot(master)));
});

test('--no-delete keeps remote-only files and exits 0', async (t) => {
  const { master, remote } = await setup(t);
  const r = remote();
  await runCli(['sync', master, r]);
  writeFileSync(nodePath.join(r, 'mine.txt'), 'remote only');
  // Made in a directory of the master's: that directory's mtime moved, which is no difference either.
  writeFileSync(nodePath.join(r, 'bin/mine.log'), 'remote only');
  const diff = await runCli(['diff', master, r, '--no-delete']);
  t.is(diff.code, 0, diff.stdout);
  t.notRegex(diff.stdout, /mine\.|touch/);
  const res = await runCli(['sync', master, r, '--no-delete']);
  t.is(res.code, 0);
  t.notRegex(res.stdout, /mine\.|touch/);
  t.true(existsSync(nodePath.join(r, 'mine.txt')));
  t.true(existsSync(nodePath.join(r, 'bin/mine.log')));
  // Without --no-delete they go, and the directory gets the master's mtime back.
  const full = await runCli(['diff', master, r]);
  t.is(full.code, 1);
  t.regex(full.stdout, /delete +bin\/mine\.log/);
  t.regex(full.stdout, /touch +bin +mtime/);

  // A directory where the master has a file holds remote-only files: they stay, and the type
  // change fails, named, instead of deleting them.
  rmSync(nodePath.join(r, 'README.md'));
  mkdirSync(nodePath.join(r, 'README.md'));
  writeFileSync(nodePath.join(r, 'README.md/notes'), 'remote only');
  const blocked = await runCli(['sync', master, r, '--no-delete']);
  t.is(blocked.code, 2);
  t.regex(blocked.stderr, /remote1: README\.md: directory not empty \(ENOTEMPTY\): it holds entries no run removes \(outside the classification, kept by --no-delete/);
  t.is(readFileSync(nodePath.join(r, 'README.md/notes'), 'utf8'), 'remote only');
});

test('an entry outside the classification in the way of what the master has is left as it is, and named', async (t) => {
  const { master, remote } = await setup(t, { 'app/conf/main': 'm', cache: 'a file on the master' });
  const r = remote();
  // On the remote, "app" is a file: not selected by the include, so outside the classification,
  // though the master's directory app must exist to hold app/conf. And cache/ excludes a directory.
  await makeTree(r, { app: 'the remote own file', 'cache/kept': 'k' });
  const res = await runCli(['sync', master, r, '--include', '**/conf/**', '--include', 'cache', '--exclude', 'cache/']);
  t.is(res.code, 2, res.stderr);
  t.regex(res.stderr, /remote1: app: already exists \(EEXIST\) and is no directory: an entry outside the classification \(or made since the listing\) is in the way, and is left as it is/);
  t.regex(res.stderr, /still inconsistent after 3 pass\(es\): .*cache/);
  t.is(readFileSync(nodePath.join(r, 'app'), 'utf8'), 'the remote own file');
  t.is(readFileSync(nodePath.join(r, 'cache/kept'), 'utf8'), 'k');
  // An empty excluded directory in the way is not removed either.
  rmSync(nodePath.join(r, 'cache/kept'));
  const again = await runCli(['sync', master, r, '--include', 'cache', '--exclude', 'cache/']);
  t.is(again.code, 1, again.stderr);
  t.true(statSync(nodePath.join(r, 'cache')).isDirectory());
});

test('remote-only directories holding paths outside the classification at any depth are kept, with every directory above them', async (t) => {
  const { master, remote } = await setup(t, { keep: 'k' });
  const r = remote();
  // Only a/b/c holds something outside the classification (a .log); a and a/b hold only directories.
  await makeTree(r, { 'a/b/c/app.log': 'remote only', 'a/b/c/listed': 'x', 'a/b/gone': 'x', 'other/gone': 'x' });
  const res = await runCli(['sync', master, r, '--exclude', '*.log']);
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, /delete +a\/b\/c\/listed/);
  t.notRegex(res.stdout, /rmdir +a/);
  t.regex(res.stdout, /rmdir +other/);
  t.is(readFileSync(nodePath.join(r, 'a/b/c/app.log'), 'utf8'), 'remote only');
  t.deepEqual(readdirSync(r).sort(), ['a', 'keep']);
  t.is((await runCli(['diff', master, r, '--exclude', '*.log'])).code, 0);
});

test('--max-delete refuses before anything changes anywhere', async (t) => {
  const { master, remote } = await setup(t);
  await makeTree(remote(1), { a: '1', b: '2', c: '3' });
  await makeTree(remote(2), { a: '1' });
  const before = [snapshot(remote(1), { withRoot: true }), snapshot(remote(2), { withRoot: true })];
  const res = await runCli(['sync', master, remote(1), remote(2), '--max-delete', '2']);
  t.is(res.code, 2);
  t.regex(res.stderr, /remote1: refused: 3 deletions needed, --max-delete is 2/);
  t.deepEqual([snapshot(remote(1), { withRoot: true }), snapshot(remote(2), { withRoot: true })], before);
  t.is((await runCli(['sync', master, remote(1), remote(2), '--max-delete', '3'])).code, 0);
});

test('a missing, unreadable or non-directory master is exit 2 naming it, and nothing is deleted', async (t) => {
  const { dir, remote } = await setup(t);
  const r = remote();
  await makeTree(r, { precious: 'data' });
  const missing = nodePath.join(dir, 'nope');
  const res = await runCli(['sync', missing, r]);
  t.is(res.code, 2);
  t.regex(res.stderr, new RegExp(`${missing}: the master directory does not exist`));
  t.true(existsSync(nodePath.join(r, 'precious')));
  const notDir = nodePath.join(dir, 'file');
  writeFileSync(notDir, 'x');
  const res2 = await runCli(['sync', notDir, r]);
  t.is(res2.code, 2);
  t.regex(res2.stderr, /not a directory/);
  t.true(existsSync(nodePath.join(r, 'precious')));
});

test('an unreadable master subdirectory fails the run instead of deleting its remote copy', async (t) => {
  if (process.getuid?.() === 0) {
    // root reads everything: simulate with a directory that vanishes into a dangling state is not possible; use a FIFO-free check
    t.pass('running as root: permission errors cannot be provoked');
    return;
  }
  const { master, remote } = await setup(t, { 'locked/file': 'x' });
  chmodSync(nodePath.join(master, 'locked'), 0);
  const res = await runCli(['sync', master, remote()]);
  chmodSync(nodePath.join(master, 'locked'), 0o755);
  t.is(res.code, 2);
});

test('names with spaces, unicode, newlines and leading dashes; deep trees; empty directories', async (t) => {
  const deep = Array.from({ length: 40 }, (_, i) => `d${i}`).join('/');
  const { master, remote } = await setup(t, {
    'with space/file name.txt': 's',
    'ünïcødé/日本語.txt': 'u',
    'new\nline': 'n',
    '-leading-dash': 'd',
    '--also': 'dd',
    [`${deep}/bottom`]: 'b',
    'empty/nested/': '',
  });
  const res = await runCli(['sync', '--format', 'json', '--', master, remote()]);
  t.is(res.code, 0, res.stderr);
  assertSame(t, master, remote());
  t.true(JSON.parse(res.stdout).remotes[0].actions.some((a: { path: string }) => a.path === 'new\nline'));
  const text = await runCli(['diff', master, remote(9)]);
  t.regex(text.stdout, /new\\nline/);
});

test('owner and group are set by numeric id when running as root', async (t) => {
  if (process.getuid?.() !== 0) {
    t.pass('not root: owners cannot be set, and are not compared');
    return;
  }
  const { master, remote } = await setup(t, { f: 'x', 'd/': '', suid: 'x' });
  chownSync(nodePath.join(master, 'f'), 1234, 5678);
  chownSync(nodePath.join(master, 'd'), 4321, 8765);
  // chown clears set-user-ID bits: they are set after the owner, in one pass.
  chownSync(nodePath.join(master, 'suid'), 1234, 5678);
  chmodSync(nodePath.join(master, 'suid'), 0o6755);
  const res = await runCli(['sync', master, remote(), '--format', 'json']);
  t.is(res.code, 0, res.stderr);
  t.is(JSON.parse(res.stdout).remotes[0].passes, 1);
  t.is(statSync(nodePath.join(remote(), 'suid')).mode & 0o7777, 0o6755);
  // And when only the owner and the mode of an existing file differ.
  chownSync(nodePath.join(remote(), 'suid'), 0, 0);
  chmodSync(nodePath.join(remote(), 'suid'), 0o755);
  const fix = await runCli(['sync', master, remote(), '--format', 'json']);
  t.deepEqual(JSON.parse(fix.stdout).remotes[0].actions.map((a: { op: string }) => a.op), ['chown', 'chmod']);
  t.is(JSON.parse(fix.stdout).remotes[0].passes, 1);
  t.is(statSync(nodePath.join(remote(), 'suid')).mode & 0o7777, 0o6755);
  t.is(statSync(nodePath.join(remote(), 'f')).uid, 1234);
  t.is(statSync(nodePath.join(remote(), 'f')).gid, 5678);
  t.is(statSync(nodePath.join(remote(), 'd')).uid, 4321);
  const attrs = await runCli(['diff', master, remote(2), '--attrs', 'mode,mtime']);
  t.is(attrs.code, 1);
});

test('leftover temp files of an interrupted run are removed by the next run; stale locks are taken over', async (t) => {
  const { master, remote } = await setup(t);
  const r = remote();
  await runCli(['sync', master, r]);
  const before = snapshot(r, { withRoot: true });
  // Times to the nanosecond, which touch can set back (node's utimes cannot).
  const mtimeOf = (p: string): string => {
    const ns = statSync(p, { bigint: true }).mtimeNs;
    return `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
  };
  const binTime = mtimeOf(nodePath.join(r, 'bin'));
  const rootTime = mtimeOf(r);
  writeFileSync(nodePath.join(r, 'bin', '.replisync-deadbeef-1.tmp'), 'half a file');
  writeFileSync(nodePath.join(r, '.replisync.lock'), JSON.stringify({ host: (await import('node:os')).hostname(), pid: 999999, runId: 'x', job: 'j', block: 'b', since: 'then' }));
  // As a crash would leave them: leftovers in directories whose mtime is otherwise right.
  execFileSync('touch', ['-m', '-d', binTime, nodePath.join(r, 'bin')]);
  execFileSync('touch', ['-m', '-d', rootTime, r]);
  const diff = await runCli(['diff', master, r]);
  t.is(diff.code, 0, 'leftovers are not content');
  t.true(existsSync(nodePath.join(r, 'bin', '.replisync-deadbeef-1.tmp')), 'a dry run removes nothing');
  const res = await runCli(['sync', master, r]);
  t.is(res.code, 0, res.stderr);
  t.deepEqual(readdirSync(nodePath.join(r, 'bin')).sort(), ['app', 'run.sh']);
  t.false(existsSync(nodePath.join(r, '.replisync.lock')));
  t.deepEqual(snapshot(r, { withRoot: true }), before, 'directories get their mtime back');
});

test('the lock of a killed run is removed by the next sync even when the trees are the same; a live run\'s lock is left to it', async (t) => {
  const { master, remote } = await setup(t);
  const [dead, live] = [remote(1), remote(2)];
  await runCli(['sync', master, dead, live]);
  const before = [dead, live].map((r) => snapshot(r, { withRoot: true }));
  const rootTimes = [dead, live].map((r) => statSync(r).mtime);
  const record = { host: hostname(), runId: 'r', job: '', block: 'bin', since: '2026-01-01T00:00:00.000Z' };
  const zombie = await makeZombie(); // killed a moment ago, not yet reaped
  t.teardown(zombie.release);
  writeFileSync(nodePath.join(dead, '.replisync.lock'), JSON.stringify({ ...record, pid: zombie.pid }));
  writeFileSync(nodePath.join(live, '.replisync.lock'), JSON.stringify({ ...record, ...thisProcess() }));
  [dead, live].forEach((r, i) => utimesSync(r, rootTimes[i]!, rootTimes[i]!));
  const diff = await runCli(['diff', master, dead, live]);
  t.is(diff.code, 0, 'a lock is no content');
  t.true(existsSync(nodePath.join(dead, '.replisync.lock')), 'a dry run removes nothing');
  // Nothing to change on the live one: the run neither waits for its lock nor touches it.
  const res = await runCli(['sync', master, dead, live, '--lock-timeout', '30']);
  t.is(res.code, 0, res.stderr);
  t.is(res.stdout, `remote ${dead}\nsummary ${dead}: 0 copied (0 B), 0 deleted, 0 attributes fixed, 0 inconsistent\nremote ${live}\nsummary ${live}: 0 copied (0 B), 0 deleted, 0 attributes fixed, 0 inconsistent\n`);
  t.false(existsSync(nodePath.join(dead, '.replisync.lock')));
  t.true(existsSync(nodePath.join(live, '.replisync.lock')));
  t.deepEqual(snapshot(dead, { withRoot: true }), before[0], 'the root gets its mtime back');
});

/** The job lock and the remote lock a dead run left, naming `holder`: the next run takes both over at once. A job lock may be left as `jobLockText` instead. */
async function takesOverLocksLeftBy(t: ExecutionContext, holder: { pid: number; runId: string; instance?: string }, jobLockText?: string): Promise<void> {
  const { dir, master, remote } = await setup(t);
  const r = remote();
  await makeTree(r, {});
  const record = { host: hostname(), since: '2026-01-01T00:00:00.000Z', job: 'j', ...holder };
  const locks = nodePath.join(dir, 'locks');
  mkdirSync(locks);
  writeFileSync(nodePath.join(locks, 'j.lock'), jobLockText ?? JSON.stringify(record));
  // What a run killed while it waited (--wait), or while it moved a stale lock aside, leaves; of any job.
  writeFileSync(nodePath.join(locks, `j.lock.${holder.runId}.tmp`), JSON.stringify(record));
  writeFileSync(nodePath.join(locks, 'other.lock.0123abcd.stale'), JSON.stringify({ ...record, job: 'other' }));
  writeFileSync(nodePath.join(locks, 'other.lock.4567cdef.tmp'), '');
  utimesSync(nodePath.join(locks, 'other.lock.4567cdef.tmp'), new Date('2026-01-01'), new Date('2026-01-01'));
  // Those of runs at work now are theirs: a live run's record, and one being written a moment ago.
  const live = { ...record, ...thisProcess(), runId: 'live', job: 'other' };
  writeFileSync(nodePath.join(locks, 'other.lock.live.tmp'), JSON.stringify(live));
  writeFileSync(nodePath.join(locks, 'other.lock.89abcdef.tmp'), '');
  writeFileSync(nodePath.join(r, '.replisync.lock'), JSON.stringify({ ...record, block: 'bin' }));
  const config = nodePath.join(dir, 'job.json');
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [r] } } }));
  const res = await runCli(['sync', '--config', config, '--lock-timeout', '2'], { env: { REPLISYNC_LOCK_DIR: locks } });
  t.is(res.code, 0, res.stderr);
  assertSameTree(t, master, r);
  t.false(existsSync(nodePath.join(r, '.replisync.lock')));
  t.deepEqual(readdirSync(locks).sort(), ['other.lock.89abcdef.tmp', 'other.lock.live.tmp']);
}

test('locks of a run killed a moment ago, whose process is still an unreaped zombie, are taken over at once', async (t) => {
  const zombie = await makeZombie();
  t.teardown(zombie.release);
  await takesOverLocksLeftBy(t, { pid: zombie.pid, runId: 'killed' });
});

test('a job lock left empty or cut short (a crash of the machine before it reached the disk) is taken over: only replisync writes there', async (t) => {
  const zombie = await makeZombie();
  t.teardown(zombie.release);
  await takesOverLocksLeftBy(t, { pid: zombie.pid, runId: 'crashed' }, '');
  await takesOverLocksLeftBy(t, { pid: zombie.pid, runId: 'crashed' }, '{"job":"j","runId":"cra');
  // What is no file at all is not judged, nor removed: named.
  const { dir, master, remote } = await setup(t);
  const locks = nodePath.join(dir, 'locks');
  mkdirSync(nodePath.join(locks, 'j.lock'), { recursive: true });
  const config = nodePath.join(dir, 'job.json');
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [remote()] } } }));
  const res = await runCli(['sync', '--config', config], { env: { REPLISYNC_LOCK_DIR: locks } });
  t.is(res.code, 2);
  t.regex(res.stderr, /job lock: \S+\/j\.lock: it is a directory/);
  t.true(statSync(nodePath.join(locks, 'j.lock')).isDirectory());
  t.false(existsSync(remote()), 'nothing done');
});

test('locks whose pid now belongs to another process (after a reboot, say) are taken over at once', async (t) => {
  // This test's own pid, alive, but recorded with another start time: the holder is gone.
  await takesOverLocksLeftBy(t, { pid: process.pid, runId: 'before-reboot', instance: `${processInstance()!.split('/')[0]}/1` });
});

test('a lock held by a live run makes the other wait, then fail naming the holder', async (t) => {
  const { master, remote } = await setup(t);
  const r = remote();
  await makeTree(r, {});
  writeFileSync(nodePath.join(r, '.replisync.lock'), JSON.stringify({ host: (await import('node:os')).hostname(), pid: process.pid, runId: 'other', job: 'nightly', block: 'bin', since: 'now', instance: processInstance() }));
  const res = await runCli(['sync', master, r, '--lock-timeout', '1']);
  t.is(res.code, 2);
  t.regex(res.stderr, /\.replisync\.lock: cannot take the lock: lock not obtained within 1s: held by .* pid \d+ \(run other, job nightly, block bin/);
  t.false(existsSync(nodePath.join(r, 'bin')), 'nothing changed');
  rmSync(nodePath.join(r, '.replisync.lock'));
});

test('a lock file that holds no record (empty, something else, a directory) is respected and named as it is, never taken over', async (t) => {
  const { master, remote } = await setup(t);
  const lockPath = (r: string): string => nodePath.join(r, '.replisync.lock');
  const cases: [string, (p: string) => void, string][] = [
    ['empty', (p) => writeFileSync(p, ''), 'it is empty'],
    ['not ours', (p) => writeFileSync(p, 'maintenance until 3pm\n'), 'it holds no lock record of replisync'],
    ['JSON of another shape', (p) => writeFileSync(p, '{"by":"ops"}'), 'it holds no lock record of replisync'],
    ['a directory', (p) => mkdirSync(p), 'it is a directory'],
    ['a FIFO', (p) => execFileSync('mkfifo', [p]), 'it is no regular file'],
  ];
  for (const [i, [what, make, says]] of cases.entries()) {
    const r = remote(i + 1);
    await makeTree(r, {});
    make(lockPath(r));
    const res = await runCli(['sync', master, r, '--lock-timeout', '0']);
    t.is(res.code, 2, what);
    t.regex(res.stderr, new RegExp(`${r}: \\.replisync\\.lock: cannot take the lock: lock not obtained within 0s: the lock file is there but ${says}: if no run is at work on this directory, remove it`), what);
    t.true(existsSync(lockPath(r)), `${what}: left in place`);
    t.deepEqual(readdirSync(r), ['.replisync.lock'], `${what}: nothing changed`);
  }
});

test('SIGTERM mid-transfer stops cleanly: old content, no temp files, no lock', async (t) => {
  const { master, remote } = await setup(t, { small: 'x' });
  const r = remote();
  await makeTree(r, { 'big.bin': 'old content' });
  writeFileSync(nodePath.join(master, 'big.bin'), Buffer.alloc(512 * 1024 * 1024, 7));
  boundRuns(t);
  const child = spawn(process.execPath, [BIN, 'sync', master, r], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let staged = false;
  for (let i = 0; i < 1000 && !staged; i++) {
    staged = readdirSync(r).some((f) => f.startsWith('.replisync-'));
    if (!staged) await new Promise((res) => setTimeout(res, 5));
  }
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((res) => child.on('exit', res));
  t.true(staged, 'the transfer was under way when the signal came');
  t.is(code, 2, stderr);
  t.regex(stderr, /SIGTERM: stopping/);
  t.is(readFileSync(nodePath.join(r, 'big.bin'), 'utf8'), 'old content');
  t.deepEqual(readdirSync(r).sort(), ['big.bin']);
});
