import test from 'ava';
import type { Entry } from '../../src/engine/entry.js';
import type { CommitStep } from '../../src/endpoint/endpoint.js';
import { ProtocolError } from '../../src/protocol/frames.js';
import { packChecksums, packEntry, packOutcomes, packReads, packStep, packStepResults, unpackChecksums, unpackEntries, unpackEntry, unpackOutcomes, unpackReads, unpackStepResults, unpackSteps } from '../../src/protocol/wire-codec.js';

const file: Entry = { path: 'a/b.txt', type: 'file', size: 12, mode: 0o644, uid: 1000, gid: 100, mtimeMs: 1_700_000_000_123, ino: 4242, nlink: 2, crc: 0xdeadbeef };
const dir: Entry = { path: 'a', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, mtimeMs: 1_700_000_000_000, ino: 7, nlink: 3, partial: true };
const link: Entry = { path: 'l', type: 'symlink', size: 0, mode: 0o777, uid: 0, gid: 0, mtimeMs: 1, ino: 8, nlink: 1, target: '../x y\nz' };

test('entries survive the compact form exactly, through JSON', (t) => {
  const back = unpackEntries(JSON.parse(JSON.stringify([file, dir, link].map(packEntry))));
  t.deepEqual(back, [file, dir, link]);
  t.true(JSON.stringify(packEntry(file)).length < JSON.stringify(file).length / 2 + 20);
});

test('commit steps survive the compact form, entries taking the step path', (t) => {
  const steps: CommitStep[] = [
    { action: { op: 'copy', path: 'a/b.txt', reason: 'checksum', master: file, remote: { ...file, crc: 1, nlink: 1 } }, temp: 'a/.replisync-x-1.tmp', attrs: { mode: true, mtime: true, owner: false, group: true } },
    { action: { op: 'hardlink', path: 'a/c.txt', linkTo: 'a/b.txt', master: { ...file, path: 'a/c.txt' } }, attrs: { mode: false, mtime: false, owner: true, group: false } },
    { action: { op: 'rmdir', path: 'a', remote: dir }, attrs: { mode: true, mtime: true, owner: true, group: true } },
  ];
  t.deepEqual(unpackSteps(JSON.parse(JSON.stringify(steps.map(packStep)))), steps);
});

test('malformed compact messages are protocol errors', (t) => {
  t.throws(() => unpackEntries({}), { instanceOf: ProtocolError });
  t.throws(() => unpackEntry([...packEntry(file)].map((v, i) => (i === 1 ? 9 : v))), { instanceOf: ProtocolError, message: /malformed entry/ });
  t.throws(() => unpackEntry([...packEntry(file)].map((v, i) => (i === 2 ? '12' : v))), { message: /malformed entry size/ });
  t.throws(() => unpackSteps([['format', 'x', null, null, null, null, 0, null]]), { message: /malformed commit step/ });
  t.throws(() => unpackSteps([['copy', 'x', null, null, null, null, 0, 'because']]), { message: /malformed copy reason/ });
});

test('commit results carry the failures and the entries of files put in place; staging outcomes are triples', (t) => {
  const steps: CommitStep[] = ['x', 'y', 'z', 'w'].map((path) => ({ action: { op: 'delete', path }, attrs: { mode: true, mtime: true, owner: false, group: false } }));
  const placed = { path: 'w', type: 'file' as const, size: 3, mode: 0o644, uid: 0, gid: 0, mtimeMs: 1_700_000_000_123, ino: 42, nlink: 1, crc: 99 };
  const results = [
    { path: 'x', ok: true },
    { path: 'y', ok: false, error: 'changed on the remote since it was listed', code: 'ECHANGED' },
    { path: 'z', ok: false, error: 'no code' },
    { path: 'w', ok: true, entry: placed },
  ];
  const packed = JSON.parse(JSON.stringify(packStepResults(results)));
  t.deepEqual(packed, {
    n: 4,
    failed: [[1, 'changed on the remote since it was listed', 'ECHANGED'], [2, 'no code', null]],
    entries: [[3, ['', 0, 3, 0o644, 0, 0, 1_700_000_000_123, 42, 1, 99, 0]]],
  });
  t.deepEqual(unpackStepResults(packed, steps), results);
  t.throws(() => unpackStepResults({ n: 3, failed: [], entries: [] }, steps), { message: /malformed commit results/ });
  t.throws(() => unpackStepResults({ n: 4, failed: [] }, steps), { message: /malformed commit results/ });
  t.throws(() => unpackStepResults({ n: 4, failed: [[7, 'x', null]], entries: [] }, steps), { message: /malformed commit result index/ });
  t.throws(() => unpackStepResults({ n: 4, failed: [[1, 'x', null]], entries: [[1, packed.entries[0][1]]] }, steps), { message: /malformed commit result entry/ });
  t.throws(() => unpackStepResults({ n: 4, failed: [], entries: [[3, ['', 9]]] }, steps), { message: /malformed entry/ });

  const outcomes = [
    { ok: true as const, staged: { temp: 'd/.replisync-x-1.tmp', size: 3, crc: 7 } },
    { ok: false as const, error: 'cannot stage new content: EACCES', code: 'EACCES' },
  ];
  t.deepEqual(unpackOutcomes(JSON.parse(JSON.stringify(packOutcomes(outcomes))), 2), outcomes);
  t.throws(() => unpackOutcomes([[1, 2, 3]], 1), { message: /malformed staging outcome/ });
  t.throws(() => unpackOutcomes([], 1), { message: /malformed staging outcomes/ });
});

test('checksums travel in the order asked for, null where unreadable', (t) => {
  const paths = ['a', 'b', 'c'];
  const packed = packChecksums(paths, new Map([['a', 1], ['c', 0]]));
  t.deepEqual(packed, [1, null, 0]);
  t.deepEqual([...unpackChecksums(packed, paths)], [['a', 1], ['c', 0]]);
  t.throws(() => unpackChecksums([1], paths), { message: /malformed checksums/ });
  t.throws(() => unpackChecksums([1, 'x', 2], paths), { message: /malformed checksum/ });
});

test('whole reads: contents as data, split by the sizes of the outcomes', (t) => {
  const stat = { size: 3, crc: 9, mtimeMs: 5, mode: 0o644, uid: 1, gid: 2, consistent: true };
  const outcomes = [
    { ok: true as const, content: Buffer.from('abc'), stat },
    { ok: false as const, error: 'cannot read: EACCES', code: 'EACCES' },
    { ok: true as const, content: Buffer.from('de'), stat: { ...stat, size: 2, consistent: false } },
  ];
  const packed = JSON.parse(JSON.stringify(packReads(outcomes)));
  t.deepEqual(unpackReads(packed, 3, Buffer.from('abcde')), outcomes);
  t.throws(() => unpackReads(packed, 3, Buffer.from('abcd')), { message: /more bytes than sent/ });
  t.throws(() => unpackReads(packed, 3, Buffer.from('abcdef')), { message: /fewer bytes than sent/ });
  t.throws(() => unpackReads(packed, 2, Buffer.from('abcde')), { message: /malformed read outcomes/ });
});
