import test from 'ava';
import { blockSignature, weakSum } from '../../src/endpoint/block-signature.js';
import { type DeltaSink, DeltaSender, blockSizeFor } from '../../src/execute/delta.js';

const BS = 4;

type Op = string | [number, number];

/** A sink that notes what it is asked to do: content as a string (content sent in a row, as one), copies as [first, count]. */
function recorder(): { writer: DeltaSink; ops: Op[] } {
  const ops: Op[] = [];
  const writer: DeltaSink = {
    write: async (chunk) => {
      const last = ops.length - 1;
      if (typeof ops[last] === 'string') ops[last] += chunk.toString('latin1');
      else ops.push(chunk.toString('latin1'));
    },
    copyBasis: async (first, count) => void ops.push([first, count]),
  };
  return { writer, ops };
}

function signaturesOf(content: string, bs = BS): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i < content.length; i += bs) blocks.push(blockSignature(Buffer.from(content.slice(i, i + bs), 'latin1')));
  return Buffer.concat(blocks);
}

/** The ops that send `master` to a remote holding `remote`, the master given in chunks of `chunk` bytes. */
async function send(remote: string, master: string, chunk = 3, bs = BS): Promise<{ ops: Op[]; sent: number }> {
  const { writer, ops } = recorder();
  const sender = new DeltaSender(writer, signaturesOf(remote, bs), bs);
  for (let at = 0; at < master.length; at += chunk) await sender.push(Buffer.from(master.slice(at, at + chunk), 'latin1'));
  await sender.end();
  return { ops, sent: sender.sent };
}

/** What the remote builds from its file and the ops. */
function rebuild(remote: string, ops: Op[], bs = BS): string {
  return ops.map((op) => (typeof op === 'string' ? op : remote.slice(op[0] * bs, (op[0] + op[1]) * bs))).join('');
}

test('blocks the remote has are copied there in runs, wherever they now sit; the rest is sent', async (t) => {
  t.deepEqual(await send('aaaabbbbccccdd', 'aaaabbbbccccdd'), { ops: [[0, 4]], sent: 0 });
  t.deepEqual(await send('aaaabbbbccccdddd', 'aaaaXXXXccccdddd'), { ops: [[0, 1], 'XXXX', [2, 2]], sent: 4 });
  t.deepEqual(await send('aaaabbbb', 'aaaabbbbcc'), { ops: [[0, 2], 'cc'], sent: 2 }, 'appended');
  t.deepEqual(await send('aaaabbbbcc', 'aaaabbbbcccc'), { ops: [[0, 2], 'cccc'], sent: 4 }, 'a short last block matches only itself');
  t.deepEqual(await send('aaaabbbbcc', 'Xaaaabbbbcc'), { ops: ['X', [0, 3]], sent: 1 }, 'an insertion shifts the rest, which is still found');
  t.deepEqual(await send('aaaabbbbccccdddd', 'aaaabbccccdddd'), { ops: [[0, 1], 'bb', [2, 2]], sent: 2 }, 'a deletion too');
  t.deepEqual(await send('aaaabbbbcccc', 'ccccaaaabbbb'), { ops: [[2, 1], [0, 2]], sent: 0 }, 'blocks that moved');
  t.deepEqual(await send('', 'aaaa'), { ops: ['aaaa'], sent: 4 });
  t.deepEqual(await send('aaaa', ''), { ops: [], sent: 0 });
});

test('the remote rebuilds the master exactly, whatever the edits and chunk sizes', async (t) => {
  let seed = 7;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
  const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + rand(4))).join('');
  for (let round = 0; round < 300; round++) {
    const bs = [4, 8, 16][rand(3)]!;
    const remote = text(rand(200));
    let master = remote;
    for (let e = rand(4); e > 0; e--) {
      const at = rand(master.length + 1);
      const edit = rand(3);
      if (edit === 0) master = master.slice(0, at) + text(1 + rand(20)) + master.slice(at);
      else if (edit === 1) master = master.slice(0, at) + master.slice(at + 1 + rand(20));
      else master = master.slice(0, at) + text(1 + rand(5)) + master.slice(at + 5);
    }
    const { ops } = await send(remote, master, 1 + rand(40), bs);
    t.is(rebuild(remote, ops, bs), master, `round ${round}`);
  }
});

test('the block size is about the square root of the file size, a power of two from 4 KiB to 1 MiB', (t) => {
  t.is(blockSizeFor(0), 4 * 1024);
  t.is(blockSizeFor(16 * 1024 * 1024), 4 * 1024);
  t.is(blockSizeFor(16 * 1024 * 1024 + 1), 8 * 1024);
  t.is(blockSizeFor(256 * 1024 * 1024), 16 * 1024);
  t.is(blockSizeFor(1024 ** 4), 1024 * 1024);
});

test("the weak checksum is rsync's two 16-bit sums, for any length and offset (masked once per 1024 bytes)", (t) => {
  const byDefinition = (buf: Buffer, start: number, end: number): number => {
    let a = 0;
    let b = 0;
    for (let i = start; i < end; i++) {
      a = (a + buf[i]!) % 65536;
      b = (b + a) % 65536;
    }
    return b * 65536 + a;
  };
  const bytes = Buffer.alloc(70_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 7 === 0 ? 255 : (i * 131) & 0xff;
  for (const [start, length] of [[0, 0], [0, 1], [5, 1023], [5, 1024], [5, 1025], [3, 4096], [1, 65_536], [0, 70_000]] as const) {
    t.is(weakSum(bytes, start, start + length), byDefinition(bytes, start, start + length), `${length} bytes from ${start}`);
  }
  const ones = Buffer.alloc(1 << 20, 255);
  t.is(weakSum(ones, 0, ones.length), byDefinition(ones, 0, ones.length), 'a 1 MiB block of 0xff');
});
