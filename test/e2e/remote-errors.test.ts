import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { BIN, cleanup, runCli, tempDir } from '../helpers/tree.js';

// A remote file system that fills up: a 1 MiB tmpfs, which only root may mount.
const asRoot = process.getuid?.() === 0;

(asRoot ? test : test.skip)('a full remote disk is an error naming the file; its block stays old, the other blocks are synced, no temp file is left (root: mounts a tmpfs)', async (t) => {
  const dir = tempDir();
  const remote = nodePath.join(dir, 'remote');
  mkdirSync(remote);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', remote]);
  t.teardown(async () => {
    execFileSync('umount', [remote]);
    await cleanup(dir);
  });
  const master = nodePath.join(dir, 'master');
  mkdirSync(nodePath.join(master, 'a'), { recursive: true });
  writeFileSync(nodePath.join(master, 'a/big'), Buffer.alloc(3 * 1024 * 1024, 7)); // streamed
  writeFileSync(nodePath.join(master, 'a/small'), 'fits');
  mkdirSync(nodePath.join(master, 'b'));
  writeFileSync(nodePath.join(master, 'b/other'), 'another block');

  const res = await runCli(['sync', '--max-passes', '1', master, remote]);
  t.is(res.code, 2, res.stderr);
  t.regex(res.stderr, /remote: a\/big: cannot stage new content: no space left on device \(ENOSPC\)/);
  t.notRegex(res.stderr, /agent failed|    at /, 'no stack trace');
  t.regex(res.stderr, /remote: block a left as it was: 1 of its file\(s\) could not be staged there/);
  t.deepEqual(readdirSync(remote), ['b'], 'nothing of block a, not even its directory');
  t.deepEqual(readdirSync(nodePath.join(remote, 'b')), ['other']);
});

test('a remote directory that cannot be created is an error naming it; the other remotes are synced', async (t) => {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const master = nodePath.join(dir, 'master');
  mkdirSync(master);
  writeFileSync(nodePath.join(master, 'f'), 'content');
  symlinkSync('nowhere', nodePath.join(dir, 'dangling'));
  symlinkSync('nowhere-too', nodePath.join(dir, 'dangling-root'));
  const bad = nodePath.join(dir, 'dangling/remote');
  const good = nodePath.join(dir, 'good');

  // Under /proc, mkdir answers ENOENT for a parent that exists: node's recursive mkdir loops there forever.
  const proc = '/proc/replisync-test/remote';
  const res = await runCli(['sync', master, bad, proc, nodePath.join(dir, 'dangling-root'), good], { timeoutMs: 30_000 });
  t.is(res.code, 2, res.stderr);
  t.regex(res.stderr, /\/proc\/replisync-test\/remote: cannot create the directory: no such file or directory \(ENOENT\)/);
  // A symlink to nowhere, as the root or above it: mkdir does not follow it, and says it exists.
  t.regex(res.stderr, /dangling\/remote: cannot create the directory: \S+\/dangling is a symlink to nowhere, which is no directory/);
  t.regex(res.stderr, /dangling-root: cannot create the directory: \S+\/dangling-root is a symlink to nowhere-too, which is no directory/);
  t.notRegex(res.stderr, /agent failed|    at /, 'no stack trace');
  t.true(existsSync(nodePath.join(good, 'f')));
  // The report on stdout says so too, in the failed remote's block.
  t.regex(res.stdout, /^remote \/proc\/replisync-test\/remote\nerror \/proc\/replisync-test\/remote: cannot create the directory: .*\nsummary \/proc/m);
});

test('local remotes past the open-file limit are each named with the reason (EMFILE); those whose agent started are synced', async (t) => {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const master = nodePath.join(dir, 'master');
  mkdirSync(master);
  writeFileSync(nodePath.join(master, 'f'), 'content');
  const remotes = Array.from({ length: 20 }, (_, i) => nodePath.join(dir, `r${i}`));
  // Each local remote's agent takes three pipes: 40 descriptors run out before the twentieth.
  const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile('sh', ['-c', 'ulimit -n 40 && exec "$@"', 'sh', process.execPath, BIN, 'sync', '-q', master, ...remotes], (err, _stdout, stderr) =>
      resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr }),
    );
  });
  t.is(res.code, 2, res.stderr);
  const refused = remotes.filter((r) => res.stderr.includes(`${r}: cannot start the local agent: too many open files (EMFILE)`));
  t.true(refused.length > 0 && refused.length < remotes.length, res.stderr);
  t.notRegex(res.stderr, /Cannot read properties|TypeError|    at /);
  for (const r of remotes) t.is(existsSync(nodePath.join(r, 'f')), !refused.includes(r), r);
});
