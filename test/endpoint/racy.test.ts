import test from 'ava';
import { racy } from '../../src/endpoint/local/file-io.js';

const at = (ms: number, ns = 123_456n): bigint => BigInt(ms) * 1_000_000n + ns;

test('a file changed within a clock tick before its read began proves nothing; older changes do', (t) => {
  const start = 1_800_000_000_000;
  t.true(racy(at(start - 5), start));
  t.true(racy(at(start), start));
  t.false(racy(at(start - 50), start));
});

test('whole-second file times widen the window; a ctime from a clock far ahead is no tick to reason about', (t) => {
  const start = 1_800_000_000_500;
  t.true(racy(at(1_800_000_000_000, 0n), start), 'stored in whole seconds: changed in this second');
  t.false(racy(at(1_799_999_995_000, 0n), start), 'stored in whole seconds: changed seconds ago');
  t.false(racy(at(start + 60_000), start), 'a file server a minute ahead');
});
