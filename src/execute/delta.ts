import { SIGNATURE_BYTES, strongSum, weakSum } from '../endpoint/block-signature.js';

/** Where a delta goes: new content, and runs of blocks to copy from the remote's own file. */
export interface DeltaSink {
  write(content: Buffer): Promise<void>;
  copyBasis(first: number, count: number): Promise<void>;
}

const MIN_BLOCK = 4 * 1024;
const MAX_BLOCK = 1024 * 1024;
/** New content is sent once this much of it has gathered, so that what is held stays small. */
const LITERAL_FLUSH = 256 * 1024;

/**
 * Blocks of a delta transfer, as rsync sizes them: about the square root of the file's size (a
 * small change costs a small block, a big file has few signatures), as a power of two from 4 KiB
 * to 1 MiB: 4 KiB up to 16 MiB, 16 KiB at 256 MiB, 64 KiB at 4 GiB.
 */
export function blockSizeFor(size: number): number {
  let bs = MIN_BLOCK;
  while (bs < MAX_BLOCK && bs * bs < size) bs *= 2;
  return bs;
}

/** The remote's block signatures, indexed by weak checksum for a look at every offset. */
class SignatureIndex {
  readonly count: number;
  readonly weak: Uint32Array;
  /** By tag (see tagOf): the first block with it, then the next ones by `next` (-1 ends). */
  readonly head: Int32Array;
  readonly next: Int32Array;
  /** Tags have as many bits as it takes to keep chains short, 16 at most (a table of 256 KiB). */
  readonly mask: number;

  constructor(private readonly signatures: Buffer) {
    this.count = signatures.length / SIGNATURE_BYTES;
    this.weak = new Uint32Array(this.count);
    this.next = new Int32Array(this.count);
    const bits = Math.min(16, Math.max(4, Math.ceil(Math.log2(this.count + 1)) + 4));
    this.mask = (1 << bits) - 1;
    this.head = new Int32Array(1 << bits).fill(-1);
    // Filled from the end, so that a chain starts with the first block of its tag.
    for (let i = this.count - 1; i >= 0; i--) {
      const w = signatures.readUInt32BE(i * SIGNATURE_BYTES);
      this.weak[i] = w;
      const tag = this.tagOf(w);
      this.next[i] = this.head[tag]!;
      this.head[tag] = i;
    }
  }

  /** The weak checksum's two 16-bit sums xor'ed, masked: what the rolling loop makes from them directly. */
  tagOf(weak: number): number {
    return (weak ^ (weak >>> 16)) & this.mask;
  }

  /** The block whose signature `window` has, preferring `preferred` (the one a run of copies would go on with). */
  find(weak: number, window: Uint8Array, preferred: number): number | undefined {
    let strong: Buffer | undefined;
    if (preferred < this.count && this.weak[preferred] === weak) {
      strong = strongSum(window);
      if (this.strongIs(preferred, strong)) return preferred;
    }
    for (let i = this.head[this.tagOf(weak)]!; i !== -1; i = this.next[i]!) {
      if (i === preferred || this.weak[i] !== weak) continue;
      strong ??= strongSum(window);
      if (this.strongIs(i, strong)) return i;
    }
    return undefined;
  }

  private strongIs(i: number, strong: Buffer): boolean {
    const at = i * SIGNATURE_BYTES + 4;
    return strong.compare(this.signatures, at, at + SIGNATURE_BYTES - 4) === 0;
  }
}

/**
 * Sends one file to one remote as rsync does: a window of one block rolls along the master's
 * bytes; where it holds a block the remote's file has (same weak checksum, then same SHA-1), that
 * block is copied there from the remote's own file (consecutive ones as one run), and the bytes
 * passed over on the way are sent. So content shifted by an insertion or a deletion is still found.
 */
