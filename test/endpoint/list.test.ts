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

/**
 * Lists `root` (holding top/s1 and top/s2, each with a file c) while another process changes one
 * of them: whichever the walk reads first has `change` done to the other before its turn (the walk
 * reads a directory's subdirectories after the directory itself, one after the other). Gives the
 * paths listed and the directory that was left alone.
 */
async function walkWhileChanging(root: string, change: (dir: string) => void): Promise<{ paths: string[]; kept: string }> {
  let changed: string | undefined;
  const classifier: Classifier = {
    excluded(path) {
      const m = /^top\/(s[12])\/c$/.exec(path);
      if (m && !changed) {
        changed = m[1] === 's1' ? 's2' : 's1';
        change(nodePath.join(root, 'top', changed));
      }
      return false;
    },
    included: () => true,
  };
  const { entries } = await walk(root, classifier);
  return { paths: entries.map((e) => e.path), kept: changed === 's1' ? 's2' : 's1' };
}

test('a directory removed by another process while its parent is listed is as if never there', async (t) => {
  const root = tree(t, ['top/s1', 'top/s2']);
  const { paths, kept } = await walkWhileChanging(root, (dir) => rmSync(dir, { recursive: true }));
  t.deepEqual(paths, ['top', `top/${kept}`, `top/${kept}/c`]);
});

test('a directory swapped for a symlink while its parent is listed is not walked through: what it leads to is not listed', async (t) => {
  const root = tree(t, ['top/s1', 'top/s2']);
  const outside = tempDir('replisync-outside-');
  t.teardown(() => void cleanup(outside));
  writeFileSync(nodePath.join(outside, 'secret'), 'not of this tree');
  const { paths, kept } = await walkWhileChanging(root, (dir) => {
    rmSync(dir, { recursive: true });
    symlinkSync(outside, dir);
  });
  t.deepEqual(paths, ['top', `top/${kept}`, `top/${kept}/c`]);
});

test('the root itself gone is an error, never an empty listing', async (t) => {
  const root = tree(t, []);
  rmSync(root, { recursive: true });
  const everything: Classifier = { excluded: () => false, included: () => true };
  const err = await t.throwsAsync(walk(root, everything), { instanceOf: WalkError });
  t.is(err?.path, '.');
});
