import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { errnoCode, movedAway } from '../errors.js';
import { resolveInside } from './safe-path.js';

/** Up to this many files, each is flushed on its own rather than the whole file system. */
const FSYNC_EACH_UP_TO = 32;

/**
 * Makes new files under a root durable: an fdatasync each, or for many of them `sync -f ROOT`
 * (syncfs: everything written on the root's file system made durable) on demand.
 * Node cannot call syncfs, and forking a node process for every block costs milliseconds, so one
 * small shell stays up and runs it for each request. The root is passed as an argument, never
 * inside the script.
 */
export class FsSync {
  private shell: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting: ((ok: boolean) => void)[] = [];
  private broken = false;

  constructor(private readonly root: string) {}

  private start(): ChildProcessWithoutNullStreams {
    const sh = spawn('/bin/sh', ['-c', 'while read -r _; do sync -f "$1" >/dev/null 2>&1; echo $?; done', 'sh', this.root], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const settleAll = (): void => {
      this.broken = true;
      this.shell = undefined;
      for (const w of this.waiting.splice(0)) w(false);
    };
    sh.on('error', settleAll);
    sh.on('exit', settleAll);
    sh.stdin.on('error', settleAll);
    createInterface({ input: sh.stdout }).on('line', (line) => this.waiting.shift()?.(line.trim() === '0'));
    return sh;
  }

  /** True when the file system was synced; false when syncfs is not available here. */
  run(): Promise<boolean> {
    if (this.broken) return Promise.resolve(false);
    this.shell ??= this.start();
    const shell = this.shell;
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      shell.stdin.write('\n');
    });
  }

  /**
   * Makes the files (paths relative to the root) durable. A few: an fdatasync each. Many: one syncfs of the
   * whole file system costs far less; without syncfs here, one fdatasync each after all.
   * `failed` names the file that could not be flushed.
   */
  async flushFiles(files: string[], failed: (file: string, err: unknown) => never): Promise<void> {
    if (files.length === 0) return;
    if (files.length > FSYNC_EACH_UP_TO && (await this.run())) return;
    for (const file of files) {
      try {
        const fd = openSync(resolveInside(this.root, file), 'r');
        try {
          fdatasyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } catch (err) {
        // Gone with its directory, which another process removed: its commit finds so, and the next pass looks again.
        if (movedAway(errnoCode(err))) continue;
        failed(file, err);
      }
    }
  }

  close(): void {
    this.shell?.stdin.end();
    this.shell = undefined;
  }
}
