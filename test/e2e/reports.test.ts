import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, boundRuns, runCli, setupMaster } from '../helpers/tree.js';

const SAMPLE = { 'README.md': 'read me\n', 'bin/app': 'binary v1', 'bin/run.sh': '#!/bin/sh\necho run\n', 'lib/core.so': 'core library', 'etc/app.conf': 'key=value\n', 'current': '-> releases/v2', 'releases/v2/': '' };
const setup = (t: { teardown(fn: () => void): void }, spec: Record<string, string> = SAMPLE) => setupMaster(t, spec);

test('reports: --report writes JSON, Markdown and HTML; --quiet prints nothing on success', async (t) => {
  const { dir, master, remote } = await setup(t);
  const json = nodePath.join(dir, 'out/report.json');
  const md = nodePath.join(dir, 'report.md');
  const html = nodePath.join(dir, 'report.html');
  t.is((await runCli(['diff', master, remote(), '--report', json])).code, 1);
  t.is(JSON.parse(readFileSync(json, 'utf8')).remotes[0].summary.copied, 5);
  await runCli(['diff', master, remote(), '--report', md]);
  t.regex(readFileSync(md, 'utf8'), /\| copy \| bin\/app \| missing on remote \|/);
  await runCli(['diff', master, remote(), '--report', html]);
  const page = readFileSync(html, 'utf8');
  t.regex(page, /^<!doctype html>/);
  t.regex(page, /<td class="path">bin\/app<\/td>/);
  const synced = nodePath.join(dir, 'synced.md');
  await runCli(['sync', master, remote(3), '--report', synced]);
  t.regex(readFileSync(synced, 'utf8'), /\| block \| pass \| changes \|\n\| --- \| --- \| --- \|\n\| bin \| 1 \| \d+ \|/);
  const quiet = await runCli(['sync', '-q', master, remote()]);
  t.is(quiet.code, 0);
  t.is(quiet.stdout, '');
  const quietJson = await runCli(['sync', '-q', '--format', 'json', master, remote()]);
  t.is(JSON.parse(quietJson.stdout).remotes.length, 1);
});

test('a reader that stops early (| head) is no error: no stack trace, and the exit status stands', async (t) => {
  const spec = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`d/file-${i}.txt`, 'x']));
  const { master, remote } = await setup(t, spec);
  for (const format of ['text', 'json']) {
    boundRuns(t);
    const child = spawn(process.execPath, [BIN, 'diff', master, remote(), '--format', format], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // More than a pipe holds is written; the reader takes the first bytes and goes away.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    t.is(code, 1, stderr);
    t.is(stderr, '', format);
  }
});

test('--log appends one JSON line per run', async (t) => {
  const { dir, master, remote } = await setup(t);
  const log = nodePath.join(dir, 'logs/run.jsonl');
  await runCli(['sync', master, remote(), '--log', log]);
  await runCli(['sync', master, remote(), '--log', log]);
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 2);
  t.is(lines[0].remotes[0].copied, 5);
  t.is(lines[1].remotes[0].copied, 0);
  t.is(lines[1].exitCode, 0);
  t.truthy(lines[0].time);
  // A log named in a config file is relative to that file, wherever the run starts.
  const config = nodePath.join(dir, 'conf/job.json');
  mkdirSync(nodePath.dirname(config));
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [remote()], log: 'logs/job.jsonl' } } }));
  t.is((await runCli(['sync', '--config', config], { cwd: master })).code, 0);
  t.is(readFileSync(nodePath.join(dir, 'conf/logs/job.jsonl'), 'utf8').trim().split('\n').length, 1);
});
