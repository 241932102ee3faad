import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync, lstatSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { BIN, comparable, setupMaster, snapshot } from '../helpers/tree.js';

/** Runs the CLI (and so its agents) under `umask`, which takes bits from every file they create. */
function runUnderUmask(umask: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, BIN, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

const MODES: Record<string, number> = {
  plain: 0o644,
  'group-write': 0o664,
  private: 0o600,
  'read-only': 0o444,
  'owner-read-only': 0o400,
  script: 0o755,
  open: 0o777,
  setuid: 0o4755,
  setgid: 0o2750,
  sticky: 0o1644,
  'large-group-write': 0o664,
};

async function masterWithModes(t: { teardown(fn: () => void): void }) {
  const setup = await setupMaster(t, Object.fromEntries(Object.keys(MODES).map((name) => [name, `content of ${name}`])));
  // Above the size of files sent in batches: streamed on its own.
  writeFileSync(nodePath.join(setup.master, 'large-group-write'), Buffer.alloc(200_000, 7));
  for (const [name, mode] of Object.entries(MODES)) chmodSync(nodePath.join(setup.master, name), mode);
  return setup;
}

const modeOf = (root: string, name: string) => lstatSync(nodePath.join(root, name)).mode & 0o7777;

test('new files get the master mode whatever the umask takes, and its mtime; a second run changes nothing', async (t) => {
  const { master, remote } = await masterWithModes(t);
  const first = await runUnderUmask('027', ['sync', master, remote(), '--format', 'json']);
  t.is(first.code, 0, first.stderr);
  t.is(JSON.parse(first.stdout).remotes[0].passes, 1);
  for (const [name, mode] of Object.entries(MODES)) t.is(modeOf(remote(), name), mode, name);
  t.deepEqual(comparable(snapshot(remote())), comparable(snapshot(master)));
  const again = await runUnderUmask('027', ['diff', master, remote()]);
  t.is(again.code, 0, again.stdout);
});

test('--attrs without mode leaves new files the mode the umask gives; without mtime, the time they were written', async (t) => {
  const { master, remote } = await masterWithModes(t);
  const noMode = await runUnderUmask('027', ['sync', master, remote(1), '--attrs', 'mtime']);
  t.is(noMode.code, 0, noMode.stderr);
  for (const [name, mode] of Object.entries(MODES)) t.is(modeOf(remote(1), name), mode & ~0o027, name);
  t.is(lstatSync(nodePath.join(remote(1), 'plain')).mtimeMs, lstatSync(nodePath.join(master, 'plain')).mtimeMs);

  const started = Date.now();
  const noMtime = await runUnderUmask('022', ['sync', master, remote(2), '--attrs', 'mode']);
  t.is(noMtime.code, 0, noMtime.stderr);
  for (const [name, mode] of Object.entries(MODES)) t.is(modeOf(remote(2), name), mode, name);
  for (const name of ['plain', 'large-group-write']) t.true(lstatSync(nodePath.join(remote(2), name)).mtimeMs >= started - 1000, name);
});
