import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { comparable, runCli, snapshot } from '../helpers/tree.js';
import { SAMPLE, sshTest, trees } from '../helpers/ssh-fixture.js';

const test = sshTest(['web1', 'web2', 'nonode', 'forced']);

test.serial('the agent is uploaded on first contact, once for all the directories of a host, and reused after; a dry run sends it along and writes nothing', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const web2 = lab.hosts.get('web2')!;
  const cacheDir = nodePath.join(web2.home, '.cache/replisync');
  execFileSync('rm', ['-rf', cacheDir]);
  const { master, at } = await trees(t, SAMPLE);
  // A dry run writes nothing on the host, not even the agent: it goes with the connection.
  const home = comparable(snapshot(web2.home));
  for (const dry of [['diff'], ['sync', '-n']]) {
    const res = await runCli([...dry, master, `web2:${at('r')}`, '-v'], { env: lab.env() });
    t.is(res.code, 1, res.stderr);
    t.regex(res.stderr, /web2:\S+: the agent goes with the connection \(a dry run installs nothing\)/);
    t.regex(res.stdout, /\+ copy +bin\/app +missing on remote/);
  }
  t.deepEqual(comparable(snapshot(web2.home)), home);
  // Three directories of the host, reached at once: one upload serves them all.
  const first = await runCli(['sync', master, `web2:${at('r')}`, `web2:${at('r2')}`, `web2:${at('r3')}`, '-v'], { env: lab.env() });
  t.is(first.code, 0, first.stderr);
  t.is(first.stderr.match(/installing the agent/g)?.length, 1, first.stderr);
  const agents = readdirSync(cacheDir).filter((f) => f.startsWith('agent-'));
  t.is(agents.length, 1);
  t.is(statSync(cacheDir).mode & 0o777, 0o700);
  const before = statSync(nodePath.join(cacheDir, agents[0]!)).mtimeMs;
  const second = await runCli(['sync', master, `web2:${at('r')}`, '-v'], { env: lab.env() });
  t.is(second.code, 0);
  t.notRegex(second.stderr, /installing the agent/);
  t.is(statSync(nodePath.join(cacheDir, agents[0]!)).mtimeMs, before);

  // A home where nothing can be kept (here ~/.cache is a file): the agent goes with the connection.
  const dotCache = nodePath.join(web2.home, '.cache');
  execFileSync('rm', ['-rf', dotCache]);
  writeFileSync(dotCache, 'not a directory');
  t.teardown(() => rmSync(dotCache, { force: true }));
  writeFileSync(nodePath.join(master, 'bin/app'), 'changed, so that there is work');
  const readOnly = await runCli(['sync', master, `web2:${at('r')}`, '-v'], { env: lab.env() });
  t.is(readOnly.code, 0, readOnly.stderr);
  t.regex(readOnly.stderr, /web2:\S+: cannot install the agent under ~\/\.cache\/replisync: .*; the agent goes with each connection instead/);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
  t.is(readFileSync(dotCache, 'utf8'), 'not a directory');
  rmSync(dotCache, { force: true });
});

test.serial('a host without node gets a clear error; the other remotes complete; --remote-node names node', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `nonode:${at('r1')}`, `web1:${at('r2')}`], { env: lab.env() });
  t.is(res.code, 2);
  t.regex(res.stderr, /nonode:.*: node is not on the PATH of the host: install Node\.js 18 or later there, or name it with --remote-node/);
  t.deepEqual(comparable(snapshot(at('r2'))), comparable(snapshot(master)));
  // Named, as rsync's --rsync-path names rsync: a node outside the PATH (nvm's, say), in a
  // directory whose name a shell would split and expand.
  const odd = nodePath.join(t.context.dir, "node's $HOME dir");
  mkdirSync(odd);
  execFileSync('ln', ['-s', process.execPath, nodePath.join(odd, 'node')]);
  const named = await runCli(['sync', master, `nonode:${at('r1')}`, '--remote-node', nodePath.join(odd, 'node')], { env: lab.env() });
  t.is(named.code, 0, named.stderr);
  t.deepEqual(comparable(snapshot(at('r1'))), comparable(snapshot(master)));
  const wrong = await runCli(['diff', master, `nonode:${at('r1')}`, '--remote-node', '/opt/node/bin/node'], { env: lab.env() });
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /nonode:.*: --remote-node \/opt\/node\/bin\/node: no executable file there on the host/);
  // A node too old for the agent (as a distribution's node 12 is) is told, before it fails to parse it.
  writeFileSync(
    nodePath.join(odd, 'v12.cjs'),
    "Object.defineProperty(process, 'version', { value: 'v12.22.12' }); Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '12.22.12' } });" +
      "const M = require('module'), compile = M.prototype._compile;" +
      "M.prototype._compile = function (code, file) { if (file.includes('/agent-')) throw new SyntaxError('Unexpected token ?.'); return compile.call(this, code, file); };",
  );
  writeFileSync(nodePath.join(odd, 'old-node'), `#!/bin/sh\nexec '${process.execPath}' --require '${nodePath.join(odd, 'v12.cjs').replace(/'/g, "'\\''")}' "$@"\n`, { mode: 0o755 });
  const old = await runCli(['diff', master, `nonode:${at('r1')}`, '--remote-node', nodePath.join(odd, 'old-node')], { env: lab.env() });
  t.is(old.code, 2);
  t.regex(old.stderr, /nonode:.*: the host runs node v12\.22\.12; replisync needs 18 or later/);
});

test.serial('a host that runs a command of its own in place of the agent (ForceCommand) is told so, with what it printed', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `forced:${at('r1')}`, `web1:${at('r2')}`], { env: lab.env() });
  t.is(res.code, 2);
  t.regex(res.stderr, /forced:\S+: the agent did not start \(exit 0\) \(the host ran another command in its place: a ForceCommand in sshd_config, or command= in authorized_keys\?\): this key only runs backups/);
  t.deepEqual(comparable(snapshot(at('r2'))), comparable(snapshot(master)));
});

test.serial("an install clears out what earlier versions left on the host: cut-off uploads a day old, other versions' agents 60 days old", async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const cacheDir = nodePath.join(lab.hosts.get('web1')!.home, '.cache/replisync');
  execFileSync('rm', ['-rf', cacheDir]);
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000);
  const left: Record<string, number> = { 'agent-0ldversion.cjs': 61, 'agent-recentother.cjs': 59, '.agent-0ldversion.123.tmp': 2, '.agent-otherrun.456.tmp': 0.5, 'unrelated.txt': 400 };
  for (const [name, days] of Object.entries(left)) {
    writeFileSync(nodePath.join(cacheDir, name), 'x');
    utimesSync(nodePath.join(cacheDir, name), daysAgo(days), daysAgo(days));
  }
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `web1:${at('r')}`, '-v'], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.regex(res.stderr, /installing the agent/);
  const installed = readdirSync(cacheDir).filter((n) => !(n in left) && n !== 'checksums');
  t.is(installed.length, 1);
  t.regex(installed[0]!, /^agent-[0-9a-f]+\.cjs$/);
  t.deepEqual(readdirSync(cacheDir).filter((n) => n in left).sort(), ['.agent-otherrun.456.tmp', 'agent-recentother.cjs', 'unrelated.txt']);
});
