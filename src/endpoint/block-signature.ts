import { createHash } from 'node:crypto';

/**
 * What a delta transfer knows of each block of a remote's file: a weak checksum that can be
 * rolled along the master's bytes one at a time (rsync's: two 16-bit sums), to find where a block
 * may sit at any offset, and a SHA-1 that says whether it really does. 4 + 20 bytes a block.
 */
export const SIGNATURE_BYTES = 24;

/** The weak checksum of bytes [start, end) of `buf`: b << 16 | a. */
export function weakSum(buf: Uint8Array, start: number, end: number): number {
  let a = 0;
  let b = 0;
  for (let i = start; i < end; ) {
    // Over 1024 bytes the sums stay small integers (a < 2^16 + 2^18, b < 2^16 + 2^10 * a < 2^31):
    // masked once a run, not at every byte.
    const stop = Math.min(end, i + 1024);
    for (; i < stop; i++) {
      a += buf[i]!;
      b += a;
    }
    a &= 0xffff;
    b &= 0xffff;
  }
  return ((b << 16) | a) >>> 0;
}

export function strongSum(block: Uint8Array): Buffer {
  return createHash('sha1').update(block).digest();
}

/** The signature of one block: its weak checksum (big-endian), then its SHA-1. */
export function blockSignature(block: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(SIGNATURE_BYTES);
  out.writeUInt32BE(weakSum(block, 0, block.length), 0);
  strongSum(block).copy(out, 4);
  return out;
}
