import type { Settings } from '../cli/settings.js';
import { formatAddress, type Address } from './address.js';
import type { Endpoint, PendingEndpoint } from './endpoint.js';
import { EndpointError } from './errors.js';
import { cacheFileFor } from './local/cache-location.js';
import { LocalEndpoint } from './local/local-endpoint.js';
import type { RemoteOpenOptions } from './remote-endpoint.js';
import type { HostInstalls } from '../transport/remote-agent.js';
import { UnreachableEndpoint } from './unreachable.js';
import { openLocalAgent } from '../transport/local-agent.js';

export interface OpenedEndpoints {
  master: Endpoint;
  remotes: PendingEndpoint[];
  /** Ends the SSH connections once every endpoint is closed. */
  release(): Promise<void>;
}

function openLocal(address: Extract<Address, { kind: 'local' }>, settings: Settings): Endpoint {
  return new LocalEndpoint(address.path, {
    cacheFile: settings.cache ? cacheFileFor(address.path) : undefined,
    saveCache: !settings.dryRun,
  });
}

/** What every agent is opened with: its root, and the run's cache and rate settings. */
function agentOptions(root: string, settings: Settings): RemoteOpenOptions {
  return { root, cache: settings.cache, saveCache: !settings.dryRun, bwlimit: settings.bwlimit };
}

/** Remotes on this machine get an agent process each, so that they are written in parallel. */
async function openLocalRemote(address: Extract<Address, { kind: 'local' }>, settings: Settings): Promise<Endpoint> {
  try {
    return await openLocalAgent(address.path, agentOptions(address.path, settings));
  } catch (err) {
    const why = err instanceof EndpointError ? err.message : (err as Error).message;
    return new UnreachableEndpoint(address.path, new EndpointError(`cannot start the local agent: ${why}`, address.path));
  }
}

/**
 * Opens the master, and starts reaching every remote, all at once; one that cannot be opened
 * stands as an UnreachableEndpoint. Resolves once the master is open: the remotes are worked on
 * as each is reached, so that a host that does not answer holds back only itself.
 */
export async function openEndpoints(settings: Settings, verbose?: (m: string) => void): Promise<OpenedEndpoints> {
  // The SSH modules are loaded only when a host is named: a run on local directories starts faster.
  const ssh = [settings.master, ...settings.remotes].some((a) => a.kind !== 'local') ? await loadSsh(settings, verbose) : undefined;
  // Per host (as named: an alias and its HostName may still be one host, which costs one more upload).
  const installs = new Map<string, HostInstalls>();
  const installsOn = (a: Extract<Address, { kind: 'ssh' }>): HostInstalls => {
    const key = `${a.user ?? ''}@${a.host}:${a.port ?? ''}`;
    let found = installs.get(key);
    if (!found) installs.set(key, (found = {}));
    return found;
  };
  const openRemote = async (a: Address): Promise<Endpoint> => {
    if (a.kind === 'local') return openLocalRemote(a, settings);
    const label = formatAddress(a);
    try {
      const shell = settings.rsh ? ssh!.rshShell(rshCommand(settings), a.host, a.user, a.port) : ssh!.connectionShell(ssh!.pool.get(a.host, a.user, a.port));
      // Across a network, a changed file goes as its changed blocks and long messages deflated; beside this process, whole.
      const options = { ...agentOptions(a.path, settings), deltaTransfer: settings.deltaTransfer, deflate: true };
      return await ssh!.openHostAgent(shell, label, options, { node: settings.remoteNode, readOnly: settings.dryRun, verbose, installs: installsOn(a) });
    } catch (err) {
      const e = err instanceof EndpointError ? new EndpointError(err.message, label, err.path, err.code) : new EndpointError((err as Error).message, label);
      return new UnreachableEndpoint(label, e);
    }
  };
  const remotes = settings.remotes.map((a): PendingEndpoint => {
    const pending: PendingEndpoint = { label: formatAddress(a), opened: openRemote(a) };
    void pending.opened.then((endpoint) => (pending.settled = endpoint));
    return pending;
  });
  const master = settings.master.kind === 'local' ? openLocal(settings.master, settings) : await openRemote(settings.master);
  return { master, remotes, release: async () => ssh?.pool.closeAll() };
}

async function loadSsh(settings: Settings, verbose?: (m: string) => void) {
  const [{ ConnectionPool }, { openHostAgent }, { connectionShell, rshShell }] = await Promise.all([
    import('../transport/connection-pool.js'),
    import('../transport/remote-agent.js'),
    import('../transport/host-shell.js'),
  ]);
  return { pool: new ConnectionPool({ identity: settings.identity, acceptNewHostKey: settings.acceptNewHostKey, verbose }), openHostAgent, connectionShell, rshShell };
}

/** The --rsh command with what -i and --accept-new-host-key ask of ssh. */
function rshCommand(settings: Settings): string[] {
  return [
    ...settings.rsh!,
    ...(settings.identity ? ['-i', settings.identity] : []),
    ...(settings.acceptNewHostKey ? ['-o', 'StrictHostKeyChecking=accept-new'] : []),
  ];
}
