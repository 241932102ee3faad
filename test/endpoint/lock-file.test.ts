import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { readLockFile, removeStaleLock } from '../../src/endpoint/local/lock-file.js';
import { cleanup, tempDir } from '../helpers/tree.js';

function workDir(t: { teardown(fn: () => void): void }): string {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  return dir;
}

test('a lock file read: a record with its inode, what is wrong with anything else, nothing where there is none', async (t) => {
  const dir = workDir(t);
  const at = (name: string): string => nodePath.join(dir, name);
  writeFileSync(at('ok'), JSON.stringify({ host: 'h', pid: 7, runId: 'r' }));
  const found = await readLockFile<{ host: string; pid: number }>(at('ok'));
  t.like(found, { record: { host: 'h', pid: 7 } });
  t.true(found !== undefined && 'ino' in found && typeof found.ino === 'number');
  writeFileSync(at('empty'), '');
  t.like(await readLockFile(at('empty')), { problem: 'it is empty' });
  writeFileSync(at('other'), '{"pid":"7"}');
  t.like(await readLockFile(at('other')), { problem: 'it holds no lock record of replisync' });
  mkdirSync(at('dir'));
  t.deepEqual(await readLockFile(at('dir')), { problem: 'it is a directory' });
  execFileSync('mkfifo', [at('fifo')]);
  t.deepEqual(await readLockFile(at('fifo')), { problem: 'it is no regular file' }, 'read without waiting for a writer');
  t.is(await readLockFile(at('none')), undefined);
});

test('a stale lock is removed only while it is the one found stale: a lock another run took in its place stays', async (t) => {
  const dir = workDir(t);
  const lock = nodePath.join(dir, 'x.lock');
  const aside = nodePath.join(dir, 'x.lock.aside');
  writeFileSync(lock, '{"host":"h","pid":1,"runId":"dead"}');
  const stale = await readLockFile<{ host: string; pid: number }>(lock);
  const ino = stale !== undefined && 'ino' in stale ? stale.ino! : -1;

  // Another run removed the stale lock and took the lock meanwhile: its lock is a new file.
  renameSync(lock, nodePath.join(dir, 'gone'));
  writeFileSync(lock, '{"host":"h","pid":2,"runId":"alive"}');
  await removeStaleLock(lock, ino, aside);
  t.is(readFileSync(lock, 'utf8'), '{"host":"h","pid":2,"runId":"alive"}', 'put back');

  // Still the stale one (back in place, over the other): removed.
  renameSync(nodePath.join(dir, 'gone'), lock);
  await removeStaleLock(lock, ino, aside);
  t.deepEqual(readdirSync(dir), [], 'nothing left, not even the name it was moved to');

  // Gone already (another run removed it first): no error.
  await t.notThrowsAsync(removeStaleLock(lock, ino, aside));
});
