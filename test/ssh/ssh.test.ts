import anyTest, { type TestFn } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync, linkSync, chmodSync, mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, cleanup, comparable, makeTree, runCli, snapshot, tempDir } from '../helpers/tree.js';
import { SSHD, SshLab, freePort } from '../helpers/sshd.js';
import * as scenarios from '../helpers/scenarios.js';
import type { Where } from '../helpers/scenarios.js';
import { endpointContract } from '../helpers/endpoint-contract.js';
import { ConnectionPool } from '../../src/transport/ssh-connect.js';
import { openHostAgent } from '../../src/transport/remote-agent.js';
import { connectionShell } from '../../src/transport/host-shell.js';

const test = anyTest as TestFn<{ lab: SshLab; dir: string }>;

test.before(async (t) => {
  if (!SSHD) throw new Error('OpenSSH sshd is not installed (apt-get install openssh-server)');
  const dir = tempDir('replisync-ssh-');
  const lab = new SshLab(dir);
  await lab.start('web1');
  await lab.start('web2');
  await lab.start('web3');
  await lab.start('bastion');
  // A PATH with a shell and the tools the agent's upload uses, but no node.
  const bin = nodePath.join(dir, 'nonode-bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'mkdir', 'cat', 'mv']) execFileSync('ln', ['-s', execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), nodePath.join(bin, tool)]);
  await lab.start('nonode', { path: bin });
  t.context = { lab, dir };
});

test.after.always((t) => {
  t.context.lab?.stopAll();
  void cleanup(t.context.dir);
});

let n = 0;
async function trees(t: { context: { dir: string } }, spec: Record<string, string>) {
  const base = nodePath.join(t.context.dir, `case${n++}`);
  const master = nodePath.join(base, 'master');
  await makeTree(master, spec);
  return { base, master, at: (name: string) => nodePath.join(base, name) };
}

const SAMPLE = { 'bin/app': 'app v1', 'bin/run.sh': '#!/bin/sh\n', 'lib/core.so': 'core', 'etc/app.conf': 'x=1\n', current: '-> bin', 'empty/': '' };

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

test.serial('a changed host key is refused, naming the file and line; nothing changes', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const web1 = lab.hosts.get('web1')!;
  const other = lab.hosts.get('web2')!;
  writeFileSync(lab.knownHosts, `# first line\n${web1.hostKeyLine.replace(/ \S+ \S+$/, ` ${other.hostKeyLine.split(' ').slice(1).join(' ')}`)}\n`);
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `web1:${at('r')}`], { env: lab.env() });
  t.is(res.code, 2);
  t.regex(res.stderr, /host key verification failed: the key of \[127\.0\.0\.1\]:\d+ .* does not match the one in .*known_hosts line 2/);
  t.false(existsSync(at('r')));
  const withAccept = await runCli(['sync', master, `web1:${at('r')}`, '--accept-new-host-key'], { env: lab.env() });
  t.is(withAccept.code, 2, 'a changed key is refused even with --accept-new-host-key');
});

