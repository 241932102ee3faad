import type { BigIntStats } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { FileReader, FileWriter, ReadStat, StagedFile } from '../endpoint.js';
import { crc32 } from './crc.js';
import { wholeMs } from './stat-key.js';

export const CHUNK = 256 * 1024;

function sameContent(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

/** CRC-32 of an open file, reading it once with a reused buffer; undefined if it changed meanwhile. */
export async function crcOfHandle(fh: FileHandle, before: BigIntStats): Promise<number | undefined> {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, Number(before.size))));
  let crc = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    crc = crc32(buf.subarray(0, bytesRead), crc);
  }
  const after = await fh.stat({ bigint: true });
  return sameContent(before, after) ? crc : undefined;
}

/** Reads a master file in fresh chunks (a chunk may still be queued on a channel when the next is read). */
export async function openReader(abs: string): Promise<FileReader> {
  const fh = await open(abs, 'r');
  let before: BigIntStats;
  try {
    before = await fh.stat({ bigint: true });
    if (!before.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
  } catch (err) {
    await fh.close();
    throw err;
  }
  let crc = 0;
  let size = 0;
  let closed = false;
  let stat: ReadStat | undefined;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    async *chunks() {
      try {
        for (;;) {
          const want = Math.min(CHUNK, Math.max(1, Number(before.size) - size + 1));
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await fh.read(buf, 0, want, null);
          if (bytesRead === 0) break;
          const chunk = buf.subarray(0, bytesRead);
          crc = crc32(chunk, crc);
          size += bytesRead;
          yield chunk;
        }
        const after = await fh.stat({ bigint: true });
        stat = {
          size,
          crc,
          mtimeMs: wholeMs(after.mtimeNs),
          mode: Number(after.mode) & 0o7777,
          uid: Number(after.uid),
          gid: Number(after.gid),
          consistent: sameContent(before, after) && BigInt(size) === after.size,
        };
      } finally {
        await close();
      }
    },
    async result() {
      if (!stat) throw new Error('file was not read to its end');
      return stat;
    },
    cancel: close,
  };
}

/** Names a temp file; `seq` keeps names unique within a run, `runTag` across runs. */
export function tempName(runTag: string, seq: number): string {
  return `.replisync-${runTag}-${seq.toString(36)}.tmp`;
}

/** Writes new content to a temp file in `dirAbs`, CRC computed on the way. */
export async function openStagedWriter(
  root: string,
  dirRel: string,
  name: string,
  onDone: (temp: string | undefined) => void,
): Promise<FileWriter> {
  const tempRel = dirRel ? `${dirRel}/${name}` : name;
  const abs = nodePath.join(root, tempRel);
  const fh = await open(abs, 'wx', 0o600);
  let crc = 0;
  let size = 0;
  let open_ = true;
  const discard = async (): Promise<void> => {
    if (open_) {
      open_ = false;
      await fh.close().catch(() => undefined);
    }
    await unlink(abs).catch(() => undefined);
    onDone(undefined);
  };
  return {
    async write(chunk) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
    },
    async finish(): Promise<StagedFile> {
      open_ = false;
      await fh.close();
      onDone(tempRel);
      return { temp: tempRel, size, crc };
    },
    abort: discard,
  };
}
