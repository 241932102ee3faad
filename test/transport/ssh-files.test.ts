import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { addHostKey, checkHostKey, hostToken, keyTypeOf } from '../../src/transport/known-hosts.js';
import { SshConfigError, hostMatches, resolveHost } from '../../src/transport/ssh-config.js';

const dir = mkdtempSync(nodePath.join(os.tmpdir(), 'replisync-sshfiles-'));

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const b = Buffer.from(body);
  const out = Buffer.alloc(8 + t.length + b.length);
  out.writeUInt32BE(t.length, 0);
  t.copy(out, 4);
  out.writeUInt32BE(b.length, 4 + t.length);
  b.copy(out, 8 + t.length);
  return out;
}

test('ssh_config: first value wins, patterns and negation, IdentityFile accumulates', (t) => {
  const file = nodePath.join(dir, 'config');
  writeFileSync(file, ['Host web* !web9', '  HostName 10.0.0.%h', '  User deploy', '  IdentityFile ~/.ssh/deploy', 'Host web1', '  Port 2222', '  User other', 'Host *', '  IdentityFile ~/.ssh/all', '  ProxyJump bastion'].join('\n'));
  const web1 = resolveHost('web1', file);
  t.is(web1.hostName, '10.0.0.web1');
  t.is(web1.user, 'deploy');
  t.is(web1.port, 2222);
  t.deepEqual(web1.identityFiles, [nodePath.join(os.homedir(), '.ssh/deploy'), nodePath.join(os.homedir(), '.ssh/all')]);
  t.is(web1.proxyJump, 'bastion');
  t.is(resolveHost('web9', file).hostName, 'web9');
  t.true(hostMatches(['*.example.com'], 'a.example.com'));
  t.false(hostMatches(['*', '!secret'], 'secret'));
});

test('ssh_config: tokens in IdentityFile and UserKnownHostsFile, read left to right', (t) => {
  const file = nodePath.join(dir, 'config-tokens');
  writeFileSync(file, ['Host web', '  HostName 10.0.0.7', '  Port 2201', '  User deploy', '  IdentityFile %d/keys/%r@%h:%p-%n-%u-%%h', '  UserKnownHostsFile ~/kh/%n %%%h'].join('\n'));
  const me = os.userInfo().username;
  const got = resolveHost('web', file, 'ops', 2299);
  t.deepEqual(got.identityFiles, [`${os.homedir()}/keys/ops@10.0.0.7:2299-web-${me}-%h`]);
  t.deepEqual(got.userKnownHostsFiles, [`${os.homedir()}/kh/web`, '%10.0.0.7']);
  t.deepEqual(resolveHost('web', file).identityFiles, [`${os.homedir()}/keys/deploy@10.0.0.7:2201-web-${me}-%h`]);
});

test('ssh_config: ProxyCommand with its tokens; of ProxyCommand and ProxyJump the first one given wins, none included', (t) => {
  const file = nodePath.join(dir, 'config-proxy');
  writeFileSync(
    file,
    [
      'Host direct',
      '  ProxyCommand none',
      'Host cmd',
      '  HostName 10.0.0.8',
      '  ProxyCommand ssh -W %h:%p -l %r gateway  # 100%%',
      'Host jump-first',
      '  ProxyJump bastion',
      'Host *',
      '  ProxyCommand nc %h %p',
      '  ProxyJump other',
    ].join('\n'),
  );
  const cmd = resolveHost('cmd', file, 'ops', 2222);
  t.is(cmd.proxyCommand, 'ssh -W 10.0.0.8:2222 -l ops gateway  # 100%');
  t.is(cmd.proxyJump, undefined);
  t.like(resolveHost('jump-first', file), { proxyJump: 'bastion', proxyCommand: undefined });
  t.like(resolveHost('direct', file), { proxyJump: undefined, proxyCommand: undefined });
  t.like(resolveHost('elsewhere', file), { proxyJump: undefined, proxyCommand: 'nc elsewhere 22' });
});

