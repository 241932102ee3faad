import test from 'ava';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { timeGranularityMs, timeStepOf } from '../../src/endpoint/local/time-granularity.js';

test('the step of file times: two seconds on FAT, whole seconds, hundredths (exFAT), else the millisecond', (t) => {
  const FAT = 0x4d44;
  const EXT = 0xef53;
  t.is(timeStepOf(1_700_000_000_123_456_789n, FAT), 2000);
  t.is(timeStepOf(1_700_000_000_000_000_000n, EXT), 1000);
  t.is(timeStepOf(1_700_000_000_000_000_000n, undefined), 1000);
  t.is(timeStepOf(1_700_000_000_120_000_000n, 0x2011bab0), 10);
  t.is(timeStepOf(1_700_000_000_123_456_789n, EXT), 1);
  t.is(timeStepOf(1_700_000_000_123_000_000n, EXT), 1);
  t.is(timeStepOf(-86_400_000_000_000n, EXT), 1000);
});

test("a directory on a fine-grained file system (this test's temp) has the millisecond step, and one not yet made its parent's", (t) => {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), 'replisync-step-'));
  t.is(timeGranularityMs(dir), 1);
  t.is(timeGranularityMs(nodePath.join(dir, 'not/yet/made')), 1);
});
