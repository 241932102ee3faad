import type { ClientChannel, Client as SshClient } from 'ssh2';
import { type ConnectOptions, type JumpHop, type SshOptions, connectSsh, hopVia, targetOf } from './ssh-connect.js';

interface Connection {
  client: Promise<SshClient>;
  /** Channels open on it now. */
  open: number;
  /** Channels asked for and not yet answered. */
  pending: Set<Promise<unknown>>;
  /** How many it carried when the server refused one more: its sshd's MaxSessions, as learnt. */
  capacity: number;
  /** Whether the server ever opened a channel on it. */
  opened: boolean;
}

/**
 * The SSH connections to one host, shared by every endpoint there. sshd lets one connection carry
 * only so many sessions at once (MaxSessions, 10 by default), and every remote directory on the
 * host keeps its agent's session open for the whole run: a connection that refuses a session
 * while it carries others is full, and the command goes over another connection to that host,
 * opened when first needed.
 */
export class HostConnections {
  private readonly connections: Connection[] = [];

  constructor(private readonly connect: () => Promise<SshClient>) {}

  private connection(i: number): Connection {
    while (this.connections.length <= i) {
      const client = this.connect();
      client.catch(() => undefined);
      this.connections.push({ client, open: 0, pending: new Set(), capacity: Infinity, opened: false });
    }
    return this.connections[i]!;
  }

  /**
   * Runs a command as a session channel of the first connection that has room for one. `adopt`
   * takes the channel in ssh2's callback, before anything else runs: the command's exit may
   * come in the same read as the channel, and its listener must be there by then.
   */
  async exec<T>(command: string, adopt: (channel: ClientChannel) => T): Promise<T> {
    for (let i = 0; ; i++) {
      const c = this.connection(i);
      if (c.open + c.pending.size >= c.capacity) continue;
      const attempt = execOn(await c.client, command, c, adopt);
      c.pending.add(attempt);
      let refusal: unknown;
      try {
        return await attempt;
      } catch (err) {
        refusal = err;
      } finally {
        c.pending.delete(attempt);
      }
      // A refusal comes back before the channels opened with it are counted (ssh2 answers an
      // exec once the command has started): what the connection carries is known once they are.
      if (typeof (refusal as { reason?: unknown }).reason !== 'number') throw refusal;
      await Promise.allSettled(c.pending);
      // Refused on a connection that never had a session is the host's answer, not a limit.
      // (Sessions just closed may still hold their places on the server: at least one is left.)
      if (!c.opened) throw new Error(`the SSH server refused to open a session (${(refusal as Error).message.replace(/^\(SSH\) Channel open failure: /, '')})`, { cause: refusal });
      c.capacity = Math.max(1, Math.min(c.capacity, c.open));
    }
  }

  /** Ends every connection; one still being made ends once made, without holding up a stop. */
  closeAll(): void {
    for (const c of this.connections) endOnceMade(c.client);
    this.connections.length = 0;
  }
}

function endOnceMade(client: Promise<SshClient>): void {
  client.then(
    (made) => made.end(),
    () => undefined,
  );
}

function execOn<T>(client: SshClient, command: string, c: Connection, adopt: (channel: ClientChannel) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      c.open++;
      c.opened = true;
      channel.once('close', () => c.open--);
      resolve(adopt(channel));
    });
  });
}

/**
 * The connections of a run, by host: every endpoint on one host shares them, and every host
 * behind one ProxyJump chain shares the connection to its hops (a fleet behind a bastion is one
 * login there, not one per host at once, which its sshd's MaxStartups would drop).
 */
export class ConnectionPool {
  private readonly hosts = new Map<string, HostConnections>();
  private readonly jumps = new Map<string, Promise<SshClient>>();
  private readonly opts: ConnectOptions;

  constructor(opts: SshOptions) {
    this.opts = { ...opts, jumpHost: (hops) => this.jumpHost(hops) };
  }

  get(alias: string, user: string | undefined, port: number | undefined): HostConnections {
    const t = targetOf(alias, user, port);
    const key = `${t.user}@${t.hostName}:${t.port}`;
    let host = this.hosts.get(key);
    if (!host) {
      host = new HostConnections(() => connectSsh(alias, user, port, this.opts));
      this.hosts.set(key, host);
    }
    return host;
  }

  /** The connection to a chain's last hop, through the (shared) one to the hop before it. */
  private jumpHost(hops: JumpHop[]): Promise<SshClient> {
    const key = JSON.stringify(hops);
    let client = this.jumps.get(key);
    if (!client) {
      const hop = hops[hops.length - 1]!;
      client = (async () => connectSsh(hop.host, hop.user, hop.port, this.opts, hops.length > 1 ? await hopVia(await this.jumpHost(hops.slice(0, -1)), hop) : undefined))();
      client.catch(() => undefined);
      this.jumps.set(key, client);
    }
    return client;
  }

  closeAll(): void {
    for (const host of this.hosts.values()) host.closeAll();
    this.hosts.clear();
    for (const jump of [...this.jumps.values()].reverse()) endOnceMade(jump);
    this.jumps.clear();
  }
}
