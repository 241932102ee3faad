import test from 'ava';
import type { Entry } from '../../src/engine/entry.js';
import { entriesByPath, pairEntries } from '../../src/engine/pairing.js';

function file(path: string): Entry {
  return { path, type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtimeMs: 1, ino: 1, nlink: 1 };
}
const paths = (xs: (Entry | undefined)[]) => xs.map((e) => e?.path ?? '-');

test('sorted listings pair by merging: counterparts and what the master lacks', (t) => {
  const master = ['a', 'a/b', 'c', 'd z', 'é'].map(file);
  const remote = ['a/b', 'b', 'c', 'é', 'ü'].map(file);
  const { remoteOf, inMaster } = pairEntries(master, remote);
  t.deepEqual(paths(remoteOf), ['-', 'a/b', 'c', '-', 'é']);
  t.deepEqual(inMaster, [true, false, true, true, false]);
  t.is(remoteOf[1], remote[0], 'the remote entry itself, not a copy');
});

test('listings out of order pair as well, through a map', (t) => {
  const master = ['c', 'a', 'b'].map(file);
  const remote = ['b', 'x', 'c'].map(file);
  const { remoteOf, inMaster } = pairEntries(master, remote);
  t.deepEqual(paths(remoteOf), ['c', '-', 'b']);
  t.deepEqual(inMaster, [true, false, true]);
});

test('empty sides and repeated questions', (t) => {
  const master = ['a'].map(file);
  t.deepEqual(pairEntries(master, []), { remoteOf: [undefined], inMaster: [] });
  t.deepEqual(pairEntries([], master), { remoteOf: [], inMaster: [false] });
  const remote = ['a'].map(file);
  t.is(pairEntries(master, remote), pairEntries(master, remote), 'kept for the round');
  t.is(entriesByPath(remote).get('a'), remote[0]);
  t.is(entriesByPath(remote), entriesByPath(remote), 'made once per listing');
});