test.serial('an unknown host is refused with the command to add it, or accepted with --accept-new-host-key', async (t) => {
  const { lab } = t.context;
  // Plain lines, whatever the system's ssh_config says (Debian's asks for hashed ones).
  lab.writeClientFiles({ knownHostsExcept: ['web3'], extraConfig: 'Host *\n  HashKnownHosts no\n' });
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `web3:${at('r')}`], { env: lab.env() });
  t.is(res.code, 2);
  t.regex(res.stderr, /is not in .*known_hosts .*ssh-keyscan -p \d+ 127\.0\.0\.1 >> .*--accept-new-host-key/);
  t.false(existsSync(at('r')));
  // A known_hosts that cannot take the key (a directory here) refuses the host, named, as an error of the run.
  renameSync(lab.knownHosts, `${lab.knownHosts}.aside`);
  mkdirSync(lab.knownHosts);
  const cannotAdd = await runCli(['sync', master, `web3:${at('r')}`, '--accept-new-host-key'], { env: lab.env() });
  rmdirSync(lab.knownHosts);
  renameSync(`${lab.knownHosts}.aside`, lab.knownHosts);
  t.is(cannotAdd.code, 2, cannotAdd.stderr);
  t.regex(cannotAdd.stderr, /web3:\S+: cannot add the key of \S+ to \S+known_hosts: is a directory/);
  t.notRegex(cannotAdd.stderr, /unexpected|Uncaught|    at /);
  const accepted = await runCli(['sync', master, `web3:${at('r')}`, '--accept-new-host-key'], { env: lab.env() });
  t.is(accepted.code, 0, accepted.stderr);
  t.true(readFileSync(lab.knownHosts, 'utf8').includes(lab.hosts.get('web3')!.hostKeyLine));
  const again = await runCli(['diff', master, `web3:${at('r')}`], { env: lab.env() });
  t.is(again.code, 0, again.stderr);
});

test.serial("ssh_config: keys in a GlobalKnownHostsFile are trusted; StrictHostKeyChecking accept-new adds an unknown host's key", async (t) => {
  const { lab, dir } = t.context;
  const web3 = lab.hosts.get('web3')!;
  const global = nodePath.join(dir, 'ssh_known_hosts');
  writeFileSync(global, `${web3.hostKeyLine}\n`);
  lab.writeClientFiles({ knownHostsExcept: ['web3'], extraConfig: `Host web3\n  GlobalKnownHostsFile ${global}\n` });
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `web3:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.false(readFileSync(lab.knownHosts, 'utf8').includes(web3.hostKeyLine), 'nothing added: the system file knew the host');

  lab.writeClientFiles({ knownHostsExcept: ['web3'], extraConfig: 'Host web3\n  StrictHostKeyChecking accept-new\n  HashKnownHosts yes\n' });
  const added = await runCli(['sync', master, `web3:${at('r2')}`], { env: lab.env() });
  t.is(added.code, 0, added.stderr);
  t.deepEqual(comparable(snapshot(at('r2'))), comparable(snapshot(master)));
  // Added hashed, as HashKnownHosts asks: no host name in the file, and ssh itself finds the entry.
  const [token, type, key] = web3.hostKeyLine.split(' ');
  const line = readFileSync(lab.knownHosts, 'utf8').split('\n').find((l) => l.endsWith(`${type} ${key}`));
  t.regex(line ?? '', /^\|1\|[^|]+\|[^ ]+ /);
  t.notThrows(() => execFileSync('ssh-keygen', ['-F', token!, '-f', lab.knownHosts], { stdio: 'ignore' }));
  const again = await runCli(['diff', master, `web3:${at('r2')}`], { env: lab.env() });
  t.is(again.code, 0, again.stderr);

  // The usual setting for throwaway hosts: nothing checked, nothing kept ("none" or /dev/null).
  for (const file of ['none', '/dev/null']) {
    lab.writeClientFiles({ knownHostsExcept: ['web3'], extraConfig: `Host web3\n  StrictHostKeyChecking no\n  UserKnownHostsFile ${file}\n` });
    const kept = readFileSync(lab.knownHosts, 'utf8');
    const throwaway = await runCli(['sync', master, `web3:${at(`r-${file.length}`)}`], { env: lab.env() });
    t.is(throwaway.code, 0, throwaway.stderr);
    t.is(readFileSync(lab.knownHosts, 'utf8'), kept);
  }
});

test.serial('ssh_config: HostKeyAlias names the key in known_hosts; Compression yes still syncs', async (t) => {
  const { lab } = t.context;
  const web2 = lab.hosts.get('web2')!;
  lab.writeClientFiles({ knownHostsExcept: ['web2'], extraConfig: `Host packed\n  HostName 127.0.0.1\n  Port ${web2.port}\n  User root\n  HostKeyAlias web2-key\n  Compression yes\n` });
  const [, type, key] = web2.hostKeyLine.split(' ');
  writeFileSync(lab.knownHosts, `web2-key ${type} ${key}\n`);
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `packed:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
  // Another key under the alias is a changed key: refused.
  writeFileSync(lab.knownHosts, `web2-key ${lab.hosts.get('web1')!.hostKeyLine.split(' ').slice(1).join(' ')}\n`);
  const changed = await runCli(['diff', master, `packed:${at('r')}`], { env: lab.env() });
  t.is(changed.code, 2);
  t.regex(changed.stderr, /host key verification failed: the key of web2-key /);
});

