import type { Settings } from '../cli/settings.js';
import { formatAddress, type Address } from './address.js';
import type { Endpoint } from './endpoint.js';
import { EndpointError } from './errors.js';
import { cacheFileFor } from './local/cache-location.js';
import { LocalEndpoint } from './local/local-endpoint.js';
import { UnreachableEndpoint } from './unreachable.js';
import { openLocalAgent } from '../transport/local-agent.js';

export interface OpenedEndpoints {
  master: Endpoint;
  remotes: Endpoint[];
}

function openLocal(address: Extract<Address, { kind: 'local' }>, settings: Settings): Endpoint {
  return new LocalEndpoint(address.path, {
    cacheFile: settings.cache ? cacheFileFor(address.path) : undefined,
    saveCache: !settings.dryRun,
  });
}

/** Remotes on this machine get an agent process each, so that they are written in parallel. */
async function openLocalRemote(address: Extract<Address, { kind: 'local' }>, settings: Settings): Promise<Endpoint> {
  try {
    return await openLocalAgent(address.path, { root: address.path, cache: settings.cache, saveCache: !settings.dryRun });
  } catch (err) {
    const why = err instanceof EndpointError ? err.message : (err as Error).message;
    return new UnreachableEndpoint(address.path, new EndpointError(`cannot start the local agent: ${why}`, address.path));
  }
}

/** Opens the master and every remote; one that cannot be opened stands as an UnreachableEndpoint. */
export async function openEndpoints(settings: Settings, _verbose?: (m: string) => void): Promise<OpenedEndpoints> {
  const openRemote = async (a: Address): Promise<Endpoint> => {
    if (a.kind === 'local') return openLocalRemote(a, settings);
    return new UnreachableEndpoint(formatAddress(a), new EndpointError('SSH endpoints are not built yet', formatAddress(a)));
  };
  const master = settings.master.kind === 'local' ? openLocal(settings.master, settings) : await openRemote(settings.master);
  const remotes = await Promise.all(settings.remotes.map(openRemote));
  return { master, remotes };
}