test('ssh_config: a Port that is not 1 to 65535 is refused with its file and line, as ssh does (it reached port 22, or hung the run)', (t) => {
  const file = nodePath.join(dir, 'config-ports');
  const included = nodePath.join(dir, 'config-ports-included');
  writeFileSync(included, ['Host inc', '  Port 99999'].join('\n'));
  writeFileSync(file, ['Host word', '  Port ssh', 'Host zero', '  Port 0', 'Host big', '  Port 70000', `Include ${included}`, 'Host fine', '  Port 2222', 'Host *', '  Port -1'].join('\n'));
  t.throws(() => resolveHost('word', file), { instanceOf: SshConfigError, message: `${file} line 2: bad Port "ssh" (a number from 1 to 65535)` });
  t.throws(() => resolveHost('zero', file), { instanceOf: SshConfigError, message: new RegExp(`line 4: bad Port "0"`) });
  t.throws(() => resolveHost('big', file), { instanceOf: SshConfigError, message: new RegExp(`line 6: bad Port "70000"`) });
  t.throws(() => resolveHost('inc', file), { instanceOf: SshConfigError, message: `${included} line 2: bad Port "99999" (a number from 1 to 65535)` });
  t.is(resolveHost('fine', file).port, 2222);
  t.throws(() => resolveHost('other', file), { instanceOf: SshConfigError, message: /line 11: bad Port "-1"/ });
});

test('ssh_config: known hosts files (the system ones by default), StrictHostKeyChecking, HostKeyAlias, HashKnownHosts, Compression, ConnectTimeout, ServerAlive*', (t) => {
  const file = nodePath.join(dir, 'config-hostkeys');
  writeFileSync(
    file,
    ['Host lax', '  StrictHostKeyChecking accept-new', '  GlobalKnownHostsFile /etc/keys/%h /etc/more', '  ConnectTimeout 5', '  ServerAliveInterval 30', '  ServerAliveCountMax 2', 'Host off', '  StrictHostKeyChecking no', '  UserKnownHostsFile none', '  GlobalKnownHostsFile none', '  HostKeyAlias off-key', '  Compression yes', '  HashKnownHosts yes', 'Host *', '  StrictHostKeyChecking yes', '  ConnectTimeout soon'].join('\n'),
  );
  t.like(resolveHost('lax', file), { acceptNewHostKey: true, globalKnownHostsFiles: ['/etc/keys/lax', '/etc/more'], connectTimeout: 5, serverAliveInterval: 30, serverAliveCountMax: 2 });
  t.like(resolveHost('off', file), { acceptNewHostKey: true, userKnownHostsFiles: [], globalKnownHostsFiles: [], hostKeyAlias: 'off-key', compression: true, hashKnownHosts: true });
  t.like(resolveHost('strict', file), {
    acceptNewHostKey: false,
    userKnownHostsFiles: [nodePath.join(os.homedir(), '.ssh/known_hosts'), nodePath.join(os.homedir(), '.ssh/known_hosts2')],
    globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
    connectTimeout: undefined,
    serverAliveInterval: undefined,
    hostKeyAlias: undefined,
    compression: false,
    hashKnownHosts: false,
  });
});

test("ssh_config: the user's file, then the system's: a value from the first wins, the second fills in", (t) => {
  const mine = nodePath.join(dir, 'config-mine');
  const system = nodePath.join(dir, 'config-system');
  writeFileSync(mine, ['Host web', '  Port 2222'].join('\n'));
  writeFileSync(system, ['Host *', '  Port 22', '  User sysuser', '  ProxyJump gateway'].join('\n'));
  t.like(resolveHost('web', [mine, system]), { port: 2222, user: 'sysuser', proxyJump: 'gateway' });
  t.like(resolveHost('web', [mine, nodePath.join(dir, 'no-such-file')]), { port: 2222, user: undefined, proxyJump: undefined });
});

test('ssh_config: Include, where it stands (in a Host block too), wildcards expanded, missing files and loops harmless', (t) => {
  const conf = nodePath.join(dir, 'conf.d');
  mkdirSync(conf, { recursive: true });
  writeFileSync(nodePath.join(conf, 'a.conf'), ['Host web1', '  HostName 10.1.1.1', '  Port 2200'].join('\n'));
  writeFileSync(nodePath.join(conf, 'b.conf'), ['Host db', '  User dbuser'].join('\n'));
  writeFileSync(nodePath.join(conf, '.hidden.conf'), ['Host web1', '  Port 1'].join('\n'));
  writeFileSync(nodePath.join(dir, 'special.conf'), ['User sp', 'Host zzz', '  User z'].join('\n'));
  const file = nodePath.join(dir, 'config-with-includes');
  writeFileSync(
    file,
    [
      `Include ${conf}/*.conf ${nodePath.join(dir, 'missing.conf')}`,
      'Host special',
      `  Include ${nodePath.join(dir, 'special.conf')}`,
      '  Port 2022',
      'Host web1',
      '  User outer',
      `Include ${file}`,
    ].join('\n'),
  );
  const web1 = resolveHost('web1', file);
  t.is(web1.hostName, '10.1.1.1');
  t.is(web1.port, 2200);
  t.is(web1.user, 'outer');
  t.is(resolveHost('db', file).user, 'dbuser');
  const special = resolveHost('special', file);
  t.is(special.user, 'sp', 'an Include in a Host block applies to that host');
  t.is(special.port, 2022, 'what follows the Include belongs to the block it stood in');
  t.is(resolveHost('other', file).user, undefined);
});

