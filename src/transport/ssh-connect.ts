import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, Client as SshClient, ConnectConfig } from 'ssh2';
import { EndpointError, reasonOf } from '../endpoint/errors.js';
import { addHostKey, checkHostKey, fingerprint, hostToken, preferredAlgorithms } from './known-hosts.js';
import { startProxyCommand } from './proxy-command.js';
import { type HostConfig, isPort, resolveHost } from './ssh-config.js';

export interface SshOptions {
  /** -i/--identity: tried before anything else. */
  identity?: string;
  acceptNewHostKey: boolean;
  verbose?: (message: string) => void;
}

/** What a connection is opened with: the run's options, and where the connections to ProxyJump hops come from (shared). */
export interface ConnectOptions extends SshOptions {
  jumpHost: (hops: JumpHop[]) => Promise<SshClient>;
}

/** Where to connect, after ~/.ssh/config: the alias as typed names it in messages. */
export interface SshTarget {
  alias: string;
  hostName: string;
  port: number;
  user: string;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** What a key file gives: the key, or why it cannot be used (undefined: no such file). */
function readKey(file: string): { key: Buffer } | { problem: string } | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const parsed = ssh2.utils.parseKey(data);
  if (!(parsed instanceof Error)) return { key: data };
  // ssh would ask for the passphrase; a run from cron cannot answer, so the agent holds such keys.
  if (/passphrase|encrypted/i.test(parsed.message)) return { problem: `${file} has a passphrase: load it into ssh-agent (ssh-add ${file})` };
  return { problem: `${file} cannot be used: ${parsed.message}` };
}

/**
 * The ssh-agent socket to ask, if one answers: a stale SSH_AUTH_SOCK (an old tmux session, a
 * cron job's inherited environment) made ssh2 fail the whole connection, where ssh passes over it.
 */
async function reachableAgent(t: HostConfig, verbose?: (m: string) => void): Promise<string | undefined> {
  const socket = t.identityAgent ?? process.env.SSH_AUTH_SOCK;
  if (!socket || socket === 'none' || t.identitiesOnly) return undefined;
  const reached = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!reached) verbose?.(`ssh-agent at ${socket} does not answer: passed over`);
  return reached ? socket : undefined;
}

/** The ways to log in, in ssh's order, and the key files found but not usable (said when all fail). */
function authMethods(user: string, t: HostConfig, agent: string | undefined, opts: SshOptions): { methods: AnyAuthMethod[]; tried: string[]; unusable: string[] } {
  const keyFiles = [
    ...(opts.identity ? [opts.identity] : []),
    ...t.identityFiles,
    ...DEFAULT_KEYS.map((k) => nodePath.join(os.homedir(), '.ssh', k)),
  ];
  const keys: { file: string; method: AnyAuthMethod }[] = [];
  const unusable: string[] = [];
  for (const file of new Set(keyFiles)) {
    const read = readKey(file);
    if (read && 'key' in read) keys.push({ file, method: { type: 'publickey', username: user, key: read.key } });
    else if (read) {
      unusable.push(read.problem);
      opts.verbose?.(`skipping key ${read.problem}`);
    }
  }
  const ordered: { file: string; method: AnyAuthMethod }[] = [];
  // ssh's own order: the identity named on the command line, the agent's keys, then key files.
  if (opts.identity && keys[0]?.file === opts.identity) ordered.push(keys.shift()!);
  if (agent) ordered.push({ file: `ssh-agent (${agent})`, method: { type: 'agent', username: user, agent } });
  ordered.push(...keys);
  return { methods: ordered.map((o) => o.method), tried: ordered.map((o) => o.file), unusable };
}

export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
}

function parseJump(spec: string): JumpHop[] {
  return spec.split(',').map((hop) => {
    const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop.trim());
    if (!m || (m[3] !== undefined && !isPort(m[3]))) throw new EndpointError(`cannot parse ProxyJump "${hop}"`, hop);
    return { user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : undefined };
  });
}

/** Resolves an address through ~/.ssh/config. */
export function targetOf(alias: string, user: string | undefined, port: number | undefined): SshTarget & HostConfig {
  const cfg = resolveHost(alias, undefined, user, port);
  return {
    ...cfg,
    alias,
    port: port ?? cfg.port ?? 22,
    user: user ?? cfg.user ?? os.userInfo().username,
  };
}

/** A connection's way to its host other than TCP: a ProxyJump hop's channel or a ProxyCommand's pipes. */
export interface Via {
  sock: Duplex;
  /** What the way itself says when the connection fails. */
  explain?: () => Promise<string>;
}

/**
 * Opens one SSH connection, through ProxyJump hops or a ProxyCommand if the config names them,
 * checking the host key against known_hosts the way OpenSSH does (a changed key is always refused).
 */
