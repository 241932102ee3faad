/**
 * The data frames of an upload built on a basis (a delta transfer): each starts with a tag byte,
 * then either content to append, or which blocks of the basis to copy (first and count, u32 each).
 */
const LITERAL = 0;
const COPY = 1;
const LITERAL_TAG = Buffer.from([LITERAL]);

export type DeltaOp = { literal: Buffer } | { first: number; count: number };

/** Block sizes an upload may name: powers of two from 4 KiB to 16 MiB. */
export function validBlockSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 4096 && n <= 16 * 1024 * 1024 && (n & (n - 1)) === 0;
}

/** A content frame: the tag, then the chunk as it is (sent as two pieces, not copied together). */
export function literalFrame(chunk: Buffer): Buffer[] {
  return [LITERAL_TAG, chunk];
}

export function copyFrame(first: number, count: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = COPY;
  b.writeUInt32BE(first, 1);
  b.writeUInt32BE(count, 5);
  return b;
}

export function decodeDeltaFrame(payload: Buffer): DeltaOp {
  if (payload[0] === LITERAL) return { literal: payload.subarray(1) };
  if (payload[0] === COPY && payload.length === 9) return { first: payload.readUInt32BE(1), count: payload.readUInt32BE(5) };
  throw new Error(`a delta frame must be content (tag ${LITERAL}) or a copy of blocks (tag ${COPY}, 8 bytes)`);
}