test('ssh_config: Match on host (after HostName), originalhost, user, localuser, all and negation, as ssh -G reads them', (t) => {
  const me = os.userInfo().username;
  const file = nodePath.join(dir, 'config-with-match');
  const lines = [
    'Host web1',
    '  HostName 10.9.0.1',
    'Match host 10.9.0.*',
    '  Port 2201',
    'Match originalhost db*,!db9',
    '  User dbadmin',
    'Match user dbadmin',
    '  Port 2300',
    'Match user ops',
    '  Port 2400',
    `Match localuser ${me} !host 10.9.0.1`,
    '  IdentitiesOnly yes',
    'Match all',
    '  User everyone',
  ];
  writeFileSync(file, lines.join('\n'));
  const cases: [string, string | undefined, { hostName: string; user: string; port: number; identitiesOnly: boolean }][] = [
    ['web1', undefined, { hostName: '10.9.0.1', user: 'everyone', port: 2201, identitiesOnly: false }],
    ['db1', undefined, { hostName: 'db1', user: 'dbadmin', port: 2300, identitiesOnly: true }],
    ['db9', undefined, { hostName: 'db9', user: 'everyone', port: 22, identitiesOnly: true }],
    ['db9', 'ops', { hostName: 'db9', user: 'ops', port: 2400, identitiesOnly: true }],
  ];
  for (const [alias, user, want] of cases) {
    const got = resolveHost(alias, file, user);
    t.deepEqual({ hostName: got.hostName, user: user ?? got.user, port: got.port ?? 22, identitiesOnly: got.identitiesOnly }, want, `${user ?? ''}@${alias}`);
    // OpenSSH itself, where it is installed, reads the same file the same way.
    const g = spawnSync('ssh', ['-G', '-F', file, ...(user ? ['-l', user] : []), alias], { encoding: 'utf8' });
    if (g.status !== 0) continue;
    const option = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(g.stdout)?.[1];
    t.deepEqual({ hostName: option('hostname'), user: option('user'), port: Number(option('port')), identitiesOnly: option('identitiesonly') === 'yes' }, want, `ssh -G ${alias}`);
  }
  // What replisync cannot evaluate (exec, canonical...) never applies, rather than always.
  writeFileSync(file, ['Match exec "true"', '  Port 1', 'Match !exec "false"', '  Port 2', 'Match canonical', '  Port 3', 'Match host', '  Port 4'].join('\n'));
  t.is(resolveHost('any', file).port, undefined);
});

test('known_hosts: plain, [host]:port, hashed, mismatch with its line, revoked, accept-new', (t) => {
  const file = nodePath.join(dir, 'known_hosts');
  const good = blob('ssh-ed25519', 'good-key');
  const bad = blob('ssh-ed25519', 'other-key');
  const salt = Buffer.from('0123456789abcdef0123');
  const hashed = createHmac('sha1', salt).update('[h3]:2200').digest('base64');
  writeFileSync(
    file,
    [
      '# comment',
      `web1,10.0.0.1 ssh-ed25519 ${good.toString('base64')}`,
      `[web2]:2222 ssh-ed25519 ${good.toString('base64')}`,
      `|1|${salt.toString('base64')}|${hashed} ssh-ed25519 ${good.toString('base64')}`,
      `@revoked * ssh-ed25519 ${bad.toString('base64')}`,
      '',
    ].join('\n'),
  );
  t.deepEqual(checkHostKey([file], hostToken('web1', 22), good), { kind: 'known' });
  t.deepEqual(checkHostKey([file], hostToken('web2', 2222), good), { kind: 'known' });
  t.deepEqual(checkHostKey([file], hostToken('h3', 2200), good), { kind: 'known' });
  t.deepEqual(checkHostKey([file], hostToken('web1', 22), blob('ssh-ed25519', 'x')), { kind: 'mismatch', file, line: 2 });
  t.deepEqual(checkHostKey([file], hostToken('web1', 22), bad), { kind: 'revoked', file, line: 5 });
  t.deepEqual(checkHostKey([file], hostToken('new', 22), good), { kind: 'unknown' });
  addHostKey(file, hostToken('new', 2022), good);
  t.true(readFileSync(file, 'utf8').endsWith(`[new]:2022 ssh-ed25519 ${good.toString('base64')}\n`));
  t.deepEqual(checkHostKey([file], '[new]:2022', good), { kind: 'known' });
  t.is(keyTypeOf(good), 'ssh-ed25519');
});
