import test from 'ava';
import { writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { PassThrough } from 'node:stream';
import { LocalEndpoint } from '../../src/endpoint/local/local-endpoint.js';
import { EndpointError } from '../../src/endpoint/errors.js';
import { RemoteEndpoint } from '../../src/endpoint/remote-endpoint.js';
import { AgentClient } from '../../src/protocol/client.js';
import { FrameDecoder, FrameType, MAGIC, ProtocolError, decodeJson, encodeFrame, encodeJson } from '../../src/protocol/frames.js';
import { AgentServer } from '../../src/protocol/server.js';
import { endpointContract } from '../helpers/endpoint-contract.js';
import { cleanup, tempDir } from '../helpers/tree.js';

const hello = { version: 1, agent: 'test', host: 'pipe', pid: process.pid, node: process.version };

/** An agent served over an in-memory pipe, with what the host "prints" before the protocol. */
function pipeEndpoint(banner = '') {
  const toAgent = new PassThrough();
  const fromAgent = new PassThrough();
  if (banner) fromAgent.write(banner);
  const server = new AgentServer(toAgent, fromAgent, hello, (params) => new LocalEndpoint(String(params.root)));
  const running = server.run();
  const client = new AgentClient(fromAgent, toAgent, 'pipe:/test');
  return { client, running, toAgent, fromAgent, close: () => toAgent.end() };
}

test('the endpoint contract holds in-process', async (t) => {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  await endpointContract(t, dir, async (root) => new LocalEndpoint(root));
});

test('the endpoint contract holds through the agent protocol over a pipe', async (t) => {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  await endpointContract(t, dir, async (root) => {
    const p = pipeEndpoint('Welcome to the host!\nLast login: yesterday\n');
    return RemoteEndpoint.open(p.client, 'pipe:/test', { root, cache: false, saveCache: false }, async () => {
      p.close();
      await p.running;
    });
  });
});

test('the endpoint contract holds over a pipe with long messages deflated, as they travel over SSH', async (t) => {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  await endpointContract(t, dir, async (root) => {
    const p = pipeEndpoint();
    return RemoteEndpoint.open(p.client, 'pipe:/test', { root, cache: false, saveCache: false, deflate: true }, async () => {
      p.close();
      await p.running;
    });
  });
});

test('deflated, a listing and the checksums of its files are the same, in a fifth of the bytes or less both ways', async (t) => {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  for (let i = 0; i < 2000; i++) writeFileSync(nodePath.join(dir, `file-${i}.txt`), String(i));
  const run = async (deflate: boolean) => {
    const p = pipeEndpoint();
    const bytes = { sent: 0, received: 0 };
    p.toAgent.on('data', (c: Buffer) => (bytes.sent += c.length));
    p.fromAgent.on('data', (c: Buffer) => (bytes.received += c.length));
    const ep = await RemoteEndpoint.open(p.client, 'pipe:/test', { root: dir, cache: false, saveCache: false, deflate }, async () => void p.close());
    const before = { ...bytes };
    const listing = await ep.list([]);
    const crcs = await ep.checksums(listing.entries.map((e) => e.path));
    await ep.close();
    return { listing, crcs, sent: bytes.sent - before.sent, received: bytes.received - before.received };
  };
  const [plain, deflated] = await Promise.all([run(false), run(true)]);
  t.deepEqual(deflated.listing, plain.listing);
  t.deepEqual(deflated.crcs, plain.crcs);
  t.is(deflated.crcs.size, 2000);
  t.true(deflated.sent * 5 < plain.sent, `sent ${deflated.sent} B deflated against ${plain.sent} B`);
  t.true(deflated.received * 5 < plain.received, `received ${deflated.received} B deflated against ${plain.received} B`);

  const p = pipeEndpoint();
  await p.client.hello;
  await t.throwsAsync(p.client.request('open', { root: dir, cache: false, saveCache: false, deflate: 'yes' }), { message: /parameter deflate must be a boolean/ });
  p.close();
});

test('a login banner before the greeting is skipped and kept', async (t) => {
  const p = pipeEndpoint('motd line\n');
  await p.client.hello;
  t.is(p.client.banner, 'motd line\n');
  p.close();
});

test('an agent of another protocol version is refused clearly', async (t) => {
  const decoder = new FrameDecoder(true);
  const err = t.throws(() => decoder.push(Buffer.from('REPLISYNC-AGENT 99\n')), { instanceOf: ProtocolError });
  t.regex(err!.message, /speaks "REPLISYNC-AGENT 99"/);
});

test('malformed frames are protocol errors, not crashes', (t) => {
  const decoder = new FrameDecoder(false);
  t.throws(() => decoder.push(Buffer.from([0, 0, 0, 1, 99, 0, 0, 0, 1, 0])), { message: /unknown frame type 99/ });
  const big = Buffer.alloc(9);
  big.writeUInt32BE(100 * 1024 * 1024, 0);
  big.writeUInt8(FrameType.Data, 4);
  t.throws(() => new FrameDecoder(false).push(big), { message: /exceeds the limit/ });
  const frames = new FrameDecoder(false).push(Buffer.concat([encodeJson(FrameType.Request, 7, { a: 1 }), encodeFrame(FrameType.End, 7)]));
  t.deepEqual(frames.map((f) => [f.type, f.id]), [[FrameType.Request, 7], [FrameType.End, 7]]);
});

test('long JSON frames go deflated when asked, short ones as they are; bad deflated frames are protocol errors', (t) => {
  const long = { paths: Array.from({ length: 500 }, (_, i) => `dir/file-${i}.txt`) };
  const [plain, packed, short] = new FrameDecoder(false).push(
    Buffer.concat([encodeJson(FrameType.Request, 1, long), encodeJson(FrameType.Request, 2, long, true), encodeJson(FrameType.Response, 3, { result: null }, true)]),
  );
  t.falsy(plain!.deflated);
  t.true(packed!.deflated);
  t.falsy(short!.deflated);
  t.true(packed!.payload.length * 4 < plain!.payload.length);
  t.deepEqual(decodeJson(packed!), long);
  t.deepEqual(decodeJson(short!), { result: null });

  const typed = (type: number, payload: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, payload.length, type, 0, 0, 0, 9]), payload]);
  t.throws(() => new FrameDecoder(false).push(typed(0x80 | FrameType.Data, Buffer.from('x'))), { message: /frame type 4 cannot be deflated/ });
  const [garbage] = new FrameDecoder(false).push(typed(0x80 | FrameType.Request, Buffer.from([0xff, 0xff, 0xff])));
  t.throws(() => decodeJson(garbage!), { instanceOf: ProtocolError, message: /request 9 is not valid deflate data/ });
  // A small frame that inflates beyond the limit (here 1 KiB: a zip bomb's shape) is refused.
  const [bomb] = new FrameDecoder(false).push(encodeJson(FrameType.Request, 9, { pad: ' '.repeat(8000) }, true));
  t.true(bomb!.deflated);
  t.throws(() => decodeJson(bomb!, 1024), { instanceOf: ProtocolError, message: /inflates to more than 1024 bytes/ });
});

