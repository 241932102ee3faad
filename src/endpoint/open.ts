import type { Settings } from '../cli/settings.js';
import { formatAddress, type Address } from './address.js';
import type { Endpoint } from './endpoint.js';
import { EndpointError } from './errors.js';
import { cacheFileFor } from './local/cache-location.js';
import { LocalEndpoint } from './local/local-endpoint.js';
import { UnreachableEndpoint } from './unreachable.js';

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

/** Opens the master and every remote; one that cannot be opened stands as an UnreachableEndpoint. */
export async function openEndpoints(settings: Settings, _verbose?: (m: string) => void): Promise<OpenedEndpoints> {
  const open = async (a: Address): Promise<Endpoint> => {
    if (a.kind === 'local') return openLocal(a, settings);
    return new UnreachableEndpoint(formatAddress(a), new EndpointError('SSH endpoints are not built yet', formatAddress(a)));
  };
  const [master, ...remotes] = await Promise.all([settings.master, ...settings.remotes].map(open));
  return { master: master!, remotes };
}
