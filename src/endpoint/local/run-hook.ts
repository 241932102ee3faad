import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { HookEnv, HookResult } from '../endpoint.js';
import { reasonOf } from '../errors.js';

/** What is kept of each of a hook's outputs: its end, where the reason for a failure is. */
const KEPT_BYTES = 64 * 1024;

/** The last `KEPT_BYTES` of a stream: a hook may print as much as it likes (a build, say) without being cut off. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= KEPT_BYTES) {
      this.size -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    const kept = all.length > KEPT_BYTES ? all.subarray(all.length - KEPT_BYTES) : all;
    return `${this.dropped || kept !== all ? '[...] ' : ''}${kept.toString('utf8')}`;
  }
}

/**
 * Runs a block's hook with `sh -c` in `cwd`: its exit code (128 + the signal that killed it) and
 * its output (stdout, then stderr). Its standard input is empty: a command that reads it (ssh,
 * cat, a prompt) must not wait forever. `stop` ends it, with all it started (its process group:
 * a run that stops leaves no hook behind).
 */
export function runHookIn(cwd: string, command: string, env: HookEnv, stop: AbortSignal): Promise<HookResult> {
  if (stop.aborted) return Promise.resolve({ code: 128 + constants.signals.SIGTERM, output: 'not run: the run is stopping' });
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const kill = (): void => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    stop.addEventListener('abort', kill, { once: true });
    child.on('close', () => stop.removeEventListener('abort', kill));
    const stdout = new OutputTail();
    const stderr = new OutputTail();
    child.stdout.on('data', (d: Buffer) => stdout.add(d));
    child.stderr.on('data', (d: Buffer) => stderr.add(d));
    // A command that could not be started at all has no output: the reason stands in for it.
    child.on('error', (err) => resolve({ code: 127, output: reasonOf(err) }));
    child.on('close', (code, signal) => {
      const output = `${stdout.text()}${stderr.text()}`.trim();
      resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), output });
    });
  });
}
