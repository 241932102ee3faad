import test from 'ava';
import type { Action } from '../../src/engine/action.js';
import { ROOT_BLOCK, REST_BLOCK, assignBlocks, blockOrder } from '../../src/engine/blocks.js';
import type { Entry } from '../../src/engine/entry.js';

const e = (path: string, type: Entry['type'] = 'file'): Entry => ({ path, type, size: 0, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, ino: 1, nlink: 1 });
const copy = (path: string): Action => ({ op: 'copy', path, reason: 'missing', master: e(path) });
const mkdir = (path: string): Action => ({ op: 'mkdir', path, master: e(path, 'dir') });
const rmdir = (path: string): Action => ({ op: 'rmdir', path, remote: e(path, 'dir') });

const names = (blocks: ReturnType<typeof assignBlocks>) => blocks.map((b) => `${b.name}: ${b.actions.map((a) => `${a.op} ${a.path}`).join(', ')}`);

test('by default each top-level directory is a block; top-level files come last', (t) => {
  const blocks = assignBlocks([mkdir('lib'), copy('lib/a'), copy('bin/x'), copy('README')], []);
  t.deepEqual(names(blocks), ['bin: copy bin/x', 'lib: mkdir lib, copy lib/a', `${ROOT_BLOCK}: copy README`]);
});

test('declared blocks: first match wins, in declared order; the rest form a last block', (t) => {
  const specs = [
    { name: 'libs', include: ['lib/**'] },
    { name: 'app', include: ['bin/**', 'lib/special/**'], preBlock: 'stop' },
  ];
  const blocks = assignBlocks([copy('bin/app'), copy('lib/special/x'), copy('etc/conf')], specs);
  t.deepEqual(names(blocks), ['libs: copy lib/special/x', 'app: copy bin/app', `${REST_BLOCK}: copy etc/conf`]);
  t.is(blocks[1]!.preBlock, 'stop');
  t.deepEqual(blockOrder([blocks.slice().reverse()], specs), ['libs', 'app', REST_BLOCK]);
});

test('a directory is created in the first block that fills it and removed in the last that empties it', (t) => {
  const specs = [
    { name: 'one', include: ['srv/one/**'] },
    { name: 'two', include: ['srv/two/**'] },
  ];
  const blocks = assignBlocks([mkdir('srv'), mkdir('srv/one'), copy('srv/one/f'), copy('srv/two/g'), rmdir('old'), { op: 'delete', path: 'old/x', remote: e('old/x') }], specs);
  t.deepEqual(names(blocks), ['one: mkdir srv, mkdir srv/one, copy srv/one/f', 'two: copy srv/two/g', `${REST_BLOCK}: rmdir old, delete old/x`]);
});

test('a directory spans every block below it, however its files come in', (t) => {
  const specs = [
    { name: 'deep', include: ['x/deep/**'] },
    { name: 'x', include: ['x/*', 'x/*/**'] },
  ];
  const touch = (path: string): Action => ({ op: 'touch', path, master: e(path, 'dir') });
  const blocks = assignBlocks([mkdir('x'), mkdir('x/deep'), copy('x/deep/f'), copy('x/g'), copy('x/deep/h'), copy('x/deep/i'), touch('x/deep'), touch('x')], specs);
  t.deepEqual(names(blocks), ['deep: mkdir x, mkdir x/deep, copy x/deep/f, copy x/deep/h, copy x/deep/i, touch x/deep', 'x: copy x/g', `${REST_BLOCK}: touch x`]);
});

test('a hard link waits for the block that copies its target; one to a target already there stays in its own', (t) => {
  const link = (path: string, linkTo: string): Action => ({ op: 'hardlink', path, linkTo, master: e(path) });
  // Declared blocks that run the link's block first.
  const declared = assignBlocks([mkdir('a'), mkdir('b'), copy('a/x'), link('b/y', 'a/x'), link('b/z', 'a/old')], [
    { name: 'B', include: ['b/**'] },
    { name: 'A', include: ['a/**'] },
  ]);
  t.deepEqual(names(declared), ['B: mkdir b, hardlink b/z', 'A: mkdir a, copy a/x, hardlink b/y']);
  // Top-level blocks: the leader of a group is its first path, which need not be in the first block ("a-b" sorts after "a").
  const byTop = assignBlocks([copy('a-b/x'), link('a/y', 'a-b/x'), copy('0top'), link('z/w', '0top')], []);
  t.deepEqual(names(byTop), ['a-b: copy a-b/x, hardlink a/y', `${ROOT_BLOCK}: copy 0top, hardlink z/w`]);
});

test('what makes way for a new entry of another type goes no later than the entry', (t) => {
  const specs = [
    { name: 'early', include: ['**/conf'] },
    { name: 'late', include: ['app/**', 'data/**'] },
  ];
  const del = (path: string): Action => ({ op: 'delete', path, remote: e(path) });
  // A remote file app becomes a directory whose file app/conf goes in the early block: the file
  // must be gone before that block makes the directory.
  const fileToDir = assignBlocks([del('app'), mkdir('app'), copy('app/conf')], specs);
  t.deepEqual(names(fileToDir), ['early: delete app, mkdir app, copy app/conf']);
  // A remote directory data, with data/x/conf and data/y in it, becomes a file that the early
  // block copies: what was below it goes with that copy, not in the late block after it.
  const early = [{ name: 'early', include: ['**/conf', 'data'] }, specs[1]!];
  const dirToFile = assignBlocks([del('data/x/conf'), del('data/y'), rmdir('data/x'), rmdir('data'), { ...copy('data'), reason: 'type' }], early);
  t.deepEqual(names(dirToFile), ['early: delete data/x/conf, delete data/y, rmdir data/x, rmdir data, copy data']);
});
