import test from 'ava';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { ChecksumCache } from '../../src/endpoint/local/checksum-cache.js';
import { cleanup, tempDir } from '../helpers/tree.js';

test('what is learnt while the cache file is being written is kept by the next save', async (t) => {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  const file = nodePath.join(dir, 'cache/root.json');
  const cache = new ChecksumCache(file);
  cache.set('a', 'k1', 1);
  const saving = cache.save();
  cache.set('b', 'k2', 2); // while the file is written
  await saving;
  await cache.save();
  const loaded = new ChecksumCache(file);
  await loaded.load();
  t.is(loaded.get('a', 'k1'), 1);
  t.is(loaded.get('b', 'k2'), 2);
});

test('caches unused for 60 days and temp files of cut-off writes are pruned when a cache is written; a cache in use is kept', async (t) => {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  const cacheDir = nodePath.join(dir, 'checksums');
  mkdirSync(cacheDir);
  const day = 24 * 60 * 60;
  const aged = (name: string, days: number): string => {
    const file = nodePath.join(cacheDir, name);
    writeFileSync(file, JSON.stringify({ v: 1, entries: [['f', 'k', 7]] }));
    const when = Date.now() / 1000 - days * day;
    utimesSync(file, when, when);
    return file;
  };
  const unused = aged('unused.json', 61);
  const recent = aged('recent.json', 59);
  const cutOff = aged('recent.json.123.tmp', 2);
  const writing = aged('other.json.456.tmp', 0);
  const foreign = aged('notes.txt', 400);
  const idle = aged('idle.json', 61); // loaded by a run that learns nothing new

  const idleCache = new ChecksumCache(idle);
  await idleCache.load();
  t.is(idleCache.get('f', 'k'), 7);
  await idleCache.save();
  t.true(Date.now() - statSync(idle).mtimeMs < day * 1000, 'marked as in use');

  const cache = new ChecksumCache(nodePath.join(cacheDir, 'current.json'));
  cache.set('a', 'k', 1);
  await cache.save();
  t.false(existsSync(unused));
  t.false(existsSync(cutOff));
  for (const kept of [recent, writing, foreign, idle, nodePath.join(cacheDir, 'current.json')]) t.true(existsSync(kept), kept);

  // Once a day: the next save does not look through the directory again.
  const agedSince = aged('aged-since.json', 90);
  cache.set('b', 'k', 2);
  await cache.save();
  t.true(existsSync(agedSince));
});

test('a dry run (a cache not writable) neither writes nor marks its file', async (t) => {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  const file = nodePath.join(dir, 'root.json');
  writeFileSync(file, JSON.stringify({ v: 1, entries: [['f', 'k', 7]] }));
  utimesSync(file, 1_000_000, 1_000_000);
  const cache = new ChecksumCache(file, false);
  await cache.load();
  cache.set('g', 'k', 8);
  await cache.save();
  t.is(statSync(file).mtimeMs, 1_000_000_000);
  t.is(readFileSync(file, 'utf8'), JSON.stringify({ v: 1, entries: [['f', 'k', 7]] }));
});
