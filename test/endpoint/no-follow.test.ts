import test from 'ava';
import { chmodSync, lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { chmodNoFollow } from '../../src/endpoint/local/no-follow.js';
import { cleanup, tempDir } from '../helpers/tree.js';

test('chmodNoFollow changes the file or directory itself, never the target of a symlink put in its place, nor another entry', (t) => {
  const dir = tempDir('replisync-nofollow-');
  t.teardown(() => void cleanup(dir));
  const file = nodePath.join(dir, 'file');
  const sub = nodePath.join(dir, 'sub');
  const target = nodePath.join(dir, 'target');
  writeFileSync(file, 'x');
  mkdirSync(sub);
  writeFileSync(target, 'precious');
  chmodSync(target, 0o600);
  const mode = (p: string): number => lstatSync(p).mode & 0o7777;

  chmodNoFollow(file, 0o640, 'file', statSync(file).ino);
  t.is(mode(file), 0o640);
  chmodNoFollow(sub, 0o750, 'dir');
  t.is(mode(sub), 0o750);

  const link = nodePath.join(dir, 'link');
  symlinkSync(target, link);
  t.throws(() => chmodNoFollow(link, 0o644, 'file'), { code: 'ELOOP' });
  t.is(mode(target), 0o600, "the symlink's target keeps its mode");
  t.throws(() => chmodNoFollow(sub, 0o644, 'file'), { code: 'ELOOP' }, 'a directory where a file was expected');
  t.throws(() => chmodNoFollow(file, 0o644, 'dir'), { code: 'ELOOP' }, 'a file where a directory was expected');
  t.throws(() => chmodNoFollow(file, 0o644, 'file', statSync(target).ino), { code: 'ELOOP' }, 'another file than the one looked at');
  t.is(mode(file), 0o640);
});
