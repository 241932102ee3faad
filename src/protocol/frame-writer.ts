import type { Writable } from 'node:stream';

/** Bytes queued on the stream before writers wait for it to drain. */
const QUEUE_LIMIT = 1024 * 1024;

/**
 * Writes frames to a stream, both directions of the protocol alike. Frames written in one tick
 * go out in one write (many small requests, one system call); a writer waits only when a megabyte
 * is already queued, all waiters on one drain.
 */
export class FrameWriter {
  private corked = false;
  private drained: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly output: Writable) {}

  async write(frame: Buffer): Promise<void> {
    if (!this.corked) {
      this.corked = true;
      this.output.cork();
      process.nextTick(() => {
        this.corked = false;
        this.output.uncork();
      });
    }
    this.output.write(frame);
    // Only a stream that owes a 'drain' is waited on (a channel whose high water mark is above our limit owes none).
    if (this.output.writableNeedDrain && this.output.writableLength > QUEUE_LIMIT) {
      this.drained ??= new Promise<void>((resolve) => {
        const done = (): void => {
          this.output.off('drain', done);
          this.output.off('close', done);
          this.drained = undefined;
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        this.output.on('drain', done);
        this.output.on('close', done);
      });
      await this.drained;
    }
  }

  /** Releases writers waiting for a drain that will never come (the connection is gone). */
  release(): void {
    this.wake?.();
  }
}
