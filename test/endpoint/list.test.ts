import test from 'ava';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import type { Classifier } from '../../src/engine/classification.js';
import { WalkError, walk } from '../../src/endpoint/local/list.js';
import { cleanup, tempDir } from '../helpers/tree.js';

function tree(t: { teardown(fn: () => void): void }, dirs: string[]): string {
  const root = tempDir('replisync-list-');
  t.teardown(() => void cleanup(root));
  for (const d of dirs) {
    mkdirSync(nodePath.join(root, d), { recursive: true });
    writeFileSync(nodePath.join(root, d, 'c'), d);
  }
  return root;
}

test('a directory removed by another process while its parent is listed is as if never there', async (t) => {
  const root = tree(t, ['top/s1', 'top/s2']);
  let removed: string | undefined;
  // Whichever of s1 and s2 is read first removes the other before its turn (the walk reads a
  // directory's subdirectories after the directory itself, one after the other).
  const classifier: Classifier = {
    excluded(path) {
      const m = /^top\/(s[12])\/c$/.exec(path);
      if (m && !removed) {
        removed = m[1] === 's1' ? 's2' : 's1';
        rmSync(nodePath.join(root, 'top', removed), { recursive: true });
      }
      return false;
    },
    included: () => true,
  };
  const { entries } = await walk(root, classifier);
  const kept = removed === 's1' ? 's2' : 's1';
  t.deepEqual(
    entries.map((e) => e.path),
    ['top', `top/${kept}`, `top/${kept}/c`],
  );
});

test('the root itself gone is an error, never an empty listing', async (t) => {
  const root = tree(t, []);
  rmSync(root, { recursive: true });
  const everything: Classifier = { excluded: () => false, included: () => true };
  const err = await t.throwsAsync(walk(root, everything), { instanceOf: WalkError });
  t.is(err?.path, '.');
});

test('a directory swapped for a symlink while its parent is listed is not walked through: what it leads to is not listed', async (t) => {
  const root = tree(t, ['top/s1', 'top/s2']);
  const outside = tempDir('replisync-outside-');
  t.teardown(() => void cleanup(outside));
  writeFileSync(nodePath.join(outside, 'secret'), 'not of this tree');
  let swapped: string | undefined;
  // As above: whichever of s1 and s2 is read first swaps the other for a symlink to `outside`.
  const classifier: Classifier = {
    excluded(path) {
      const m = /^top\/(s[12])\/c$/.exec(path);
      if (m && !swapped) {
        swapped = m[1] === 's1' ? 's2' : 's1';
        rmSync(nodePath.join(root, 'top', swapped), { recursive: true });
        symlinkSync(outside, nodePath.join(root, 'top', swapped));
      }
      return false;
    },
    included: () => true,
  };
  const { entries } = await walk(root, classifier);
  const kept = swapped === 's1' ? 's2' : 's1';
  t.deepEqual(
    entries.map((e) => e.path),
    ['top', `top/${kept}`, `top/${kept}/c`],
  );
});
