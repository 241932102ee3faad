import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync, linkSync, chmodSync } from 'node:fs';
import * as nodePath from 'node:path';
import { comparable, makeTree, runCli, snapshot } from '../helpers/tree.js';
import { Random, lockDirs, mutateTree, randomTree } from '../helpers/random-tree.js';
import { freePort } from '../helpers/sshd.js';
import { SAMPLE, freshDir, sshTest, trees } from '../helpers/ssh-fixture.js';
import { endpointContract } from '../helpers/endpoint-contract.js';
import { ConnectionPool } from '../../src/transport/connection-pool.js';
import { openHostAgent } from '../../src/transport/remote-agent.js';
import { connectionShell } from '../../src/transport/host-shell.js';

const test = sshTest(['web1', 'web2', 'web3']);

test.serial('scp form with an alias and the URL form, two remotes in different states', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  linkSync(nodePath.join(master, 'bin/app'), nodePath.join(master, 'bin/app-link'));
  chmodSync(nodePath.join(master, 'bin/run.sh'), 0o755);
  await makeTree(at('r2'), { 'bin/app': 'old app', 'stale/file': 'x' });
  const url = `ssh://root@127.0.0.1:${lab.hosts.get('web2')!.port}${at('r2')}`;
  const res = await runCli(['sync', master, `web1:${at('r1')}`, url, '--format', 'json', '-v'], { env: lab.env() });
  if (res.code !== 0) t.log(res.stderr, res.stdout);
  t.is(res.code, 0);
  const report = JSON.parse(res.stdout);
  t.deepEqual(report.remotes.map((r: { endpoint: string }) => r.endpoint), [`web1:${at('r1')}`, url]);
  t.deepEqual(comparable(snapshot(at('r1'))), comparable(snapshot(master)));
  t.deepEqual(comparable(snapshot(at('r2'))), comparable(snapshot(master)));
  t.is(statSync(nodePath.join(at('r1'), 'bin/app')).ino, statSync(nodePath.join(at('r1'), 'bin/app-link')).ino);
  const again = await runCli(['diff', master, `web1:${at('r1')}`, url], { env: lab.env() });
  t.is(again.code, 0, again.stdout + again.stderr);
});

test.serial("host:~/dir and ssh://host/~/dir are in the login's home, as with scp; ~name is refused naming it", async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master } = await trees(t, SAMPLE);
  const home = lab.hosts.get('web3')!.home;
  const url = `ssh://root@127.0.0.1:${lab.hosts.get('web3')!.port}/~/by-url`;
  const res = await runCli(['sync', master, 'web3:~/by-scp', url], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(nodePath.join(home, 'by-scp'))), comparable(snapshot(master)));
  t.deepEqual(comparable(snapshot(nodePath.join(home, 'by-url'))), comparable(snapshot(master)));
  const other = await runCli(['sync', master, 'web3:~nobody/x'], { env: lab.env() });
  t.is(other.code, 2);
  t.regex(other.stderr, /web3:~nobody\/x: ~nobody: only ~ and ~\/ \(this user's home\) are expanded; give the path in full/);
  t.notRegex(other.stderr, /agent failed|    at /, 'no stack trace');
});

test.serial('a master over SSH, replicated to a local directory and another host', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', `web2:${master}`, at('local'), `web3:${at('r3')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(at('local'))), comparable(snapshot(master)));
  t.deepEqual(comparable(snapshot(at('r3'))), comparable(snapshot(master)));
  const missing = await runCli(['sync', `web2:${at('nothing-here')}`, at('local')], { env: lab.env() });
  t.is(missing.code, 2);
  t.regex(missing.stderr, /web2:.*nothing-here: the master directory does not exist/);
  t.true(existsSync(nodePath.join(at('local'), 'bin/app')), 'nothing deleted');
});

