import { type BigIntStats, closeSync, constants, fstatSync, futimesSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { CHANGED, type FileReader, type FileWriter, type ReadStat, type StagedAttrs, type StagedFile } from '../endpoint.js';
import { crc32 } from './crc.js';
import { type ListedFile, contentKey, fileIdentity, sameFile } from './stat-key.js';
import { fileTime, timeMs } from './file-time.js';
import { underRoot } from './safe-path.js';
import { errnoCode } from '../errors.js';

export const CHUNK = 256 * 1024;

function sameContent(a: BigIntStats, b: BigIntStats): boolean {
  return contentKey(a) === contentKey(b);
}

/**
 * File times come from a coarse clock (a tick of up to 10 ms; whole seconds on some file systems):
 * a write in the same tick as the one before it leaves them as they were. A file changed less
 * than a tick before a read began may thus have been written during the read unseen, so such a
 * read proves nothing ("racy", as git calls it): it is taken as inconsistent and done again later.
 */
export function racy(ctimeNs: bigint, readStartMs: number): boolean {
  const window = ctimeNs % 1_000_000_000n === 0n ? 2000 : 20;
  // A ctime further ahead than that comes from another clock (a file server's): no tick to reason about.
  const age = readStartMs - Number(ctimeNs / 1_000_000n);
  return age < window && age > -window;
}

/**
 * CRC-32 of a listed file, read once with a reused buffer, if it still has its listed size. What
 * it is trusted for rests on the listing's stat: the CRC is cached under the key the file had
 * then, and a write since moves its ctime, so its key, unless it fell in the clock tick of the
 * listed ctime, which `racy` (the listed ctime close to the read's start) keeps out of the cache.
 * A read that raced a write may give a CRC of mixed content: the file then merely counts as
 * different, and is copied. Never follows a symlink put in the file's place, nor blocks on a FIFO.
 */
export function crcOfFile(abs: string, buf: Buffer, listed: ListedFile): { crc: number; racy: boolean } | undefined {
  const started = Date.now();
  const fd = openToRead(abs);
  try {
    let crc = 0;
    let size = 0;
    for (;;) {
      // One byte more than listed, to notice a file that grew.
      const want = Math.min(buf.length, listed.size + 1 - size);
      const n = readSync(fd, buf, 0, want, null);
      crc = crc32(buf.subarray(0, n), crc);
      size += n;
      if (n < want || size > listed.size) break; // a short read is the end of the file
    }
    return size === listed.size ? { crc, racy: racy(listed.ctimeNs, started) } : undefined;
  } finally {
    closeSync(fd);
  }
}

/** What a whole read of `fd` gives: its attributes after the read, and whether the read can be trusted. */
function checkRead(fd: number, before: BigIntStats, started: number, size: number, crc: number, onConsistent?: (key: string, crc: number) => void): ReadStat {
  const after = fstatSync(fd, { bigint: true });
  const consistent = sameContent(before, after) && BigInt(size) === after.size && !racy(before.ctimeNs, started);
  if (consistent) onConsistent?.(contentKey(after), crc);
  return { size, crc, mtimeMs: timeMs(after.mtimeNs), mode: Number(after.mode) & 0o7777, uid: Number(after.uid), gid: Number(after.gid), consistent };
}

/** Never through a symlink put in a file's place, never waiting on a FIFO: either fails the check below. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Linux only; elsewhere 0. */
const NOATIME: number = (constants as { O_NOATIME?: number }).O_NOATIME ?? 0;

/**
 * Opens a file to read it without moving its access time: a diff must change nothing, and a read
 * moves it (with relatime, the first read after a write does), which atime-based cleaners and mail
 * readers go by. Linux allows O_NOATIME to the file's owner and to root; for anyone else (EPERM),
 * or a file system that refuses it, the file is read as usual.
 */
function openToRead(abs: string): number {
  if (NOATIME !== 0) {
    try {
      return openSync(abs, READ_FLAGS | NOATIME);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EPERM' && code !== 'EINVAL') throw err;
    }
  }
  return openSync(abs, READ_FLAGS);
}

/**
 * Opens a file for reading and checks, on the open file, that it is a regular one. A symlink put
 * in its place since it was listed (to a file the owner of that directory may not read, say) is
 * refused (ELOOP), not followed: its target's content would reach the remotes under its name.
 * With `listed`, the open file must be the one listed: one reached through a directory swapped
 * for a symlink since then (node cannot open a file relative to a directory it holds open) is
 * another file, and so is one replaced at its path. Either is read in the next pass, if the
 * verification's look (which never goes through a symlinked directory) still finds it.
 */
export function openRegular(abs: string, listed?: ListedFile): { fd: number; before: BigIntStats } {
  const fd = openToRead(abs);
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    if (listed && !sameFile(listed, before)) throw Object.assign(new Error('another file than the one listed is at this path now'), { code: CHANGED });
    return { fd, before };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Reads a small master file whole into `into` (room for one byte past its listed size: a file
 * that grew is inconsistent, it waits for the next pass, when its new size is listed), under the
 * same check as a streamed read. The content is a view of `into`.
 */
export function readWholeFile(
  abs: string,
  listedSize: number,
  into: Buffer,
  listed?: ListedFile,
  onConsistent?: (key: string, crc: number) => void,
): { content: Buffer; stat: ReadStat } {
  const started = Date.now();
  const { fd, before } = openRegular(abs, listed);
  try {
    // One read: a regular file gives all that was asked unless it ends first.
    const size = readSync(fd, into, 0, listedSize + 1, null);
    const content = into.subarray(0, size);
    const stat = checkRead(fd, before, started, size, crc32(content, 0), onConsistent);
    if (size > listedSize) stat.consistent = false;
    return { content, stat };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a master file in fresh chunks (a chunk may still be queued on a channel when the next is
 * read) and checks, at the end, that it did not change while it was read.
 */
export function openReader(abs: string, listed?: ListedFile, onConsistent?: (key: string, crc: number) => void): FileReader {
  const started = Date.now();
  const { fd, before } = openRegular(abs, listed);
  const expected = Number(before.size);
  let crc = 0;
  let size = 0;
  let closed = false;
  let stat: ReadStat | undefined;
  const close = (): void => {
    if (closed) return;
    closed = true;
    closeSync(fd);
  };
  return {
    async *chunks() {
      try {
        for (;;) {
          // One byte more than expected, to notice a file that grew.
          const want = Math.min(CHUNK, Math.max(1, expected - size + 1));
          const buf = Buffer.allocUnsafe(want);
          const n = readSync(fd, buf, 0, want, null);
          if (n === 0) break;
          const chunk = n === want ? buf : buf.subarray(0, n);
          crc = crc32(chunk, crc);
          size += n;
          yield chunk;
          // A short read is the end of the file; one past the listed size means it grew (inconsistent).
          if (n < want || size > expected) break;
        }
        stat = checkRead(fd, before, started, size, crc, onConsistent);
      } finally {
        close();
      }
    },
    async result() {
      if (!stat) throw new Error('file was not read to its end');
      return stat;
    },
    async cancel() {
      close();
    },
  };
}

/** Names a temp file; `seq` keeps names unique within a run, `runTag` across runs. */
export function tempName(runTag: string, seq: number): string {
  return `.replisync-${runTag}-${seq.toString(36)}.tmp`;
}

/** A staged temp file as written: the CRC of its content, its owner as created and the attributes it has already. */
export interface StagedInfo {
  crc: number;
  /** Which file it is (fileIdentity): what is renamed into place must be this one, not one put at the temp's name meanwhile. */
  identity: string;
  uid: number;
  gid: number;
  mode: number;
  /** Set when the wanted mtime was given. */
  mtimeMs?: number;
}

/**
 * The mode a temp file is created with: the wanted one when it lets the owner read and write
 * (a flush opens it anew to read) and has no set-ID or sticky bit (a chown at commit clears
 * those: the commit sets them); else private until the commit sets its mode.
 */
function creationMode(wanted: number | undefined): number {
  return wanted !== undefined && (wanted & 0o600) === 0o600 && (wanted & ~0o777) === 0 ? wanted : 0o600;
}

/**
 * Writes new content to a temp file `tempRel` (created exclusively), CRC computed on the way;
 * `attrs` given to it while open (the commit then need not set them by path); what it is, told at the end.
 */
export function openStagedWriter(
  root: string,
  tempRel: string,
  on: { finished(staged: StagedFile, info: StagedInfo): void; aborted(): void },
  attrs?: StagedAttrs,
): FileWriter {
  const abs = underRoot(root, tempRel);
  const fd = openSync(abs, 'wx', creationMode(attrs?.mode));
  let crc = 0;
  let size = 0;
  let open = true;
  const close = (): void => {
    if (open) {
      open = false;
      closeSync(fd);
    }
  };
  return {
    async write(chunk) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    },
    async finish(): Promise<StagedFile> {
      if (attrs?.mtimeMs !== undefined) futimesSync(fd, Date.now() / 1000, fileTime(attrs.mtimeMs));
      // Who owns it now and its mode (the umask may have taken bits): the commit sets only what differs.
      const st = fstatSync(fd, { bigint: true });
      close();
      const staged = { temp: tempRel, size, crc };
      on.finished(staged, { crc, identity: fileIdentity(st), uid: Number(st.uid), gid: Number(st.gid), mode: Number(st.mode) & 0o7777, mtimeMs: attrs?.mtimeMs });
      return staged;
    },
    async abort() {
      try {
        close();
      } finally {
        try {
          unlinkSync(abs);
        } catch {
          // already gone
        }
        on.aborted();
      }
    },
  };
}
