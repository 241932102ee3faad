import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, utimesSync } from 'node:fs';
import * as nodePath from 'node:path';
import { comparable, runCli, setupMaster, snapshot } from '../helpers/tree.js';

test('file and directory times before 1970 and far ahead are replicated; a second run changes nothing', async (t) => {
  const { master, remote: remoteOf } = await setupMaster(t, { 'old-dir/1960': 'a', '2200': 'b' });
  const remote = remoteOf();
  // node's utimes takes a negative number for "now": Dates say what is meant.
  utimesSync(nodePath.join(master, 'old-dir/1960'), new Date(-301_060_799_877), new Date(-301_060_799_877));
  utimesSync(nodePath.join(master, '2200'), new Date(7_258_118_400_000), new Date(7_258_118_400_000));
  utimesSync(nodePath.join(master, 'old-dir'), new Date(-631_152_000_000), new Date(-631_152_000_000));

  const first = await runCli(['sync', master, remote]);
  t.is(first.code, 0, first.stderr + first.stdout);
  t.deepEqual(comparable(snapshot(remote)), comparable(snapshot(master)));
  const again = await runCli(['sync', master, remote]);
  t.is(again.code, 0);
  t.regex(again.stdout, /0 copied \(0 B\), 0 deleted, 0 attributes fixed, 0 inconsistent/);
});

test('times are replicated to the microsecond (what node can set), before 1970 too; the root as well; a second run changes nothing', async (t) => {
  const { master, remote: remoteOf } = await setupMaster(t, { 'd/f': 'a', old: 'b', 'd/l': '-> f' });
  const remote = remoteOf();
  // touch sets nanoseconds, which node cannot: these are the times a replica must come close to.
  const times: Record<string, string> = { 'd/f': '1764662304.018930356', 'd/l': '1764662304.999999999', old: '-86399.9999985', d: '1.0000005', '': '1764662304.123456789' };
  for (const [p, time] of Object.entries(times)) execFileSync('touch', ['-h', '-d', `@${time}`, nodePath.join(master, p)]);
  const first = await runCli(['sync', master, remote]);
  t.is(first.code, 0, first.stderr + first.stdout);
  const micros = (root: string, p: string): bigint => {
    const ns = lstatSync(nodePath.join(root, p), { bigint: true }).mtimeNs;
    return ns >= 0n ? ns / 1000n : (ns - 999n) / 1000n;
  };
  for (const p of Object.keys(times)) t.is(micros(remote, p), micros(master, p), `${p || 'the root'} to the microsecond`);
  const again = await runCli(['sync', master, remote]);
  t.is(again.code, 0);
  t.regex(again.stdout, /0 copied \(0 B\), 0 deleted, 0 attributes fixed, 0 inconsistent/);
});
