import { setImmediate as immediate } from 'node:timers/promises';

/**
 * The local endpoint calls the file system synchronously: for many small files a synchronous
 * lstat or open costs a few microseconds where the promise API costs tens (thread-pool hand-off,
 * FileHandle objects, GC). It lets the event loop breathe every so often, so that SSH channels
 * and other endpoints in the same process keep moving. The count is kept without a promise per
 * call (an await per file was a tenth of a listing's time): `if (breather.tick()) await breathe();`.
 */
export class Breather {
  private ops = 0;

  constructor(private readonly every = 512) {}

  /** Counts n operations; true when it is time to let the event loop run. */
  tick(n = 1): boolean {
    this.ops += n;
    if (this.ops < this.every) return false;
    this.ops = 0;
    return true;
  }
}

export function breathe(): Promise<void> {
  return immediate();
}
