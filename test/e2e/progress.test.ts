import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { BIN, cleanup, makeTree, runCli, tempDir } from '../helpers/tree.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI with stderr on a terminal (script(1) gives it one) and stdout to a file; what the terminal showed, and stdout. */
function onTerminal(args: string[], stdoutFile: string): Promise<{ terminal: string; stdout: string }> {
  const command = `${[process.execPath, BIN, ...args].map(quote).join(' ')} > ${quote(stdoutFile)}`;
  return new Promise((resolve, reject) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, COLUMNS: '120' } }, (err, terminal) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ terminal, stdout: readFileSync(stdoutFile, 'utf8') });
    });
  });
}

test('progress bars go to stderr on a terminal (one transfer bar a pass, with rate and ETA), never to stdout nor to a pipe', async (t) => {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const master = nodePath.join(dir, 'master');
  const spec: Record<string, string> = {};
  for (let i = 0; i < 40; i++) spec[`d${i % 4}/f${i}`] = 'x'.repeat(1000 + i);
  await makeTree(master, spec);
  const out = nodePath.join(dir, 'stdout');

  const shown = await onTerminal(['sync', master, nodePath.join(dir, 'r1')], out);
  t.regex(shown.terminal, /listing: \d of 2 endpoints listed/);
  t.regex(shown.terminal, /pass 1: transfer, block d\d \[.*\] \d+% [\d.]+ KiB\/[\d.]+ KiB [\d.]+ \S+\/s ETA (\d+s|--)/);
  t.regex(shown.stdout, /^remote .*r1\n/);
  t.notRegex(shown.stdout, /transfer|\u001b/, 'nothing of the bars on stdout');

  const piped = await runCli(['sync', master, nodePath.join(dir, 'r2')]);
  t.is(piped.code, 0);
  t.is(piped.stderr, '', 'stderr is no terminal: no bars');
  // Asked for where stderr is no terminal (a log file): lines instead of a bar redrawn in place.
  const logged = await runCli(['sync', '--progress', master, nodePath.join(dir, 'r4')]);
  t.is(logged.code, 0);
  t.regex(logged.stderr, /^listing/m);
  t.regex(logged.stderr, /^pass 1: transfer.* 100% /m);
  t.notRegex(logged.stderr, /\r|\u001b/, 'no cursor movement');

  const off = await onTerminal(['sync', '--no-progress', master, nodePath.join(dir, 'r3')], out);
  t.notRegex(off.terminal, /transfer|listing/);

  writeFileSync(nodePath.join(master, 'd0/f0'), 'changed');
  const json = await onTerminal(['sync', '--format', 'json', master, nodePath.join(dir, 'r1')], out);
  t.notRegex(json.terminal, /transfer|listing/);
  t.is(JSON.parse(json.stdout).remotes[0].actions[0].path, 'd0/f0');
});
