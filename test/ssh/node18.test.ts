import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { REPO, comparable, runCli, snapshot } from '../helpers/tree.js';
import { sshTest, trees } from '../helpers/ssh-fixture.js';

const test = sshTest(['web1', 'web2']);

/** Node.js 18, the oldest node the agent runs on: fetched by scripts/fetch-node18.mjs (npm test does it). */
const NODE18 = nodePath.join(REPO, 'node_modules/.cache/replisync-node18/package/bin/node');
const have = existsSync(NODE18);
if (!have && process.env.REPLISYNC_REQUIRE_NODE18) {
  test('Node.js 18 is there for the agent test (CI fetches it)', (t) => t.fail(`${NODE18} is missing: scripts/fetch-node18.mjs could not fetch it`));
}

(have ? test.serial : test.skip)('the agent runs on Node.js 18: a master and remotes over SSH, links, modes, a delta, a no-change check', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { base, master, at } = await trees(t, { 'bin/app': 'app v1', 'etc/app.conf': 'x=1\n', current: '-> bin', 'empty/': '' });
  linkSync(nodePath.join(master, 'bin/app'), nodePath.join(master, 'bin/app2'));
  chmodSync(nodePath.join(master, 'etc/app.conf'), 0o640);
  const content = randomBytes(1024 * 1024);
  writeFileSync(nodePath.join(master, 'big.bin'), content);

  // A node that notes the version it runs as (a file per process), so that the test knows every agent ran on Node 18.
  const versions = nodePath.join(base, 'versions');
  mkdirSync(versions);
  const node18 = nodePath.join(base, 'node18');
  writeFileSync(node18, `#!/bin/sh\n'${NODE18}' --version > '${versions}'/$$\nexec '${NODE18}' "$@"\n`, { mode: 0o755 });
  const run = (...args: string[]) => runCli([...args, `web1:${master}`, `web1:${at('r1')}`, `web2:${at('r2')}`, '--remote-node', node18, '-v'], { env: lab.env() });

  const first = await run('sync');
  t.is(first.code, 0, first.stderr);
  for (const r of ['r1', 'r2']) t.deepEqual(comparable(snapshot(at(r))), comparable(snapshot(master)), r);

  writeFileSync(nodePath.join(master, 'big.bin'), Buffer.concat([Buffer.from('inserted'), content]));
  writeFileSync(nodePath.join(master, 'bin/new'), 'new');
  const second = await run('sync');
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /web2:\S+: 1 copy \(1\.0 MiB\) went as its changed blocks: 8 B of content sent/);
  for (const r of ['r1', 'r2']) t.deepEqual(comparable(snapshot(at(r))), comparable(snapshot(master)), r);

  t.is((await run('diff')).code, 0);
  t.is((await run('diff', '--no-cache')).code, 0);
  // Three agents a run (the master and two remotes), four runs.
  const seen = readdirSync(versions).map((f) => readFileSync(nodePath.join(versions, f), 'utf8').trim());
  t.is(seen.length, 12);
  t.deepEqual([...new Set(seen)], ['v18.20.8']);
});

(have ? test.serial : test.skip)('the CLI itself on Node.js 18 says what it needs, exit 2 (a stack trace and exit 1, "differences remain", before)', (t) => {
  const res = spawnSync(NODE18, [nodePath.join(REPO, 'bin/replisync.js'), 'diff', t.context.dir, nodePath.join(t.context.dir, 'nowhere')], { encoding: 'utf8' });
  t.is(res.status, 2);
  t.regex(res.stderr, /^replisync: needs Node\.js 20\.19 or later on this machine \(this is v18\.\d+\.\d+\); the hosts it syncs need only node 18\n$/);
  t.is(res.stdout, '');
});
