import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
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

test('memory stays flat whatever the file size: a 600 MiB file goes through with each process under 200 MiB', async (t) => {
  // On disk, not in memory: a tmpfs file would not count in any process, but neither would it
  // prove anything about the disk the remote writes to. The master's file is sparse (no disk).
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), 'replisync-memory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const master = nodePath.join(dir, 'master');
  const remote = nodePath.join(dir, 'remote');
  mkdirSync(master);
  const size = 600 * 1024 * 1024;
  writeFileSync(nodePath.join(master, 'big.bin'), '');
  truncateSync(nodePath.join(master, 'big.bin'), size);
  // Each process (the CLI, and the agent that writes the remote) says its peak resident memory as it exits.
  const peaks = nodePath.join(dir, 'peaks');
  const preload = nodePath.join(dir, 'peak.cjs');
  writeFileSync(preload, `process.on('exit', () => require('node:fs').appendFileSync(${JSON.stringify(peaks)}, process.resourceUsage().maxRSS + '\\n'));`);
  const sync = await runCli(['sync', '-q', master, remote], { timeoutMs: 300_000, env: { NODE_OPTIONS: `--require ${preload}` } });
  t.is(sync.code, 0, sync.stderr);
  t.is(statSync(nodePath.join(remote, 'big.bin')).size, size);
  const mib = readFileSync(peaks, 'utf8').trim().split('\n').map((kb) => Math.round(Number(kb) / 1024));
  t.is(mib.length, 2, 'the CLI and one agent');
  for (const peak of mib) t.true(peak < 200, `peak ${peak} MiB for a ${size / 1024 / 1024} MiB file`);
  t.log(`peaks: ${mib.join(', ')} MiB`);
});
