import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { RemoteEndpoint } from '../../src/endpoint/remote-endpoint.js';
import { AgentClient } from '../../src/protocol/client.js';
import { agentFile } from '../../src/transport/agent-file.js';
import { cleanup, tempDir } from '../helpers/tree.js';

test('an agent whose reader is gone (EPIPE) removes what it staged, releases its lock and ends, without a crash', async (t) => {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const root = nodePath.join(dir, 'remote');
  mkdirSync(root);
  const child = spawn(process.execPath, [agentFile().path], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  const client = new AgentClient(child.stdout, child.stdin, 'agent', child.stderr);
  const ep = await RemoteEndpoint.open(client, 'agent', { root, cache: false, saveCache: false }, async () => undefined);
  await ep.lock({ runId: '0123456789abcdef', job: 'epipe', block: 'b' }, 1000);
  const w = await ep.openWrite('staged.bin', 3);
  await w.write(Buffer.from('abc'));
  await w.finish();
  t.true(readdirSync(root).some((f) => f.startsWith('.replisync-')), 'staged and locked');

  // The reading end goes; the next answer the agent writes fails.
  child.stdout.destroy();
  ep.stat(['staged.bin']).catch(() => undefined);
  const [code] = (await exited) as [number | null];
  t.is(code, 2);
  t.notRegex(stderr, /Unhandled|EPIPE|    at /, 'no crash, no stack trace');
  t.deepEqual(readdirSync(root), [], 'no staged file, no lock');
  client.failAll(new Error('ended'));
});
