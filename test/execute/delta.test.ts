import test from 'ava';
import type { FileWriter } from '../../src/endpoint/endpoint.js';
import { DeltaSender, blockSizeFor, blocksOf, digestOf } from '../../src/execute/delta.js';

const BS = 4;

/** A writer that notes what it is asked to do, as "+content" and "=first..count". */
function recorder(): { writer: FileWriter; ops: string[] } {
  const ops: string[] = [];
  const writer: FileWriter = {
    write: async (chunk) => void ops.push(`+${chunk.toString()}`),
    copyBasis: async (first, count) => void ops.push(`=${first}x${count}`),
    finish: async () => ({ temp: 't', size: 0, crc: 0 }),
    abort: async () => undefined,
  };
  return { writer, ops };
}

function digestsOf(content: string): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i < content.length; i += BS) blocks.push(digestOf(Buffer.from(content.slice(i, i + BS))));
  return Buffer.concat(blocks);
}

async function send(remote: string, master: string): Promise<{ ops: string[]; sent: number }> {
  const { writer, ops } = recorder();
  const sender = new DeltaSender(writer, digestsOf(remote));
  let i = 0;
  for (let at = 0; at < master.length; at += BS, i++) {
    const block = Buffer.from(master.slice(at, at + BS));
    await sender.block(i, block, digestOf(block));
  }
  await sender.flush();
  return { ops, sent: sender.sent };
}

test('blocks the remote has are copied there in runs; the others are sent', async (t) => {
  t.deepEqual(await send('aaaabbbbccccdd', 'aaaabbbbccccdd'), { ops: ['=0x4'], sent: 0 });
  t.deepEqual(await send('aaaabbbbccccdddd', 'aaaaXXXXccccdddd'), { ops: ['=0x1', '+XXXX', '=2x2'], sent: 4 });
  t.deepEqual(await send('aaaabbbb', 'aaaabbbbcc'), { ops: ['=0x2', '+cc'], sent: 2 }, 'appended');
  t.deepEqual(await send('aaaabbbbcc', 'aaaabbbbcccc'), { ops: ['=0x2', '+cccc'], sent: 4 }, 'a short last block matches only itself');
  t.deepEqual(await send('aaaabbbbcccc', 'ccccaaaabbbb'), { ops: ['=2x1', '=0x2'], sent: 0 }, 'blocks that moved are found where they are');
  t.deepEqual(await send('', 'aaaa'), { ops: ['+aaaa'], sent: 4 });
});

test('chunks are cut into blocks whatever their boundaries', async (t) => {
  async function* chunks(...parts: string[]) {
    for (const p of parts) yield Buffer.from(p);
  }
  const cut = async (...parts: string[]) => {
    const out: string[] = [];
    for await (const b of blocksOf(chunks(...parts), BS)) out.push(b.toString());
    return out;
  };
  t.deepEqual(await cut('aaaabbbb', 'cc'), ['aaaa', 'bbbb', 'cc']);
  t.deepEqual(await cut('aa', 'aabb', 'b', 'bcccc'), ['aaaa', 'bbbb', 'cccc']);
  t.deepEqual(await cut(''), []);
});

test('the block size grows with the file so that a file has at most 16,384 digests, from 16 KiB to 1 MiB', (t) => {
  t.is(blockSizeFor(0), 16 * 1024);
  t.is(blockSizeFor(256 * 1024 * 1024), 16 * 1024);
  t.is(blockSizeFor(256 * 1024 * 1024 + 1), 32 * 1024);
  t.is(blockSizeFor(1024 ** 4), 1024 * 1024);
});
