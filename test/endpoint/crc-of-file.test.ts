import test from 'ava';
import { execFileSync } from 'node:child_process';
import { appendFileSync, lstatSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import CRC32 from 'crc-32';
import { CHUNK, crcOfFile, openReader, readWholeFile } from '../../src/endpoint/local/file-io.js';
import { type ListedFile, listedFile } from '../../src/endpoint/local/stat-key.js';
import { tempDir } from '../helpers/tree.js';

const buf = Buffer.alloc(CHUNK);
const crcOf = (data: Buffer): number => CRC32.buf(data) >>> 0;

function listed(abs: string, content: Buffer): ListedFile {
  writeFileSync(abs, content);
  return listedFile(lstatSync(abs, { bigint: true }));
}

test('the CRC of a file as listed, several chunks long or empty; racy only when it changed just before the read', (t) => {
  const dir = tempDir('crc-');
  const big = Buffer.alloc(CHUNK * 2 + 17, 'ab');
  const file = listed(nodePath.join(dir, 'big'), big);
  t.deepEqual(crcOfFile(nodePath.join(dir, 'big'), buf, file), { crc: crcOf(big), racy: true }, 'written a moment ago');
  t.deepEqual(crcOfFile(nodePath.join(dir, 'big'), buf, { ...file, ctimeNs: file.ctimeNs - 60_000_000_000n }), { crc: crcOf(big), racy: false });
  const empty = listed(nodePath.join(dir, 'empty'), Buffer.alloc(0));
  t.is(crcOfFile(nodePath.join(dir, 'empty'), buf, empty)?.crc, 0);
  rmSync(dir, { recursive: true });
});

test('a file that grew or shrank since it was listed gives no CRC', (t) => {
  const dir = tempDir('crc-');
  const abs = nodePath.join(dir, 'f');
  const file = listed(abs, Buffer.from('hello'));
  appendFileSync(abs, '!');
  t.is(crcOfFile(abs, buf, file), undefined, 'grew');
  truncateSync(abs, 2);
  t.is(crcOfFile(abs, buf, file), undefined, 'shrank');
  rmSync(dir, { recursive: true });
});

test('what took the place of a listed file since is not followed, nor waited on', (t) => {
  const dir = tempDir('crc-');
  const abs = nodePath.join(dir, 'f');
  const file = listed(abs, Buffer.from('hello'));
  writeFileSync(nodePath.join(dir, 'other'), 'hello');
  rmSync(abs);
  symlinkSync('other', abs);
  t.throws(() => crcOfFile(abs, buf, file), { code: 'ELOOP' }, 'a symlink');
  rmSync(abs);
  execFileSync('mkfifo', [abs]);
  t.is(crcOfFile(abs, buf, file), undefined, 'a FIFO without a writer reads as empty');
  rmSync(abs);
  mkdirSync(abs);
  t.throws(() => crcOfFile(abs, buf, file), { code: 'EISDIR' }, 'a directory');
  rmSync(dir, { recursive: true });
});

test('a master read (whole or streamed) refuses what took the place of a file: a symlink is not followed, a FIFO not waited on', async (t) => {
  const dir = tempDir('read-');
  const abs = nodePath.join(dir, 'f');
  // A secret the link's maker could not read: it must never be sent under the file's name.
  writeFileSync(nodePath.join(dir, 'secret'), 'not yours');
  symlinkSync('secret', abs);
  t.throws(() => readWholeFile(abs, 9, Buffer.alloc(10)), { code: 'ELOOP' }, 'whole read of a symlink');
  t.throws(() => openReader(abs), { code: 'ELOOP' }, 'streamed read of a symlink');
  rmSync(abs);
  execFileSync('mkfifo', [abs]);
  t.throws(() => readWholeFile(abs, 9, Buffer.alloc(10)), { code: 'EISDIR', message: 'not a regular file' }, 'a FIFO');
  t.throws(() => openReader(abs), { code: 'EISDIR', message: 'not a regular file' }, 'a FIFO, streamed');
  rmSync(abs);
  writeFileSync(abs, 'content');
  t.is(readWholeFile(abs, 7, Buffer.alloc(8)).content.toString(), 'content');
  const chunks: Buffer[] = [];
  for await (const c of openReader(abs).chunks()) chunks.push(c);
  t.is(Buffer.concat(chunks).toString(), 'content');
  rmSync(dir, { recursive: true });
});