export async function connectSsh(alias: string, user: string | undefined, port: number | undefined, opts: ConnectOptions, via?: Via): Promise<SshClient> {
  const t = targetOf(alias, user, port);
  const where = `${t.user}@${alias}`;
  if (t.proxyJump && !via) {
    const hopClient = await opts.jumpHost(parseJump(t.proxyJump)).catch((err: Error) => {
      throw new EndpointError(`ProxyJump ${t.proxyJump}: ${err.message}`, where, undefined, (err as { code?: string }).code, { cause: err });
    });
    return connectSsh(alias, user, port, opts, { sock: await forward(hopClient, t.hostName, t.port) });
  }
  if (t.proxyCommand && !via) {
    const proxy = startProxyCommand(t.proxyCommand);
    try {
      const c = await connectSsh(alias, user, port, opts, proxy);
      c.on('close', () => proxy.stop());
      return c;
    } catch (err) {
      proxy.stop();
      throw err;
    }
  }
  const sock = via?.sock;
  const token = t.hostKeyAlias ?? hostToken(t.hostName, t.port);
  let refusal: EndpointError | undefined;
  // Keys are looked up in the user's files and the system's; a new one is added to the user's first.
  const knownHosts = [...t.userKnownHostsFiles, ...t.globalKnownHostsFiles];
  const addTo = t.userKnownHostsFiles[0];
  const verify = (key: Buffer): boolean => {
    const verdict = checkHostKey(knownHosts, token, key);
    if (verdict.kind === 'known') return true;
    if (verdict.kind === 'mismatch' || verdict.kind === 'revoked') {
      refusal = new EndpointError(
        `host key verification failed: the key of ${token} (${fingerprint(key)}) ${verdict.kind === 'revoked' ? 'is revoked' : 'does not match the one'} in ${verdict.file} line ${verdict.line}; refusing to connect. If the host was really reinstalled, remove the old key with: ssh-keygen -R '${token}'`,
        where,
      );
      return false;
    }
    if (opts.acceptNewHostKey || t.acceptNewHostKey) {
      try {
        // UserKnownHostsFile none: accepted for this connection, kept nowhere.
        if (addTo) addHostKey(addTo, token, key, t.hashKnownHosts);
      } catch (err) {
        // Inside ssh2's handshake a throw would escape as an uncaught exception: a refusal instead.
        refusal = new EndpointError(`cannot add the key of ${token} to ${addTo}: ${reasonOf(err)}`, where);
        return false;
      }
      opts.verbose?.(`accepted ${token} (${fingerprint(key)})${addTo ? `, added to ${addTo}` : ''}`);
      return true;
    }
    const portArg = t.port === 22 ? '' : `-p ${t.port} `;
    refusal = new EndpointError(
      `host ${token} is not in ${knownHosts.filter((f) => f === addTo || existsSync(f)).join(' or ') || 'any known hosts file'} (its key is ${fingerprint(key)}); check the fingerprint, then ${addTo ? `add it with: ssh-keyscan ${portArg}${t.hostName} >> ${addTo}, or ` : ''}run with --accept-new-host-key`,
      where,
    );
    return false;
  };
  const auth = authMethods(t.user, t, await reachableAgent(t, opts.verbose), opts);
  const config: ConnectConfig = {
    host: sock ? undefined : t.hostName,
    port: sock ? undefined : t.port,
    sock: sock as ConnectConfig['sock'],
    username: t.user,
    hostVerifier: verify,
    authHandler: auth.methods,
    algorithms: {
      serverHostKey: preferredAlgorithms(knownHosts, token) as never,
      ...(t.compression ? { compress: ['zlib@openssh.com', 'zlib', 'none'] as never } : {}),
    },
    readyTimeout: (t.connectTimeout ?? 20) * 1000,
    // ssh's ServerAlive options where given; else a dead host is noticed within a minute or so.
    keepaliveInterval: (t.serverAliveInterval ?? 15) * 1000,
    keepaliveCountMax: t.serverAliveCountMax ?? 4,
  };
  const client = new ssh2.Client();
  return new Promise((resolve, reject) => {
    client.once('ready', () => {
      // Requests and answers are small and go back and forth: Nagle's algorithm held them back
      // (measured: the CPUs idled 7 s of a 20 s first sync of 50,000 files to 4 hosts, 4 s without it).
      client.setNoDelay(true);
      resolve(client);
    });
    let failed = false;
    // `on`, not `once`: a connection that breaks may report it twice (a proxy's pipe, then its close).
    client.on('error', async (err: Error & { level?: string }) => {
      if (failed) return;
      failed = true;
      if (refusal) reject(refusal);
      else if (err.level === 'client-authentication') {
        reject(new EndpointError(`authentication failed for ${t.user}@${t.hostName}:${t.port} (${describeAuth(auth)}): give a key with -i, load one into ssh-agent, or check authorized_keys`, where));
      } else reject(new EndpointError(`cannot connect to ${t.hostName} port ${t.port}: ${err.message}${(await via?.explain?.()) ?? ''}`, where, undefined, (err as { code?: string }).code));
    });
    client.connect(config);
  });
}

function describeAuth(auth: { tried: string[]; unusable: string[] }): string {
  const tried = auth.tried.length > 0 ? `tried ${auth.tried.join(', ')}` : 'no keys found';
  return [tried, ...auth.unusable].join('; ');
}

/** The way to a hop through the connection to the one before it. */
export async function hopVia(previous: SshClient, hop: JumpHop): Promise<Via> {
  return { sock: await forward(previous, hop.host, hop.port ?? targetOf(hop.host, hop.user, hop.port).port) };
}

/** SSH_MSG_CHANNEL_OPEN_FAILURE reason codes (RFC 4254 5.1), as a jump host gives them. */
const OPEN_FAILURE: Record<number, string> = {
  1: 'the jump host does not forward connections (administratively prohibited: AllowTcpForwarding or DisableForwarding in its sshd_config)',
  2: 'the jump host could not connect there',
  4: 'the jump host is short of resources',
};

function forward(client: SshClient, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) {
        const why = OPEN_FAILURE[(err as { reason?: number }).reason ?? 0] ?? err.message;
        reject(new EndpointError(`ProxyJump cannot reach ${host}:${port}: ${why}`, host));
      } else resolve(stream);
    });
  });
}