test.serial('--rsh: hosts reached through the ssh program, as with rsync -e; what ssh refuses is told', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles({ knownHostsExcept: ['web3'] });
  // The ssh program reads the passwd home's files, not $HOME's: the lab's are named.
  const rsh = `ssh -F '${nodePath.join(lab.clientHome, '.ssh', 'config')}' -o UserKnownHostsFile='${lab.knownHosts}' -o BatchMode=yes`;
  const { master, at } = await trees(t, SAMPLE);
  // web1 has no agent yet: it is uploaded through ssh too.
  rmSync(nodePath.join(lab.hosts.get('web1')!.home, '.cache', 'replisync'), { recursive: true, force: true });
  const res = await runCli(['sync', master, `web1:${at('r1')}`, `ssh://web2${at('r2')}`, '--rsh', rsh, '-v'], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.regex(res.stderr, /web1:\S+: installing the agent/);
  t.deepEqual(comparable(snapshot(at('r1'))), comparable(snapshot(master)));
  t.deepEqual(comparable(snapshot(at('r2'))), comparable(snapshot(master)));
  const again = await runCli(['diff', master, `web1:${at('r1')}`, '-e', rsh], { env: lab.env() });
  t.is(again.code, 0, again.stderr);
  const unknown = await runCli(['sync', master, `web3:${at('r3')}`, '-e', rsh], { env: lab.env() });
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /web3:\S+: the agent did not start \(exit 255\): .*Host key verification failed/);
  t.false(existsSync(at('r3')));
  const accepted = await runCli(['sync', master, `web3:${at('r3')}`, '-e', rsh, '--accept-new-host-key'], { env: lab.env() });
  t.is(accepted.code, 0, accepted.stderr);
  t.deepEqual(comparable(snapshot(at('r3'))), comparable(snapshot(master)));
  const noProgram = await runCli(['diff', master, `web1:${at('r1')}`, '-e', 'no-such-ssh -p 22'], { env: lab.env() });
  t.is(noProgram.code, 2);
  t.regex(noProgram.stderr, /web1:\S+: --rsh: cannot run no-such-ssh: no such file or directory/);
  // A job names its rsh (and where node is) in the config file.
  const config = nodePath.join(at('conf'), 'job.json');
  mkdirSync(at('conf'));
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [`web2:${at('r4')}`], rsh, remoteNode: process.execPath } } }));
  const fromJob = await runCli(['sync', '--config', config], { env: lab.env() });
  t.is(fromJob.code, 0, fromJob.stderr);
  t.deepEqual(comparable(snapshot(at('r4'))), comparable(snapshot(master)));
});

test.serial('hashed known_hosts entries are understood', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  execFileSync('ssh-keygen', ['-H', '-f', lab.knownHosts], { stdio: 'ignore' });
  t.regex(readFileSync(lab.knownHosts, 'utf8'), /^\|1\|/);
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `web1:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
});

test.serial('the agent is uploaded on first contact and reused after', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const web2 = lab.hosts.get('web2')!;
  const cacheDir = nodePath.join(web2.home, '.cache/replisync');
  execFileSync('rm', ['-rf', cacheDir]);
  const { master, at } = await trees(t, SAMPLE);
  const first = await runCli(['sync', master, `web2:${at('r')}`, '-v'], { env: lab.env() });
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /installing the agent/);
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

test.serial('ProxyJump through a bastion', async (t) => {
  const { lab } = t.context;
  const web3 = lab.hosts.get('web3')!;
  lab.writeClientFiles({ extraConfig: `Host hidden\n  HostName 127.0.0.1\n  Port ${web3.port}\n  User root\n  ProxyJump bastion\n` });
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `hidden:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
});