test.serial('attributes over SSH: modes, mtimes, owners, symlink retarget, deletes', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  await runCli(['sync', master, `web1:${at('r')}`], { env: lab.env() });
  chmodSync(nodePath.join(at('r'), 'etc/app.conf'), 0o600);
  execFileSync('chown', ['123:456', nodePath.join(at('r'), 'lib/core.so')]);
  execFileSync('ln', ['-sfn', 'lib', nodePath.join(at('r'), 'current')]);
  writeFileSync(nodePath.join(at('r'), 'extra'), 'x');
  const diff = await runCli(['diff', master, `web1:${at('r')}`, '--format', 'json'], { env: lab.env() });
  t.is(diff.code, 1);
  const ops = JSON.parse(diff.stdout).remotes[0].actions.map((a: { op: string; path: string }) => `${a.op} ${a.path}`);
  for (const op of ['chmod etc/app.conf', 'chown lib/core.so', 'symlink current', 'delete extra']) t.true(ops.includes(op), op);
  const res = await runCli(['sync', master, `web1:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
});

test.serial('a remote that is down is reported with its host; the others complete', async (t) => {
  const { lab } = t.context;
  const port = await freePort();
  lab.writeClientFiles({ extraConfig: `Host down\n  HostName 127.0.0.1\n  Port ${port}\n  User root\n` });
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `down:${at('r1')}`, `web2:${at('r2')}`, '--format', 'json'], { env: lab.env() });
  t.is(res.code, 2);
  const report = JSON.parse(res.stdout);
  t.regex(report.remotes[0].error, /down:.*cannot connect to 127\.0\.0\.1 port \d+.*ECONNREFUSED/);
  t.is(report.remotes[1].error, null);
  t.deepEqual(comparable(snapshot(at('r2'))), comparable(snapshot(master)));
});

test.serial('one directory under two SSH names, or one inside another, is refused once the hosts are reached; nothing changes', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  await makeTree(at('r'), { keep: 'remote only' });
  const before = comparable(snapshot(at('r'), { withRoot: true }));
  const refusals: [string[], RegExp][] = [
    [[master, `web1:${at('r')}`, `ssh://root@127.0.0.1:${lab.hosts.get('web2')!.port}${at('r')}`], /remote web1:\S+\/r and remote ssh:\/\/\S+\/r are the same directory/],
    [[master, `web1:${at('new')}`, `web2:${at('new')}`], /remote web1:\S+\/new and remote web2:\S+\/new are the same directory/],
    [[master, `web1:${nodePath.join(master, 'sub')}`], /remote web1:\S+\/master\/sub and master \S+\/master must not contain one another/],
    [[`web1:${at('r')}/..`, `web2:${at('r')}`], /remote web2:\S+\/r and master web1:\S+ must not contain one another/],
  ];
  for (const [endpoints, message] of refusals) {
    const res = await runCli(['sync', ...endpoints], { env: lab.env() });
    t.is(res.code, 2, endpoints.join(' '));
    t.regex(res.stderr, message);
  }
  t.deepEqual(comparable(snapshot(at('r'), { withRoot: true })), before);
  t.false(existsSync(at('new')));
  t.false(existsSync(nodePath.join(master, 'sub')));
  // Sibling directories on one host are no overlap.
  t.is((await runCli(['sync', master, `web1:${at('a')}`, `web2:${at('b')}`], { env: lab.env() })).code, 0);
});

test.serial('the endpoint contract holds over SSH', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const home = process.env.HOME;
  process.env.HOME = lab.clientHome;
  const pool = new ConnectionPool({ acceptNewHostKey: false });
  try {
    const base = freshDir(t, 'contract');
    await endpointContract(t, base, async (root) => openHostAgent(connectionShell(pool.get('web2', undefined, undefined)), `web2:${root}`, { root, cache: false, saveCache: false }));
  } finally {
    await pool.closeAll();
    process.env.HOME = home;
  }
});

test.serial('random trees with a master over SSH, to a host and a local directory, changed and synced again', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  // Seeds that found bugs in the local runs (random-trees.test.ts), now through agents on both sides.
  for (const seed of [27, 60, 120]) {
    const base = freshDir(t, `random-${seed}`);
    const rnd = new Random(seed);
    const master = nodePath.join(base, 'master');
    const [remote, local] = [nodePath.join(base, 'remote'), nodePath.join(base, 'local')];
    lockDirs(randomTree(rnd, master));
    lockDirs(randomTree(rnd, remote));
    const sync = async (): Promise<void> => {
      const res = await runCli(['sync', `web1:${master}`, `web2:${remote}`, local], { env: lab.env() });
      t.is(res.code, 0, `seed ${seed}: ${res.stderr}`);
      t.deepEqual(comparable(snapshot(remote)), comparable(snapshot(master)), `seed ${seed}`);
      t.deepEqual(comparable(snapshot(local)), comparable(snapshot(master)), `seed ${seed}`);
    };
    await sync();
    execFileSync('chmod', ['-R', 'u+rwx', master]);
    lockDirs(mutateTree(rnd, master));
    await sync();
    execFileSync('chmod', ['-R', 'u+rwx', base]);
  }
});
