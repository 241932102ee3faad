import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { comparable, runCli, snapshot } from '../helpers/tree.js';
import { freePort } from '../helpers/sshd.js';
import { SAMPLE, sshTest, trees } from '../helpers/ssh-fixture.js';

const test = sshTest(['web1', 'web2', 'web3', 'bastion', 'nofwd']);

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

test.serial('ProxyJump through a bastion; a jump host that forwards nothing, or cannot connect onwards, is told so', async (t) => {
  const { lab } = t.context;
  const web3 = lab.hosts.get('web3')!;
  const refused = await freePort();
  lab.writeClientFiles({
    extraConfig: [
      `Host hidden\n  HostName 127.0.0.1\n  Port ${web3.port}\n  User root\n  ProxyJump bastion\n`,
      `Host walled\n  HostName 127.0.0.1\n  Port ${web3.port}\n  User root\n  ProxyJump nofwd\n`,
      `Host nothing\n  HostName 127.0.0.1\n  Port ${refused}\n  User root\n  ProxyJump bastion\n`,
    ].join(''),
  });
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `hidden:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(comparable(snapshot(at('r'))), comparable(snapshot(master)));
  const walled = await runCli(['diff', master, `walled:${at('r')}`, `nothing:${at('r')}`], { env: lab.env() });
  t.is(walled.code, 2);
  t.regex(walled.stderr, new RegExp(`walled:\\S+: ProxyJump cannot reach 127\\.0\\.0\\.1:${web3.port}: the jump host does not forward connections \\(administratively prohibited`));
  t.regex(walled.stderr, new RegExp(`nothing:\\S+: ProxyJump cannot reach 127\\.0\\.0\\.1:${refused}: the jump host could not connect there`));
});

test.serial('hosts behind one bastion share the connection to it: one login there, not one per host at once', async (t) => {
  const { lab } = t.context;
  const behind = ['web1', 'web2', 'web3'].map((name, i) => `Host hidden${i + 1}\n  HostName 127.0.0.1\n  Port ${lab.hosts.get(name)!.port}\n  User root\n  ProxyJump bastion\n`);
  const closed = await freePort();
  const unreachable = `Host nowhere\n  HostName 127.0.0.1\n  Port ${closed}\n  User root\nHost beyond\n  HostName 127.0.0.1\n  Port ${lab.hosts.get('web1')!.port}\n  User root\n  ProxyJump nowhere\n`;
  lab.writeClientFiles({ extraConfig: behind.join('') + unreachable });
  const { master, at } = await trees(t, SAMPLE);
  // The bastion drops a login that starts while another is under way (MaxStartups 1).
  const res = await runCli(['sync', master, ...[1, 2, 3].map((i) => `hidden${i}:${at(`r${i}`)}`)], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
  for (const i of [1, 2, 3]) t.deepEqual(comparable(snapshot(at(`r${i}`))), comparable(snapshot(master)));
  // A hop that cannot be reached is named as the hop.
  const bad = await runCli(['sync', master, `beyond:${at('r4')}`], { env: lab.env() });
  t.is(bad.code, 2, bad.stderr);
  t.regex(bad.stderr, new RegExp(`beyond:\\S+r4: ProxyJump nowhere: cannot connect to 127\\.0\\.0\\.1 port ${closed}`));
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