test.serial('ProxyCommand: the connection goes through the command; one that fails is quoted in the error', async (t) => {
  const { lab, dir } = t.context;
  const web3 = lab.hosts.get('web3')!;
  // A netcat in node that notes each use, so that the test sees the proxy was taken.
  const proxy = nodePath.join(dir, 'proxy.cjs');
  const used = nodePath.join(dir, 'proxy-used');
  writeFileSync(
    proxy,
    `const s = require('net').connect(Number(process.argv[3]), process.argv[2]);
require('fs').appendFileSync(${JSON.stringify(used)}, process.argv[2] + ':' + process.argv[3] + '\\n');
s.on('error', (e) => { process.stderr.write('proxy: ' + e.message + '\\n'); process.exit(3); });
process.stdin.pipe(s); s.pipe(process.stdout);`,
  );
  const closed = await freePort();
  lab.writeClientFiles({
    extraConfig: [
      `Host proxied\n  HostName 127.0.0.1\n  Port ${web3.port}\n  User root\n  ProxyCommand ${process.execPath} ${proxy} %h %p`,
      `Host broken\n  HostName 127.0.0.1\n  Port ${closed}\n  User root\n  ProxyCommand ${process.execPath} ${proxy} %h %p`,
      '',
    ].join('\n'),
  });
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `proxied:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
  t.is(readFileSync(used, 'utf8'), `127.0.0.1:${web3.port}\n`, 'one connection, through the proxy');
  const failed = await runCli(['sync', master, `broken:${at('r2')}`], { env: lab.env() });
  t.is(failed.code, 2, failed.stderr + failed.stdout);
  t.regex(failed.stderr, new RegExp(`broken:\\S+: cannot connect to 127\\.0\\.0\\.1 port ${closed}: .*ProxyCommand ".*proxy\\.cjs 127\\.0\\.0\\.1 ${closed}" exited with code 3: proxy: connect ECONNREFUSED`));
  t.false(existsSync(at('r2')));
});

test.serial('keys from ssh-agent (SSH_AUTH_SOCK, or IdentityAgent) and -i/--identity', async (t) => {
  const { lab, dir } = t.context;
  lab.writeClientFiles({ extraConfig: '' });
  // An alias without IdentityFile, and no default key under ~/.ssh: only the agent can log in.
  const web1 = lab.hosts.get('web1')!;
  const home = nodePath.join(dir, 'agent-home');
  mkdirSync(nodePath.join(home, '.ssh'), { recursive: true });
  writeFileSync(nodePath.join(home, '.ssh/config'), `Host w\n  HostName 127.0.0.1\n  Port ${web1.port}\n  User root\n`);
  writeFileSync(nodePath.join(home, '.ssh/known_hosts'), `${web1.hostKeyLine}\n`);
  const { master, at } = await trees(t, SAMPLE);
  const noKey = await runCli(['sync', master, `w:${at('r')}`], { env: { ...lab.env(), HOME: home } });
  t.is(noKey.code, 2);
  t.regex(noKey.stderr, /authentication failed for root@127\.0\.0\.1:\d+ \(no keys found\)/);
  // A key with a passphrase cannot be asked for (cron has no one to answer): the error says so.
  const locked = nodePath.join(dir, 'locked_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret phrase', '-f', locked]);
  const withLocked = await runCli(['diff', master, `w:${at('r')}`, '-i', locked], { env: { ...lab.env(), HOME: home } });
  t.is(withLocked.code, 2);
  t.regex(withLocked.stderr, new RegExp(`no keys found; ${locked} has a passphrase: load it into ssh-agent \\(ssh-add ${locked}\\)`));
  // A stale SSH_AUTH_SOCK (a socket no agent answers on any more) is passed over, as ssh does.
  const withIdentity = await runCli(['sync', master, `w:${at('r')}`, '-i', lab.key], { env: { ...lab.env(), HOME: home, SSH_AUTH_SOCK: nodePath.join(dir, 'gone.sock') } });
  t.is(withIdentity.code, 0, withIdentity.stderr);
  // A key named in a config file is relative to that file, not to where the run starts.
  const config = nodePath.join(dir, 'conf/job.json');
  mkdirSync(nodePath.join(dir, 'conf/keys'), { recursive: true });
  copyFileSync(lab.key, nodePath.join(dir, 'conf/keys/deploy'));
  chmodSync(nodePath.join(dir, 'conf/keys/deploy'), 0o600);
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [`w:${at('r3')}`], identity: 'keys/deploy' } } }));
  const fromConfig = await runCli(['sync', '--config', config], { env: { ...lab.env(), HOME: home }, cwd: master });
  t.is(fromConfig.code, 0, fromConfig.stderr);
  const sock = nodePath.join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !existsSync(sock); i++) await sleep(50);
    execFileSync('ssh-add', [lab.key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    const viaAgent = await runCli(['sync', master, `w:${at('r2')}`], { env: { ...lab.env(), HOME: home, SSH_AUTH_SOCK: sock } });
    t.is(viaAgent.code, 0, viaAgent.stderr);
    // IdentityAgent in ssh_config names the socket instead of SSH_AUTH_SOCK, or turns the agent off.
    writeFileSync(nodePath.join(home, '.ssh/config'), `Host w\n  HostName 127.0.0.1\n  Port ${web1.port}\n  User root\n  IdentityAgent ${sock}\n`);
    const named = await runCli(['sync', master, `w:${at('r4')}`], { env: { ...lab.env(), HOME: home } });
    t.is(named.code, 0, named.stderr);
    writeFileSync(nodePath.join(home, '.ssh/config'), `Host w\n  HostName 127.0.0.1\n  Port ${web1.port}\n  User root\n  IdentityAgent none\n`);
    const none = await runCli(['diff', master, `w:${at('r4')}`], { env: { ...lab.env(), HOME: home, SSH_AUTH_SOCK: sock } });
    t.is(none.code, 2);
    t.regex(none.stderr, /authentication failed/);
  } finally {
    agent.kill();
  }
});

test.serial('a connection killed mid-copy leaves old or new content, and the next run completes and cleans up', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, { 'small.txt': 'small' });
  const big = nodePath.join(master, 'big.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=300'], { stdio: 'ignore' });
  await makeTree(at('r'), { 'big.bin': 'old content' });
  const child = spawn(process.execPath, [BIN, 'sync', master, `web1:${at('r')}`], { env: { ...process.env, ...lab.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Wait until the transfer is under way (a temp file appears), then cut the agent's connection.
  let temp: string | undefined;
  for (let i = 0; i < 400 && !temp; i++) {
    temp = readdirSync(at('r')).find((f) => f.startsWith('.replisync-'));
    if (!temp) await sleep(25);
  }
  t.truthy(temp, 'a temp file appeared during the transfer');
  execFileSync('pkill', ['-KILL', '-f', `${lab.hosts.get('web1')!.home}/.cache/replisync/agent-`]);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 2, stderr);
  t.regex(stderr, /web1:.*connection to the agent lost/);
  t.is(readFileSync(nodePath.join(at('r'), 'big.bin'), 'utf8'), 'old content', 'never a partial file at its path');
  const again = await runCli(['sync', master, `web1:${at('r')}`], { env: lab.env() });
  t.is(again.code, 0, again.stderr);
  t.deepEqual(readdirSync(at('r')).sort(), ['big.bin', 'small.txt']);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
});

test.serial("a master over SSH lost mid-copy fails the run (exit 2, named once) and changes nothing more on the remotes", async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  // The big file's block comes first; the root's block would delete the remote's extra file.
  const { master, at } = await trees(t, { 'small.txt': 'small' });
  mkdirSync(nodePath.join(master, 'a'));
  execFileSync('dd', ['if=/dev/urandom', `of=${nodePath.join(master, 'a/big.bin')}`, 'bs=1M', 'count=300'], { stdio: 'ignore' });
  await makeTree(at('r'), { extra: 'remote only', 'a/old': 'old' });
  const before = comparable(snapshot(at('r'), { withRoot: true }));
  const child = spawn(process.execPath, [BIN, 'sync', `web1:${master}`, at('r')], { env: { ...process.env, ...lab.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let staging = false;
  for (let i = 0; i < 400 && !staging; i++) {
    staging = readdirSync(nodePath.join(at('r'), 'a')).some((f) => f.startsWith('.replisync-'));
    if (!staging) await sleep(25);
  }
  t.true(staging, 'the transfer was under way');
  execFileSync('pkill', ['-KILL', '-f', `${lab.hosts.get('web1')!.home}/.cache/replisync/agent-`]);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 2, stderr);
  t.is(stderr.match(/web1:\S+: connection to the agent lost/g)?.length, 1, stderr);
  t.deepEqual(comparable(snapshot(at('r'), { withRoot: true })), before, 'no delete without its copies, no temp file, no lock');
});

function overSsh(t: { context: { lab: SshLab; dir: string } }): Where {
  const { lab } = t.context;
  lab.writeClientFiles();
  const base = nodePath.join(t.context.dir, `blocks${n++}`);
  mkdirSync(base, { recursive: true });
  return { base, remote: (p) => `web1:${p}`, env: lab.env({ REPLISYNC_LOCK_DIR: nodePath.join(base, 'locks') }) };
}

test.serial('over SSH: preBlock and postBlock run on the host in order', (t) => scenarios.hooksRunInOrderAroundEachBlock(t, overSsh(t)));
test.serial('over SSH: a failing preBlock leaves the block entirely old', (t) => scenarios.failingPreBlockLeavesTheBlockOld(t, overSsh(t)));
test.serial('over SSH: master files that vanish before they are read are no error', (t) => scenarios.vanishedMasterFilesAreNoError(t, overSsh(t)));
test.serial('over SSH: a master directory gone mid-run fails the run and deletes nothing for it', (t) => scenarios.masterGoneMidRunDeletesNothing(t, overSsh(t)));
test.serial('over SSH: a crash between staging and commit leaves no mixed block', (t) => scenarios.crashBetweenStagingAndCommit(t, overSsh(t)));
test.serial('over SSH: a remote file changed during the sync gets another pass', (t) => scenarios.remoteChangedDuringSyncGetsAnotherPass(t, overSsh(t)));
test.serial('over SSH: a master file rewritten during the sync is never committed mixed', (t) => scenarios.masterWriterNeverCommitsAMix(t, overSsh(t)));
test.serial('over SSH: two runs on one remote respect its lock', (t) => scenarios.concurrentRunsRespectTheRemoteLock(t, overSsh(t)));

test.serial('the endpoint contract holds over SSH', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const home = process.env.HOME;
  process.env.HOME = lab.clientHome;
  const pool = new ConnectionPool({ acceptNewHostKey: false });
  try {
    const base = nodePath.join(t.context.dir, `contract${n++}`);
    mkdirSync(base, { recursive: true });
    await endpointContract(t, base, async (root) => openHostAgent(connectionShell(await pool.get('web2', undefined, undefined)), `web2:${root}`, { root, cache: false, saveCache: false }));
  } finally {
    await pool.closeAll();
    process.env.HOME = home;
  }
});
