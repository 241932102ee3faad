import * as os from 'node:os';
import * as nodePath from 'node:path';
import { AddressError } from '../endpoint/address.js';
import { EndpointError } from '../endpoint/errors.js';
import { expandHome } from '../endpoint/home-path.js';
import { cacheFileFor } from '../endpoint/local/cache-location.js';
import { LocalEndpoint } from '../endpoint/local/local-endpoint.js';
import { PROTOCOL_VERSION } from '../protocol/frames.js';
import { AgentServer } from '../protocol/server.js';

/** Set by the bundler: the content hash the agent file is named by; "dev" when run from source. */
declare const REPLISYNC_AGENT_ID: string | undefined;
export const AGENT_ID = typeof REPLISYNC_AGENT_ID === 'string' ? REPLISYNC_AGENT_ID : 'dev';

/**
 * The agent: serves one local endpoint over stdin/stdout. Nothing but frames goes to stdout; its
 * own troubles go to stderr, which replisync shows in its errors.
 */
export async function runAgent(): Promise<number> {
  const server = new AgentServer(
    process.stdin,
    process.stdout,
    { version: PROTOCOL_VERSION, agent: AGENT_ID, host: os.hostname(), pid: process.pid, node: process.version },
    (params) => {
      let root: string;
      try {
        root = nodePath.resolve(expandHome(String(params.root)));
      } catch (err) {
        if (err instanceof AddressError) throw new EndpointError(err.message, String(params.root));
        throw err;
      }
      const cache = params.cache === true;
      return new LocalEndpoint(root, { label: root, cacheFile: cache ? cacheFileFor(root) : undefined, saveCache: params.saveCache === true });
    },
  );
  // Ctrl-C reaches every process of the terminal's group, local agents too; a service manager
  // stops them all at once: each agent removes what it staged and releases its lock first.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return; // a second signal must not cut the cleanup short
    stopping = true;
    void server.closeEndpoint().finally(() => process.exit(2));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  // Nobody reads any more (replisync was killed, the connection cut): an answer fails with EPIPE.
  // As at the end of input, what was staged is removed and the lock released, then the agent ends.
  process.stdout.on('error', stop);
  try {
    await server.run();
    return 0;
  } catch (err) {
    process.stderr.write(`replisync agent on ${os.hostname()}: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
}
