import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { FsSync } from '../../src/endpoint/local/fs-sync.js';
import { cleanup, tempDir } from '../helpers/tree.js';

test('flushing new files passes over one that is gone with its directory, and names one it cannot open', async (t) => {
  const root = tempDir('replisync-fsync-');
  t.teardown(() => void cleanup(root));
  mkdirSync(nodePath.join(root, 'd'));
  writeFileSync(nodePath.join(root, 'd/new'), 'x');
  const fsSync = new FsSync(root);
  t.teardown(() => fsSync.close());
  const failed: string[] = [];
  const fail = (file: string, err: unknown): never => {
    failed.push(file);
    throw err;
  };
  // A few files: each flushed on its own.
  await fsSync.flushFiles(['d/new', 'gone/new', 'd/new/below-a-file'], fail);
  t.deepEqual(failed, []);
  await t.throwsAsync(fsSync.flushFiles(['../outside'], fail), { code: 'EINVAL' });
  t.deepEqual(failed, ['../outside']);
});