export class DeltaSender {
  /** Bytes sent as content. */
  sent = 0;
  private readonly index: SignatureIndex;
  /** Master bytes not yet dealt with: new content from `lit` to `pos`, then the window and what follows. */
  private buf: Buffer = Buffer.alloc(0);
  private lit = 0;
  private pos = 0;
  /** The weak checksum of the window, while it is rolled one byte at a time. */
  private weak: number | undefined;
  private runFirst = 0;
  private runLength = 0;

  constructor(private readonly writer: DeltaSink, signatures: Buffer, private readonly blockSize: number) {
    this.index = new SignatureIndex(signatures);
  }

  async push(chunk: Buffer): Promise<void> {
    const rest = this.buf.subarray(this.lit);
    this.buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    this.pos -= this.lit;
    this.lit = 0;
    const { buf, blockSize: bs } = this;
    const { head, next, weak: weakOf, mask } = this.index;
    while (this.pos + bs <= buf.length) {
      const start = this.weak ?? weakSum(buf, this.pos, this.pos + bs);
      let a = start & 0xffff;
      let b = start >>> 16;
      // The hot loop: rolled on, a byte at a time, to the next offset where some block has the
      // same weak checksum (its tag picks the few blocks to compare).
      let p = this.pos;
      const last = buf.length - bs;
      const stop = Math.min(last, this.lit + LITERAL_FLUSH);
      for (; p < stop; p++) {
        let i = head[(a ^ b) & mask]!;
        if (i !== -1) {
          const w = ((b << 16) | a) >>> 0;
          while (i !== -1 && weakOf[i] !== w) i = next[i]!;
          if (i !== -1) break;
        }
        const out = buf[p]!;
        a = (a - out + buf[p + bs]!) & 0xffff;
        b = (b - bs * out + a) & 0xffff;
      }
      this.pos = p;
      const weak = ((b << 16) | a) >>> 0;
      const found = head[(a ^ b) & mask] === -1 ? undefined : this.index.find(weak, buf.subarray(p, p + bs), this.runFirst + this.runLength);
      if (found !== undefined) {
        await this.matched(found, bs);
        this.weak = undefined;
        continue;
      }
      if (p === last) {
        this.weak = weak;
        break; // the byte to roll in has not come yet
      }
      if (p - this.lit >= LITERAL_FLUSH) await this.sendNew();
      // No block here: one byte on; the byte that leaves the window is new content.
      const out = buf[p]!;
      a = (a - out + buf[p + bs]!) & 0xffff;
      b = (b - bs * out + a) & 0xffff;
      this.weak = ((b << 16) | a) >>> 0;
      this.pos = p + 1;
    }
    // What is kept for the next chunk is then less than a block, and cheap to join to it.
    await this.sendNew();
  }

  /** After the last chunk: what is left is new content, unless it is the remote's short last block. */
  async end(): Promise<void> {
    const tail = this.buf.subarray(this.pos);
    const last = this.index.count - 1;
    if (tail.length > 0 && tail.length < this.blockSize && last >= 0 && this.index.find(weakSum(tail, 0, tail.length), tail, last) === last) {
      await this.matched(last, tail.length);
    }
    this.pos = this.buf.length;
    await this.sendNew();
    await this.flushRun();
  }

  /** The window (`length` bytes at pos) is block `block` of the remote's file: what came before it is new content. */
  private async matched(block: number, length: number): Promise<void> {
    await this.sendNew();
    this.pos += length;
    this.lit = this.pos;
    if (this.runLength > 0 && block === this.runFirst + this.runLength) {
      this.runLength++;
      return;
    }
    await this.flushRun();
    this.runFirst = block;
    this.runLength = 1;
  }

  /** Sends the new content gathered so far, after the run of copies before it. */
  private async sendNew(): Promise<void> {
    if (this.pos === this.lit) return;
    await this.flushRun();
    const content = this.buf.subarray(this.lit, this.pos);
    this.lit = this.pos;
    this.sent += content.length;
    await this.writer.write(content);
  }

  private async flushRun(): Promise<void> {
    if (this.runLength === 0) return;
    const [first, count] = [this.runFirst, this.runLength];
    this.runLength = 0;
    await this.writer.copyBasis(first, count);
  }
}
