import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Endpoint } from '../endpoint/endpoint.js';
import { RemoteEndpoint, type RemoteOpenOptions } from '../endpoint/remote-endpoint.js';
import { AgentClient } from '../protocol/client.js';
import { agentFile } from './agent-file.js';
import { reasonOf } from '../endpoint/errors.js';

/**
 * A local directory served by an agent in a child process: the same code path as a host over SSH,
 * and a core of its own for each remote (creating files is the cost that dominates a first sync).
 */
export async function openLocalAgent(label: string, options: RemoteOpenOptions): Promise<Endpoint> {
  const child = spawn(process.execPath, [agentFile().path], { stdio: ['pipe', 'pipe', 'pipe'] });
  // A process that could not be made (out of file descriptors, say) has no pipes: its error tells why.
  if (!child.stdout || !child.stdin || !child.stderr) {
    const [err] = (await once(child, 'error').catch((e: unknown) => [e])) as unknown[];
    throw new Error(reasonOf(err));
  }
  const exited = once(child, 'exit').catch(() => undefined);
  const client = new AgentClient(child.stdout, child.stdin, label, child.stderr);
  child.on('error', (err) => client.failAll(err));
  try {
    return await RemoteEndpoint.open(client, label, options, async () => {
      child.stdin.end();
      await exited;
    });
  } catch (err) {
    child.kill();
    throw err;
  }
}
