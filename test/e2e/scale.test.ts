import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { runCli } from '../helpers/tree.js';

// Memory-backed when available: this test is about listing sizes, not about the disk.
const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

test('a tree of 100,000 files is listed, synced and re-checked (also through an agent)', async (t) => {
  const dir = mkdtempSync(nodePath.join(base, 'replisync-scale-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const master = nodePath.join(dir, 'master');
  for (let d = 0; d < 100; d++) {
    for (let s = 0; s < 10; s++) {
      const sub = nodePath.join(master, `d${d}`, `s${s}`);
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(nodePath.join(sub, `f${f}`), `${d}/${s}/${f}`);
    }
  }
  const remote = nodePath.join(dir, 'remote');
  const diff = await runCli(['diff', master, remote, '--format', 'json'], { timeoutMs: 300_000 });
  t.is(diff.code, 1, diff.stderr);
  t.is(JSON.parse(diff.stdout).remotes[0].summary.copied, 100_000);
  const sync = await runCli(['sync', '-q', master, remote], { timeoutMs: 300_000 });
  t.is(sync.code, 0, sync.stderr);
  const again = await runCli(['diff', '--no-cache', master, remote], { timeoutMs: 300_000 });
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /0 copied \(0 B\), 0 deleted, 0 attributes fixed, 0 inconsistent/);
});
