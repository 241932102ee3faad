import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import * as nodePath from 'node:path';
import { assertSameTree as assertSame, makeTree, runCli, setupMaster as setup } from '../helpers/tree.js';

// Entries of every kind replaced by another kind, hard-link groups, and what cannot be replicated.

test('type changes file <-> directory <-> symlink', async (t) => {
  const { master, remote } = await setup(t, { 'a/': '', 'a/inner': '1', b: 'file b', c: '-> b', d: 'file d' });
  const r = remote();
  await makeTree(r, { a: 'was a file', 'b/': '', 'b/x/y': 'deep', c: 'plain', 'd': '-> nowhere' });
  const res = await runCli(['sync', master, r, '--format', 'json']);
  t.is(res.code, 0, res.stderr);
  assertSame(t, master, r);
  const actions = JSON.parse(res.stdout).remotes[0].actions;
  t.deepEqual(actions.find((a: { path: string; op: string }) => a.path === 'b' && a.op === 'copy'), { op: 'copy', path: 'b', reason: 'type' });
  t.truthy(actions.find((a: { path: string; op: string }) => a.path === 'b' && a.op === 'rmdir'));
  t.truthy(actions.find((a: { path: string; op: string }) => a.path === 'a' && a.op === 'mkdir'));
});

test('FIFOs: a remote one is deleted or replaced like any entry; a master one is not replicated, told on stderr, and its path left alone', async (t) => {
  const { master, remote } = await setup(t, { 'd/f': 'content', 'keep/': '' });
  execFileSync('mkfifo', [nodePath.join(master, 'pipe'), nodePath.join(master, 'keep/pipe')]);
  const r = remote();
  await makeTree(r, { 'd/': '', 'extra/': '', 'pipe/inside': 'left alone' });
  execFileSync('mkfifo', [nodePath.join(r, 'd/f'), nodePath.join(r, 'extra/p'), nodePath.join(r, 'lone')]);
  const res = await runCli(['sync', master, r, '--format', 'json']);
  t.is(res.code, 0, res.stderr);
  const brief = JSON.parse(res.stdout).remotes[0].actions.map((a: { op: string; path: string; reason?: string }) => `${a.op}${a.reason ? `(${a.reason})` : ''} ${a.path}`);
  t.deepEqual(brief.filter((b: string) => !b.startsWith('touch') && !b.startsWith('chmod')).sort(), ['copy(type) d/f', 'delete extra/p', 'delete lone', 'mkdir keep', 'rmdir extra'].sort());
  t.regex(res.stderr, new RegExp(`${master}: pipe: not replicated: a FIFO, socket or device file`));
  t.regex(res.stderr, /keep\/pipe: not replicated/);
  t.is(readFileSync(nodePath.join(r, 'd/f'), 'utf8'), 'content');
  t.is(readFileSync(nodePath.join(r, 'pipe/inside'), 'utf8'), 'left alone');
  t.false(existsSync(nodePath.join(r, 'extra')));
  t.false(existsSync(nodePath.join(r, 'keep/pipe')));

  const again = await runCli(['sync', master, r, '--format', 'json']);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(JSON.parse(again.stdout).remotes[0].actions, []);
  const quiet = await runCli(['sync', '-q', master, r]);
  t.is(quiet.code, 0);
  t.is(quiet.stderr, '');
});

test('a master directory replaced by a symlink (to outside the tree, or to itself) is looked at as a symlink, never through it', async (t) => {
  const { dir, master, remote } = await setup(t, { 'a/x': 'mine', 'loop/z': 'z' });
  const r = remote();
  t.is((await runCli(['sync', master, r])).code, 0);
  const outside = nodePath.join(dir, 'outside');
  await makeTree(outside, { x: 'not the master', z: 'not the master' });
  rmSync(nodePath.join(master, 'a'), { recursive: true });
  symlinkSync(outside, nodePath.join(master, 'a'));
  rmSync(nodePath.join(master, 'loop'), { recursive: true });
  symlinkSync('loop', nodePath.join(master, 'loop'));
  // The verification looks again at a/x and loop/z on the master: below a symlink they are gone.
  const res = await runCli(['sync', master, r, '--format', 'json']);
  t.is(res.code, 0, res.stderr);
  t.is(JSON.parse(res.stdout).remotes[0].passes, 1);
  t.is(readlinkSync(nodePath.join(r, 'a')), outside);
  t.is(readlinkSync(nodePath.join(r, 'loop')), 'loop');
  assertSame(t, master, r);
});

