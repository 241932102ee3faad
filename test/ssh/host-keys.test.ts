import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmdirSync, writeFileSync, mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { comparable, runCli, snapshot } from '../helpers/tree.js';
import { SAMPLE, sshTest, trees } from '../helpers/ssh-fixture.js';

const test = sshTest(['web1', 'web2', 'web3']);

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

test.serial('hashed known_hosts entries are understood', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  execFileSync('ssh-keygen', ['-H', '-f', lab.knownHosts], { stdio: 'ignore' });
  t.regex(readFileSync(lab.knownHosts, 'utf8'), /^\|1\|/);
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `web1:${at('r')}`], { env: lab.env() });
  t.is(res.code, 0, res.stderr);
});
