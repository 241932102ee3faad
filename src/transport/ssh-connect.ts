import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, Client as SshClient, ConnectConfig } from 'ssh2';
import { EndpointError, reasonOf } from '../endpoint/errors.js';
import { addHostKey, checkHostKey, fingerprint, hostToken, preferredAlgorithms } from './known-hosts.js';
import { startProxyCommand } from './proxy-command.js';
import { type HostConfig, resolveHost } from './ssh-config.js';

export interface SshOptions {
  /** -i/--identity: tried before anything else. */
  identity?: string;
  acceptNewHostKey: boolean;
  verbose?: (message: string) => void;
}

/** Where to connect, after ~/.ssh/config: the alias as typed names it in messages. */
export interface SshTarget {
  alias: string;
  hostName: string;
  port: number;
  user: string;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function readKey(file: string, verbose?: (m: string) => void): Buffer | undefined {
  try {
    const data = readFileSync(file);
    const parsed = ssh2.utils.parseKey(data);
    if (parsed instanceof Error) {
      verbose?.(`skipping key ${file}: ${parsed.message}`);
      return undefined;
    }
    return data;
  } catch {
    return undefined;
  }
}

function authMethods(user: string, t: HostConfig, opts: SshOptions): AnyAuthMethod[] {
  const { identityFiles, identitiesOnly } = t;
  const methods: AnyAuthMethod[] = [];
  const keyFiles = [
    ...(opts.identity ? [opts.identity] : []),
    ...identityFiles,
    ...DEFAULT_KEYS.map((k) => nodePath.join(os.homedir(), '.ssh', k)),
  ];
  const seen = new Set<string>();
  const keys: AnyAuthMethod[] = [];
  for (const f of keyFiles) {
    if (seen.has(f)) continue;
    seen.add(f);
    const key = readKey(f, opts.verbose);
    if (key) keys.push({ type: 'publickey', username: user, key });
  }
  // ssh's own order: the identity named on the command line, the agent's keys, then key files.
  if (opts.identity && keys.length > 0 && keyFiles[0] === opts.identity) methods.push(keys.shift()!);
  const agent = t.identityAgent ?? process.env.SSH_AUTH_SOCK;
  if (agent && agent !== 'none' && !identitiesOnly) methods.push({ type: 'agent', username: user, agent });
  methods.push(...keys);
  return methods;
}

function parseJump(spec: string): { user?: string; host: string; port?: number }[] {
  return spec.split(',').map((hop) => {
    const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop.trim());
    if (!m) throw new EndpointError(`cannot parse ProxyJump "${hop}"`, hop);
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
interface Via {
  sock: Duplex;
  /** What the way itself says when the connection fails. */
  explain?: () => Promise<string>;
}

/**
 * Opens one SSH connection, through ProxyJump hops or a ProxyCommand if the config names them,
 * checking the host key against known_hosts the way OpenSSH does (a changed key is always refused).
 */
export async function connectSsh(alias: string, user: string | undefined, port: number | undefined, opts: SshOptions, via?: Via): Promise<SshClient> {
  const t = targetOf(alias, user, port);
  const where = `${t.user}@${alias}`;
  if (t.proxyJump && !via) {
    let hopClient: SshClient | undefined;
    for (const hop of parseJump(t.proxyJump)) {
      const next = hopClient ? { sock: await forward(hopClient, hop.host, hop.port ?? targetOf(hop.host, hop.user, hop.port).port) } : undefined;
      hopClient = await connectSsh(hop.host, hop.user, hop.port, opts, next);
    }
    const sock = await forward(hopClient!, t.hostName, t.port);
    return connectSsh(alias, user, port, opts, { sock }).then((c) => {
      c.on('close', () => hopClient!.end());
      return c;
    });
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
  const config: ConnectConfig = {
    host: sock ? undefined : t.hostName,
    port: sock ? undefined : t.port,
    sock: sock as ConnectConfig['sock'],
    username: t.user,
    hostVerifier: verify,
    authHandler: authMethods(t.user, t, opts),
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
        reject(new EndpointError(`authentication failed for ${t.user}@${t.hostName}:${t.port} (tried ${describeAuth(config)}): give a key with -i, load one into ssh-agent, or check authorized_keys`, where));
      } else reject(new EndpointError(`cannot connect to ${t.hostName} port ${t.port}: ${err.message}${(await via?.explain?.()) ?? ''}`, where, undefined, (err as { code?: string }).code));
    });
    client.connect(config);
  });
}

function describeAuth(config: ConnectConfig): string {
  const methods = config.authHandler as AnyAuthMethod[];
  if (methods.length === 0) return 'no keys found';
  return methods.map((m) => m.type).join(', ');
}

function forward(client: SshClient, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) reject(new EndpointError(`ProxyJump cannot reach ${host}:${port}: ${err.message}`, host));
      else resolve(stream);
    });
  });
}

/** One SSH connection per host per run, shared by every endpoint on that host. */
export class ConnectionPool {
  private readonly clients = new Map<string, Promise<SshClient>>();

  constructor(private readonly opts: SshOptions) {}

  get(alias: string, user: string | undefined, port: number | undefined): Promise<SshClient> {
    const t = targetOf(alias, user, port);
    const key = `${t.user}@${t.hostName}:${t.port}`;
    let c = this.clients.get(key);
    if (!c) {
      c = connectSsh(alias, user, port, this.opts);
      c.catch(() => undefined);
      this.clients.set(key, c);
    }
    return c;
  }

  async closeAll(): Promise<void> {
    for (const c of this.clients.values()) {
      const client = await c.catch(() => undefined);
      client?.end();
    }
    this.clients.clear();
  }
}
