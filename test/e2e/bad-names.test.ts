import test from 'ava';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { cleanup, makeTree, runCli, tempDir } from '../helpers/tree.js';

/** A path under `dir` whose last name has the byte 0xe9 (Latin-1 é), not valid UTF-8. */
const latin1 = (dir: string, before: string): Buffer => Buffer.concat([Buffer.from(`${dir}/${before}`), Buffer.from([0xe9])]);

test('names that are not valid UTF-8 are reported, never silently missed: exit 2, the rest synced, nothing deleted in their directories', async (t) => {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const master = nodePath.join(dir, 'master');
  const remote = nodePath.join(dir, 'remote');
  await makeTree(master, { 'ok.txt': 'fine', 'sub/': '' });
  writeFileSync(latin1(master, 'caf'), 'latin-1 name');
  mkdirSync(latin1(master, 'sub/dir'));
  mkdirSync(nodePath.join(remote, 'old'), { recursive: true });
  writeFileSync(latin1(remote, 'old/x'), 'on the remote only');
  writeFileSync(nodePath.join(remote, 'old/plain'), 'on the remote only');

  const res = await runCli(['sync', master, remote]);
  t.is(res.code, 2, res.stderr);
  t.regex(res.stderr, /master: caf\\xe9: the name is not valid UTF-8, which replisync cannot handle: not replicated/);
  t.regex(res.stderr, /master: sub\/dir\\xe9: the name is not valid UTF-8/);
  t.regex(res.stderr, /remote: old\/x\\xe9: the name is not valid UTF-8, which replisync cannot handle: left as it is/);
  t.true(existsSync(nodePath.join(remote, 'ok.txt')));
  t.deepEqual(readdirSync(nodePath.join(remote, 'old')).length, 1, 'plain is deleted, the undecodable one kept, so is its directory');

  const excluded = await runCli(['diff', master, remote, '--exclude', 'caf*', '--exclude', 'sub', '--exclude', 'old']);
  t.is(excluded.code, 0, `${excluded.stderr}${excluded.stdout}`);
});
