import test from 'ava';
import type { Entry, Listing } from '../../src/engine/entry.js';
import { patchListing, touchedPaths, trustedPlacements } from '../../src/engine/listing-patch.js';

function entry(path: string, type: Entry['type'], extra: Partial<Entry> = {}): Entry {
  return { path, type, size: type === 'file' ? 10 : 0, mode: 0o644, uid: 0, gid: 0, mtimeMs: 1000, ino: 1, nlink: 1, ...extra };
}
const listing = (entries: Entry[], exists = true): Listing => ({ exists, entries, leftovers: ['.replisync-x.tmp'], canChown: false });

test('touched paths are the paths the plan acts on', (t) => {
  const touched = touchedPaths([
    { op: 'mkdir', path: 'd' },
    { op: 'copy', path: 'd/f', reason: 'missing' },
    { op: 'hardlink', path: 'd/g', linkTo: 'd/f' },
  ]);
  t.deepEqual([...touched], ['d', 'd/f', 'd/g']);
});

test('a patched listing replaces touched entries, drops the vanished ones and keeps the rest in order', (t) => {
  const before = listing([entry('a', 'file', { crc: 1 }), entry('b', 'file'), entry('c', 'dir', { partial: true }), entry('c/x', 'file'), entry('z', 'file')]);
  const fresh = [entry('b', 'file', { size: 99 }), entry('c', 'dir'), entry('c/new', 'symlink', { target: 'x' }), entry('unasked', 'file')];
  const after = patchListing(before, new Set(['b', 'c', 'c/x', 'c/new']), fresh);
  t.deepEqual(
    after.entries.map((e) => e.path),
    ['a', 'b', 'c', 'c/new', 'z'],
  );
  t.is(after.entries[0]!.crc, 1, 'untouched entries keep what was learnt of them');
  t.is(after.entries[1]!.size, 99);
  t.true(after.entries[2]!.partial, 'a directory keeps its partial mark');
  t.deepEqual(after.leftovers, before.leftovers);
  t.deepEqual(before.entries.map((e) => e.path), ['a', 'b', 'c', 'c/x', 'z'], 'the input is not changed');
});

test('a remote root created by the pass exists in the patched listing', (t) => {
  const after = patchListing(listing([], false), new Set(['d']), [entry('d', 'dir')]);
  t.true(after.exists);
  t.false(patchListing(listing([], false), new Set(), []).exists);
});

test('a commit\'s look at a file it put in place stands only for a path whose only action was that copy, with no link made to it', (t) => {
  const placed = new Map(['d/f', 'd/g', 'e', 'h', 'x'].map((p) => [p, entry(p, 'file', { crc: 5 })]));
  const trusted = trustedPlacements(
    [
      { op: 'mkdir', path: 'd' },
      { op: 'copy', path: 'd/f', reason: 'missing' },
      { op: 'hardlink', path: 'd/g', linkTo: 'd/f' },
      { op: 'rmdir', path: 'e' },
      { op: 'copy', path: 'e', reason: 'type' },
      { op: 'copy', path: 'h', reason: 'checksum' },
      { op: 'chmod', path: 'x' },
      { op: 'copy', path: 'y', reason: 'missing' },
    ],
    placed,
  );
  t.deepEqual([...trusted.keys()], ['h'], 'd/f gained a link, d/g is a link, e had two actions, x was no copy, y has no entry');
  t.is(trusted.get('h'), placed.get('h'));
});
