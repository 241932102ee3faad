import test from 'ava';
import { spawn } from 'node:child_process';
import { linkSync, readdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { BIN, boundRuns, cleanup, comparable, makeTree, runCli, snapshot, tempDir } from '../helpers/tree.js';

/** Every `.replisync*` name under `dir`. */
function traces(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => nodePath.basename(p).startsWith('.replisync'));
}

// Ctrl-C signals the whole foreground process group; closing the terminal sends SIGHUP to it.
for (const [signal, how] of [['SIGINT', 'Ctrl-C'], ['SIGHUP', 'the terminal closed']] as const) {
  test(`${how} (${signal} to the whole process group, agents too) mid-sync: exit 2, and the next run finishes the job and leaves no trace`, async (t) => {
    const dir = tempDir();
    t.teardown(() => cleanup(dir));
    const master = nodePath.join(dir, 'master');
    const spec: Record<string, string> = {};
    for (let i = 0; i < 6000; i++) spec[`d${i % 30}/f${i}`] = `content ${i} `.repeat(40);
    await makeTree(master, spec);
    const remotes = [nodePath.join(dir, 'r1'), nodePath.join(dir, 'r2')];

    // Its own process group, as a command run from a terminal: the group is what Ctrl-C signals.
    boundRuns(t);
    const child = spawn(process.execPath, [BIN, 'sync', '-q', master, ...remotes], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', res));
    let staging = false;
    for (let i = 0; i < 2000 && !staging; i++) {
      staging = remotes.some((r) => {
        try {
          return readdirSync(r).length > 3;
        } catch {
          return false;
        }
      });
      if (!staging) await new Promise((res) => setTimeout(res, 5));
    }
    process.kill(-child.pid!, signal);
    const code = await exited;
    t.true(staging, 'the sync was under way when the signal came');
    t.is(code, 2, stderr);
    t.regex(stderr, new RegExp(`${signal}: stopping`));

    const again = await runCli(['sync', '-q', master, ...remotes]);
    t.is(again.code, 0, again.stderr);
    for (const r of remotes) {
      t.deepEqual(traces(r), [], `no lock or temp file left in ${r}`);
      t.deepEqual(comparable(snapshot(r)), comparable(snapshot(master)));
    }
  });
}

/** What a path holds, as far as "old or new" goes: its kind and content (files) or target (symlinks). */
function contents(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, s] of snapshot(root)) if (!nodePath.basename(path).startsWith('.replisync')) out.set(path, `${s.type}:${s.sha ?? s.target ?? ''}`);
  return out;
}

test('a run killed outright (SIGKILL, agents too) at any moment leaves every remote path old or new; the next run removes what it left and finishes the job', async (t) => {
  boundRuns(t);
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const master = nodePath.join(dir, 'master');
  const remote = nodePath.join(dir, 'remote');
  const newSpec: Record<string, string> = {};
  const oldSpec: Record<string, string> = {};
  for (let i = 0; i < 1500; i++) {
    newSpec[`d${i % 15}/f${i}`] = `new ${i} `.repeat(1 + (i % 7) * 300);
    if (i % 3 === 0) oldSpec[`d${i % 15}/f${i}`] = `old ${i} `.repeat(1 + (i % 5) * 300);
    if (i % 50 === 0) oldSpec[`d${i % 15}/f${i}x/`] = ''; // a directory where the master has a file
    if (i % 40 === 0) oldSpec[`gone${i % 4}/f${i}`] = 'only here';
  }
  for (let i = 0; i < 3; i++) newSpec[`big/b${i}`] = `${i}`.repeat(4 * 1024 * 1024);
  for (let i = 0; i < 30; i++) newSpec[`links/l${i}`] = `-> ../d${i % 15}/f${i}`;
  oldSpec['big/b0'] = 'small';
  for (let i = 0; i < 30; i += 2) oldSpec[`links/l${i}`] = '-> elsewhere';
  await makeTree(master, newSpec);
  linkSync(nodePath.join(master, 'd1/f1'), nodePath.join(master, 'd1/hard'));
  const masterContents = contents(master);

  // Killed once it has begun to write (its temp files show), and some moments after: the kills
  // fall in staging and in the commits, however fast this machine is.
  for (const after of [0, 30, 80, 150, 300, 600]) {
    await cleanup(remote);
    await makeTree(remote, oldSpec);
    const before = contents(remote);
    const child = spawn(process.execPath, [BIN, 'sync', '-q', master, remote], { stdio: 'ignore', detached: true });
    let ended = false;
    const exited = new Promise((res) => child.on('exit', res)).then(() => (ended = true));
    while (!ended && traces(remote).length === 0) await new Promise((res) => setTimeout(res, 2));
    await new Promise((res) => setTimeout(res, after));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ended already
    }
    await exited;
    const now = contents(remote);
    t.log(`killed ${after} ms into its writing: ${[...now].filter(([p, c]) => c === masterContents.get(p) && c !== before.get(p)).length} paths new, ${traces(remote).length} temp or lock files`);
    for (const [path, c] of now) {
      if (c.startsWith('dir:')) continue;
      t.true(c === before.get(path) || c === masterContents.get(path), `${path} is old or new after a kill ${after} ms into the writing`);
    }
  }
  const again = await runCli(['sync', '-q', master, remote]);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(traces(remote), [], 'no lock or temp file left');
  t.deepEqual(comparable(snapshot(remote)), comparable(snapshot(master)));
});
