import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = nodePath.join(REPO, 'bin/replisync.js');

export function tempDir(prefix = 'replisync-test-'): string {
  return mkdtempSync(nodePath.join(os.tmpdir(), prefix));
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A tree by example: "dir/" a directory, "name -> target" a symlink, anything else a file with that content. */
export async function makeTree(root: string, spec: Record<string, string>, mtime = 1_700_000_000): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [path, content] of Object.entries(spec)) {
    const abs = nodePath.join(root, path);
    if (path.endsWith('/')) {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await mkdir(nodePath.dirname(abs), { recursive: true });
    if (content.startsWith('-> ')) await symlink(content.slice(3), abs);
    else {
      await writeFile(abs, content);
      await utimes(abs, mtime, mtime);
    }
  }
}

export interface Snap {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  sha?: string;
  target?: string;
  ino: number;
}

/** Everything about a tree that a sync may touch, keyed by relative path. */
export function snapshot(root: string, opts: { withRoot?: boolean } = {}): Map<string, Snap> {
  const out = new Map<string, Snap>();
  const visit = (rel: string): void => {
    const abs = rel ? nodePath.join(root, rel) : root;
    const st = lstatSync(abs, { bigint: true });
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    if (rel || opts.withRoot) {
      out.set(rel || '.', {
        type,
        mode: Number(st.mode) & 0o7777,
        uid: Number(st.uid),
        gid: Number(st.gid),
        // replisync compares mtimes to the millisecond (rounded down); times.test checks the microseconds it sets.
        mtimeMs: Math.floor(Number(st.mtimeNs >= 0n ? st.mtimeNs / 1000n : (st.mtimeNs - 999n) / 1000n) / 1000),
        size: type === 'file' ? Number(st.size) : 0,
        sha: type === 'file' ? createHash('sha1').update(readFileSync(abs)).digest('hex') : undefined,
        target: type === 'symlink' ? readlinkSync(abs) : undefined,
        ino: Number(st.ino),
      });
    }
    if (type === 'dir') for (const name of readdirSync(abs).sort()) visit(rel ? `${rel}/${name}` : name);
  };
  visit('');
  return out;
}

/** The same snapshot without inode numbers, and with hard-link groups named by their first path. */
export function comparable(snap: Map<string, Snap>): Record<string, Omit<Snap, 'ino'> & { linkedTo?: string }> {
  const first = new Map<number, string>();
  const out: Record<string, Omit<Snap, 'ino'> & { linkedTo?: string }> = {};
  for (const [path, s] of snap) {
    const { ino, ...rest } = s;
    let linkedTo: string | undefined;
    if (s.type === 'file') {
      if (first.has(ino)) linkedTo = first.get(ino);
      else first.set(ino, path);
    }
    out[path] = linkedTo ? { ...rest, linkedTo } : rest;
  }
  return out;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How long a test waits for a run it started, below ava's 2-minute inactivity timeout: a run
 * that never ends then fails its test by name instead of leaving the suite "pending after a timeout".
 */
const RUN_LIMIT_MS = 100_000;

/** For a test that starts a run in the background and waits for it: bounds the test (see RUN_LIMIT_MS). */
export function boundRuns(t: { timeout(ms: number, message?: string): void }): void {
  t.timeout(RUN_LIMIT_MS, 'a run it started did not end');
}

/**
 * Runs the CLI; `input` is written to its stdin, which is then closed. `asUser`: as the user
 * nobody when the suite runs as root (who may write anywhere), else as this user.
 */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; asUser?: boolean } = {}): Promise<CliResult> {
  const [cmd, argv] = options.asUser && process.getuid?.() === 0 ? ['runuser', ['-u', 'nobody', '--', process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      argv,
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? RUN_LIMIT_MS },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** A master made from `spec` in a temp directory removed after the test, and the paths of its remotes there. */
export async function setupMaster(t: { teardown(fn: () => void): void }, spec: Record<string, string>) {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  const master = nodePath.join(dir, 'master');
  await makeTree(master, spec);
  return { dir, master, remote: (n = 1) => nodePath.join(dir, `remote${n}`) };
}

/** Trees `a` and `b` hold the same entries, as replisync compares them. */
export function assertSameTree(t: { deepEqual(a: unknown, b: unknown, m?: string): void }, a: string, b: string): void {
  t.deepEqual(comparable(snapshot(b)), comparable(snapshot(a)), `${b} differs from ${a}`);
}
