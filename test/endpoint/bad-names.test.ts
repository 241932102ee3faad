import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { showBytes, undecodableNames } from '../../src/endpoint/local/bad-names.js';
import { tempDir } from '../helpers/tree.js';

const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

test('names shown as valid UTF-8 where they are, \\xHH for every other byte', (t) => {
  t.is(showBytes(bytes('caf', [0xe9], '.txt')), 'caf\\xe9.txt');
  t.is(showBytes(bytes('ok€😀')), 'ok€😀');
  t.is(showBytes(bytes([0xc0, 0xaf], 'x')), '\\xc0\\xafx', 'an overlong slash');
  t.is(showBytes(bytes('a', [0xe2, 0x82])), 'a\\xe2\\x82', 'cut short');
  t.is(showBytes(bytes([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80', 'a surrogate');
});

test('only the names that are not valid UTF-8 are found, by the name node gives them', (t) => {
  const dir = tempDir('bad-names-');
  writeFileSync(nodePath.join(dir, 'plain'), '');
  writeFileSync(nodePath.join(dir, 'real \uFFFD replacement char'), '');
  writeFileSync(Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9])]), '');
  mkdirSync(Buffer.concat([Buffer.from(`${dir}/d`), Buffer.from([0xff])]));
  t.deepEqual([...undecodableNames(dir)].sort(), [
    ['caf\uFFFD', 'caf\\xe9'],
    ['d\uFFFD', 'd\\xff'],
  ]);
});
