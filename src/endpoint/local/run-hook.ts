import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { HookResult } from '../endpoint.js';
import { reasonOf } from '../errors.js';

const run = promisify(execFile);

/** Runs a block's hook with `sh -c` in `cwd`: its exit code and its output (stdout, then stderr). */
export async function runHookIn(cwd: string, command: string): Promise<HookResult> {
  try {
    const { stdout, stderr } = await run('/bin/sh', ['-c', command], { cwd, maxBuffer: 4 * 1024 * 1024 });
    return { code: 0, output: `${stdout}${stderr}`.trim() };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
    // A command that could not be started at all has no output: the reason stands in for it.
    return typeof e.code === 'number' ? { code: e.code, output } : { code: 127, output: output || reasonOf(err) };
  }
}
