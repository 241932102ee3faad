import test from 'ava';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { cacheFileFor } from '../../src/endpoint/local/cache-location.js';
import { cleanup, makeTree, runCli, tempDir } from '../helpers/tree.js';

/** A tree synced once, with the checksum caches of both sides in a cache dir of the test's own. */
async function synced(t: { teardown(fn: () => void): void }) {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  const master = nodePath.join(dir, 'master');
  const remote = nodePath.join(dir, 'remote');
  const env = { XDG_CACHE_HOME: nodePath.join(dir, 'cache') };
  await makeTree(master, { 'etc/app.conf': 'port=8080\n', 'bin/app': 'binary v1' });
  const first = await runCli(['sync', master, remote], { env });
  if (first.code !== 0) throw new Error(first.stderr);
  return { dir, master, remote, env, cacheDir: nodePath.join(dir, 'cache/replisync/checksums') };
}

test('the cache never hides a change that keeps size and mtime: ctime moved, so the file is read again', async (t) => {
  const { master, remote, env, cacheDir } = await synced(t);
  t.is(readdirSync(cacheDir).filter((f) => f.endsWith('.json')).length, 2, 'a cache per root: master and remote');
  const conf = nodePath.join(remote, 'etc/app.conf');
  const { atime, mtime } = statSync(conf);
  writeFileSync(conf, 'port=9090\n'); // same size
  utimesSync(conf, atime, mtime); // same mtime: only ctime tells

  const diff = await runCli(['diff', '--format', 'json', master, remote], { env });
  t.is(diff.code, 1, diff.stderr);
  const actions = JSON.parse(diff.stdout).remotes[0].actions as { op: string; path: string; reason?: string }[];
  t.deepEqual(actions.map((a) => `${a.op} ${a.path} ${a.reason}`), ['copy etc/app.conf checksum']);

  const sync = await runCli(['sync', master, remote], { env });
  t.is(sync.code, 0, sync.stderr);
  t.is(readFileSync(conf, 'utf8'), 'port=8080\n');
});

test('--no-cache reads every file: a cache entry that lies is not believed', async (t) => {
  const { master, remote, env, cacheDir } = await synced(t);
  // Make the remote's cache claim another CRC for a file whose stat still matches its entry.
  const file = cacheFileFor(remote, env.XDG_CACHE_HOME);
  t.true(readdirSync(cacheDir).includes(nodePath.basename(file)));
  const data = JSON.parse(readFileSync(file, 'utf8')) as { v: number; entries: [string, string, number][] };
  for (const e of data.entries) if (e[0] === 'bin/app') e[2] = (e[2] + 1) >>> 0;
  writeFileSync(file, JSON.stringify(data));
  const trusting = await runCli(['diff', '--format', 'json', master, remote], { env });
  t.is(trusting.code, 1, 'the cache is used when its key still matches');
  t.deepEqual(
    (JSON.parse(trusting.stdout).remotes[0].actions as { path: string; reason: string }[]).map((a) => `${a.path} ${a.reason}`),
    ['bin/app checksum'],
  );
  const reading = await runCli(['diff', '--no-cache', master, remote], { env });
  t.is(reading.code, 0, reading.stdout);
});
