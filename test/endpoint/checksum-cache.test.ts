import test from 'ava';
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