test('an unknown request is a protocol violation: the agent stops rather than guess', async (t) => {
  const toAgent = new PassThrough();
  const fromAgent = new PassThrough();
  const server = new AgentServer(toAgent, fromAgent, hello, (params) => new LocalEndpoint(String(params.root)));
  const running = server.run().catch((e: Error) => e);
  toAgent.write(encodeJson(FrameType.Request, 1, { method: 'format-disk', params: {} }));
  toAgent.end();
  const err = await running;
  t.true(err instanceof ProtocolError);
  t.true(fromAgent.read().toString('latin1').startsWith(MAGIC));
});

test('a lost connection fails pending requests with the endpoint named', async (t) => {
  const p = pipeEndpoint();
  await p.client.hello;
  const pending = p.client.request('list', { classes: [] });
  p.client.failAll(new EndpointError('connection to the agent lost: test', 'pipe:/test'));
  const err = await t.throwsAsync(pending);
  t.regex(String(err), /pipe:\/test: connection to the agent lost/);
  // Asked after the loss (the next batch of a transfer): it fails at once, its download too, and
  // nothing is left to reject unheard (that ended the process).
  const unheard: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unheard.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const late = p.client.download('readFiles', { files: [['a', 1]] });
  await t.throwsAsync(async () => {
    for await (const chunk of late.chunks()) t.fail(`no data: ${chunk.length}`);
  }, { message: /connection to the agent lost/ });
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.off('unhandledRejection', onUnhandled);
  t.deepEqual(unheard, []);
  p.close();
});

/** An agent over a pipe, greeted and serving a fresh temp directory (removed after the test). */
async function openedAgent(t: { teardown(fn: () => void): void }) {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  const p = pipeEndpoint();
  await p.client.hello;
  await p.client.request('open', { root: dir, cache: false, saveCache: false });
  return p;
}

test('a delta upload with a bad block size or a frame that is neither content nor a copy is refused, and the agent serves on', async (t) => {
  const p = await openedAgent(t);
  for (const blockSize of [1000, 3 * 4096, 2 ** 30, '16384']) {
    await t.throwsAsync(p.client.request('put', { path: 'f', size: 1, basisBlockSize: blockSize }), { message: /basisBlockSize that is a power of two/ });
    await t.throwsAsync(p.client.request('blockSignatures', { path: 'f', blockSize }), { message: /blockSize that is a power of two/ });
  }
  const bad = p.client.upload('put', { path: 'f', size: 1, basisBlockSize: 4096 });
  await bad.write(Buffer.from([7, 1, 2]));
  await t.throwsAsync(bad.end(), { message: /a delta frame must be content/ });
  t.like(await p.client.request('list', { classes: [] }), { exists: true });
  p.close();
});

test('stageFiles whose data does not match the announced sizes is refused, and the agent serves on', async (t) => {
  const p = await openedAgent(t);
  const short = p.client.upload('stageFiles', { files: [['a', 5]] });
  await short.write(Buffer.from('abc'));
  await t.throwsAsync(short.end(), { message: /sent 3 of the 5 bytes announced/ });
  const long = p.client.upload('stageFiles', { files: [['a', 2]] });
  await long.write(Buffer.from('abc'));
  await t.throwsAsync(long.end(), { message: /more than the 2 bytes announced/ });
  await t.throwsAsync(p.client.request('stageFiles', { files: [[7, 1]] }), { message: /files of \[path, size\]/ });
  for (const attrs of [[0o10000, null], [-1, null], ['644', null], [null, 'now'], [null, [1]]]) {
    await t.throwsAsync(p.client.request('stageFiles', { files: [['a', 0, ...attrs]] }), { message: /files of \[path, size, mode \| null, mtimeMs \| null\]/ });
  }
  t.like(await p.client.request('list', { classes: [] }), { exists: true });
  p.close();
});
