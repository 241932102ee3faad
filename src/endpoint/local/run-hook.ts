import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { HookEnv, HookResult } from '../endpoint.js';
import { reasonOf } from '../errors.js';

const run = promisify(execFile);

/**
 * Runs a block's hook with `sh -c` in `cwd`: its exit code and its output (stdout, then stderr).
 * Its standard input is empty: a command that reads it (ssh, cat, a prompt) must not wait forever.
 */
export async function runHookIn(cwd: string, command: string, env: HookEnv): Promise<HookResult> {
  try {
    const running = run('/bin/sh', ['-c', command], { cwd, env: { ...process.env, ...env }, maxBuffer: 4 * 1024 * 1024 });
    running.child.stdin?.end();
    const { stdout, stderr } = await running;
    return { code: 0, output: `${stdout}${stderr}`.trim() };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
    // A command that could not be started at all has no output: the reason stands in for it.
    return typeof e.code === 'number' ? { code: e.code, output } : { code: 127, output: output || reasonOf(err) };
  }
}
