import { closeSync, readSync } from 'node:fs';
import { blockSignature } from '../block-signature.js';
import type { FileWriter } from '../endpoint.js';
import { CHUNK, openRegular } from './file-io.js';

/** Reads until `buf` is full or the file ends; how much was read. */
function readFull(fd: number, buf: Buffer): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, null);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** The signature of each block of the regular file `abs` as it is now, end to end; the last block may be short. */
export function blockSignaturesOf(abs: string, blockSize: number): Buffer {
  const fd = openRegular(abs).fd;
  try {
    // Read a chunk of whole blocks at a time: a system call per block costs more than its hashing.
    const buf = Buffer.allocUnsafe(Math.max(blockSize, CHUNK - (CHUNK % blockSize)));
    const signatures: Buffer[] = [];
    for (;;) {
      const n = readFull(fd, buf);
      for (let at = 0; at < n; at += blockSize) signatures.push(blockSignature(buf.subarray(at, Math.min(n, at + blockSize))));
      if (n < buf.length) break;
    }
    return Buffer.concat(signatures);
  } finally {
    closeSync(fd);
  }
}

/**
 * The file a delta transfer builds on: the target as it was when its block signatures were made. Its
 * blocks are read as far as they still reach; a basis that is gone, or no regular file now, gives
 * nothing. Either way the new file comes out short or different, which its size and CRC tell:
 * nothing here needs to fail.
 */
class BasisFile {
  private fd: number | undefined;
  private broken = false;
  private readonly buf: Buffer;

  constructor(private readonly abs: string, private readonly blockSize: number) {
    this.buf = Buffer.allocUnsafe(CHUNK);
  }

  /** Blocks [first, first + count), in pieces of a reused buffer (a run of small blocks in few reads): each is to be used before the next is asked for. */
  *blocks(first: number, count: number): Generator<Buffer> {
    if (this.broken) return;
    try {
      this.fd ??= openRegular(this.abs).fd;
      let at = first * this.blockSize;
      const end = at + count * this.blockSize;
      while (at < end) {
        const n = readSync(this.fd, this.buf, 0, Math.min(this.buf.length, end - at), at);
        if (n === 0) return;
        yield this.buf.subarray(0, n);
        at += n;
      }
    } catch {
      this.broken = true;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** `writer` that can also copy blocks of the file at `abs` (the target it replaces), as a delta transfer asks. */
export function withBasis(writer: FileWriter, abs: string, blockSize: number): FileWriter {
  const basis = new BasisFile(abs, blockSize);
  return {
    write: (chunk) => writer.write(chunk),
    async copyBasis(first, count) {
      for (const piece of basis.blocks(first, count)) await writer.write(piece);
    },
    finish: () => {
      basis.close();
      return writer.finish();
    },
    abort: () => {
      basis.close();
      return writer.abort();
    },
  };
}
