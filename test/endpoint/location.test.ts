import test from 'ava';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { locate } from '../../src/endpoint/local/locate.js';
import { type Location, relationOf } from '../../src/endpoint/location.js';

const at = (anchor: string, rest: string, above: string[], boot = 'b1'): Location => ({ boot, anchor, rest, above });

test('one directory, one inside another, or neither: by device and inode, per machine', (t) => {
  t.is(relationOf(at('1:10', '', ['1:2']), at('1:10', '', ['1:2'])), 'same');
  t.is(relationOf(at('1:10', '', ['1:2']), at('1:10', '', ['1:2'], 'b2')), undefined, 'another machine');
  t.is(relationOf(at('1:11', '', ['1:10', '1:2']), at('1:10', '', ['1:2'])), 'inside');
  t.is(relationOf(at('1:10', '', ['1:2']), at('1:11', '', ['1:10', '1:2'])), undefined, 'the outer one is not inside');
  t.is(relationOf(at('1:10', 'new/deeper', []), at('1:10', 'new', [])), 'inside', 'both still to be made');
  t.is(relationOf(at('1:10', 'newer', []), at('1:10', 'new', [])), undefined, 'a sibling whose name starts alike');
  t.is(relationOf(at('1:10', 'x', []), at('1:10', 'x', [])), 'same');
  t.is(relationOf(at('1:11', 'x', ['1:10']), at('1:10', 'y', [])), undefined, 'the outer one does not exist yet: it holds nothing');
});

test('locate: a symlink leads to the directory it names; a missing root is placed below what exists', (t) => {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), 'replisync-locate-'));
  mkdirSync(nodePath.join(dir, 'real/sub'), { recursive: true });
  symlinkSync('real', nodePath.join(dir, 'link'));
  const real = locate(nodePath.join(dir, 'real'))!;
  t.truthy(real, 'a Linux kernel has a boot id');
  t.is(relationOf(locate(nodePath.join(dir, 'link'))!, real), 'same');
  t.is(relationOf(locate(nodePath.join(dir, 'link/sub'))!, real), 'inside');
  t.like(locate(nodePath.join(dir, 'real/not/yet')), { anchor: real.anchor, rest: 'not/yet' });
  t.is(relationOf(locate(nodePath.join(dir, 'link/not/yet'))!, locate(nodePath.join(dir, 'real/not'))!), 'inside');
});
