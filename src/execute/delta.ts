import { createHash } from 'node:crypto';
import { DIGEST_BYTES, type FileWriter } from '../endpoint/endpoint.js';

const MIN_BLOCK = 16 * 1024;
const MAX_BLOCK = 1024 * 1024;
const MAX_BLOCKS = 16 * 1024;

/** Blocks of a delta transfer: 16 KiB, doubled up to 1 MiB to keep a file's digests few (at most 16,384 below 16 GiB). */
export function blockSizeFor(size: number): number {
  let bs = MIN_BLOCK;
  while (bs < MAX_BLOCK && size / bs > MAX_BLOCKS) bs *= 2;
  return bs;
}

export function digestOf(block: Buffer): Buffer {
  return createHash('sha1').update(block).digest();
}

/** Cuts a stream of chunks into blocks of `blockSize` (the last may be short), copying only where a block spans chunks. */
export async function* blocksOf(chunks: AsyncIterable<Buffer>, blockSize: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (let chunk of chunks) {
    while (chunk.length > 0) {
      const take = Math.min(blockSize - have, chunk.length);
      parts.push(chunk.subarray(0, take));
      have += take;
      chunk = chunk.subarray(take);
      if (have === blockSize) {
        yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
}

/**
 * Sends one file to one remote block by block: a block the remote's current file has too (the
 * same digest, at the same place or elsewhere) is copied there from that file, in runs of
 * consecutive blocks; any other is sent.
 */
export class DeltaSender {
  /** Bytes sent as content. */
  sent = 0;
  private runFirst = 0;
  private runLength = 0;
  private readonly where = new Map<string, number>();

  constructor(private readonly writer: FileWriter, private readonly digests: Buffer) {
    for (let i = digests.length / DIGEST_BYTES - 1; i >= 0; i--) this.where.set(digests.toString('latin1', i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), i);
  }

  async block(index: number, data: Buffer, digest: Buffer): Promise<void> {
    const next = this.runFirst + this.runLength;
    // The run goes on where it can: the remote block after it, else the one at this index, else any.
    const at = this.has(next, digest) ? next : this.has(index, digest) ? index : this.where.get(digest.toString('latin1'));
    if (at !== undefined && this.runLength > 0 && at === next) {
      this.runLength++;
      return;
    }
    await this.flush();
    if (at !== undefined) {
      this.runFirst = at;
      this.runLength = 1;
      return;
    }
    this.sent += data.length;
    await this.writer.write(data);
  }

  /** Sends the copy of the run under way; called once more after the last block. */
  async flush(): Promise<void> {
    if (this.runLength === 0) return;
    const [first, count] = [this.runFirst, this.runLength];
    this.runLength = 0;
    await this.writer.copyBasis!(first, count);
  }

  private has(i: number, digest: Buffer): boolean {
    const at = i * DIGEST_BYTES;
    return at + DIGEST_BYTES <= this.digests.length && digest.compare(this.digests, at, at + DIGEST_BYTES) === 0;
  }
}
