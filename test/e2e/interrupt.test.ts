import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
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
