import * as zlib from 'node:zlib';
import CRC32 from 'crc-32';

type Crc32 = (data: Uint8Array, previous?: number) => number;

/** node's zlib.crc32 (Node >= 20.15) computes the same CRC-32 as the crc-32 package, much faster. */
const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

export const crc32: (data: Uint8Array, previous: number) => number = native
  ? (data, previous) => native(data, previous)
  : (data, previous) => CRC32.buf(data, previous) >>> 0;