test("a directory replaced by a symlink to '.': the times put back after the change go to no directory through it", async (t) => {
  const { master, remote } = await setup(t, { 'p/q/f': 'f', 'q/g': 'g' });
  utimesSync(nodePath.join(master, 'p/q'), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
  const r = remote();
  t.is((await runCli(['sync', master, r])).code, 0);
  // Removing p/q/f notes p/q, to give it its time back; p then becomes a symlink to '.', through
  // which p/q is the directory q.
  rmSync(nodePath.join(master, 'p'), { recursive: true });
  symlinkSync('.', nodePath.join(master, 'p'));
  const res = await runCli(['sync', master, r, '--format', 'json']);
  t.is(res.code, 0, res.stderr);
  t.is(JSON.parse(res.stdout).remotes[0].passes, 1);
  assertSame(t, master, r);
});

test('hard-link groups become one inode on the remote', async (t) => {
  const { master, remote } = await setup(t, { a: 'shared', other: 'x' });
  linkSync(nodePath.join(master, 'a'), nodePath.join(master, 'b'));
  linkSync(nodePath.join(master, 'a'), nodePath.join(master, 'c'));
  const r = remote();
  const res = await runCli(['sync', master, r]);
  t.is(res.code, 0, res.stderr);
  t.is(statSync(nodePath.join(r, 'a')).ino, statSync(nodePath.join(r, 'c')).ino);
  t.is(statSync(nodePath.join(r, 'a')).nlink, 3);
  assertSame(t, master, r);

  // Across blocks: the group's first path ("a-b/x" sorts before "a/y") is copied in a later block
  // than its other name, in one pass and without an error.
  const across = await setup(t, { 'a-b/x': 'shared', 'a/keep': 'k', top: 't' });
  linkSync(nodePath.join(across.master, 'a-b/x'), nodePath.join(across.master, 'a/y'));
  linkSync(nodePath.join(across.master, 'a-b/x'), nodePath.join(across.master, 'top-link'));
  const res2 = await runCli(['sync', across.master, across.remote(), '--format', 'json']);
  t.is(res2.code, 0, res2.stderr);
  t.is(JSON.parse(res2.stdout).remotes[0].passes, 1);
  assertSame(t, across.master, across.remote());
});

test('a file that leaves a hard-link group on the master is split off on the remote: a copy of reason type', async (t) => {
  const { master, remote } = await setup(t, { a: 'shared' });
  linkSync(nodePath.join(master, 'a'), nodePath.join(master, 'b'));
  const r = remote();
  t.is((await runCli(['sync', master, r])).code, 0);
  // b gets a file of its own on the master, with the same content and times.
  copyFileSync(nodePath.join(master, 'a'), nodePath.join(master, 'b.new'));
  renameSync(nodePath.join(master, 'b.new'), nodePath.join(master, 'b'));
  const { atime, mtime } = statSync(nodePath.join(master, 'a'));
  utimesSync(nodePath.join(master, 'b'), atime, mtime);
  const json = await runCli(['diff', master, r, '--format', 'json']);
  t.is(json.code, 1);
  t.deepEqual(JSON.parse(json.stdout).remotes[0].actions, [{ op: 'copy', path: 'b', reason: 'type', linksDiffer: true }]);
  const text = await runCli(['sync', master, r]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /~ copy {5}b {23}hard links differ\n/);
  t.not(statSync(nodePath.join(r, 'a')).ino, statSync(nodePath.join(r, 'b')).ino);
  t.is(statSync(nodePath.join(r, 'a')).nlink, 1);
  assertSame(t, master, r);
});
