import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as nodePath from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const SSHD = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface Host {
  name: string;
  port: number;
  /** The remote user's HOME: the agent is installed under it. */
  home: string;
  hostKeyLine: string;
  process: ChildProcess;
  stop(): void;
}

/**
 * Real OpenSSH sshd instances on 127.0.0.1, each with its own host key, port and HOME, sharing
 * one authorized key. The client side gets a HOME of its own with .ssh/config aliases and a key.
 */
export class SshLab {
  readonly clientHome: string;
  readonly key: string;
  readonly hosts = new Map<string, Host>();

  constructor(readonly dir: string) {
    this.clientHome = nodePath.join(dir, 'client-home');
    mkdirSync(nodePath.join(this.clientHome, '.ssh'), { recursive: true, mode: 0o700 });
    this.key = nodePath.join(this.clientHome, '.ssh', 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'replisync-test', '-f', this.key]);
    writeFileSync(nodePath.join(dir, 'authorized_keys'), readFileSync(`${this.key}.pub`));
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  }

  /**
   * Starts a "host"; `path` is the PATH of its sessions (one without node makes a host without
   * node); `sshdConfig`, more lines for its sshd_config.
   */
  async start(name: string, options: { path?: string; sshdConfig?: string[] } = {}): Promise<Host> {
    const hostDir = nodePath.join(this.dir, `host-${name}`);
    const home = nodePath.join(hostDir, 'home');
    mkdirSync(home, { recursive: true });
    const hostKey = nodePath.join(hostDir, 'host_ed25519');
    if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const port = await freePort();
    const path = options.path ?? process.env.PATH ?? '/usr/bin:/bin';
    const config = nodePath.join(hostDir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${nodePath.join(hostDir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${nodePath.join(this.dir, 'authorized_keys')}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin yes',
        'AllowTcpForwarding yes',
        'PrintMotd no',
        'LogLevel ERROR',
        `SetEnv HOME=${home} PATH=${path}`,
        ...(options.sshdConfig ?? []),
        '',
      ].join('\n'),
    );
    const proc = spawn(SSHD!, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 100; i++) {
      if (await canConnect(port)) break;
      if (proc.exitCode !== null) throw new Error(`sshd for ${name} exited: ${log}`);
      await sleep(50);
    }
    const pub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
    const host: Host = {
      name,
      port,
      home,
      hostKeyLine: `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}`,
      process: proc,
      stop: () => proc.kill(),
    };
    this.hosts.set(name, host);
    return host;
  }

  /** Writes the client's ~/.ssh/config (an alias per host) and known_hosts (every host, unless left out). */
  writeClientFiles(options: { knownHostsExcept?: string[]; extraConfig?: string } = {}): void {
    const lines: string[] = [];
    for (const h of this.hosts.values()) {
      lines.push(`Host ${h.name}`, '  HostName 127.0.0.1', `  Port ${h.port}`, '  User root', `  IdentityFile ${this.key}`, '');
    }
    if (options.extraConfig) lines.push(options.extraConfig);
    writeFileSync(nodePath.join(this.clientHome, '.ssh', 'config'), lines.join('\n'));
    const known = [...this.hosts.values()].filter((h) => !options.knownHostsExcept?.includes(h.name)).map((h) => h.hostKeyLine);
    writeFileSync(nodePath.join(this.clientHome, '.ssh', 'known_hosts'), known.length ? `${known.join('\n')}\n` : '');
  }

  get knownHosts(): string {
    return nodePath.join(this.clientHome, '.ssh', 'known_hosts');
  }

  /** Environment for running replisync as this lab's client: its HOME, no ssh-agent unless asked. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { HOME: this.clientHome, SSH_AUTH_SOCK: '', XDG_CACHE_HOME: nodePath.join(this.clientHome, '.cache'), REPLISYNC_LOCK_DIR: nodePath.join(this.dir, 'locks'), ...extra };
  }

  stopAll(): void {
    for (const h of this.hosts.values()) h.stop();
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
