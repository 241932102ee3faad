import { setImmediate as immediate } from 'node:timers/promises';

/**
 * The local endpoint calls the file system synchronously: for many small files a synchronous
 * lstat or open costs a few microseconds where the promise API costs tens (thread-pool hand-off,
 * FileHandle objects, GC). It lets the event loop breathe every so often, so that SSH channels
 * and other endpoints in the same process keep moving.
 */
export class Breather {
  private ops = 0;

  constructor(private readonly every = 512) {}

  async tick(n = 1): Promise<void> {
    this.ops += n;
    if (this.ops >= this.every) {
      this.ops = 0;
      await immediate();
    }
  }
}
