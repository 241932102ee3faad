import { Socket } from 'node:net';
import type { Writable } from 'node:stream';

/** Bytes queued on the stream before writers wait for it to drain. */
const QUEUE_LIMIT = 1024 * 1024;
/** Frames up to this size are gathered and sent together; larger ones go out as they are. */
export const GATHER_BELOW = 64 * 1024;

/**
 * Writes frames to a stream, both directions of the protocol alike. Small frames written in one
 * tick are joined into one buffer: one system call on a pipe, one packet (one encryption) on an
 * SSH channel, instead of one per request. A writer waits only when a megabyte is already queued,
 * all waiters on one drain.
 */
export class FrameWriter {
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private scheduled = false;
  private drained: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly output: Writable) {}

  private flush = (): void => {
    this.scheduled = false;
    if (this.gathered.length === 0) return;
    const buf = this.gathered.length === 1 ? this.gathered[0]! : Buffer.concat(this.gathered, this.gatheredBytes);
    this.gathered = [];
    this.gatheredBytes = 0;
    this.put(buf);
  };

  /** A stream that was ended or destroyed meanwhile takes nothing more: the connection is gone. */
  private put(buf: Buffer): void {
    if (!this.output.writableEnded && !this.output.destroyed) this.output.write(buf);
  }

  /**
   * Queues a frame. One given in parts (header, then payload pieces): a socket takes them as they
   * are (one writev, nothing copied); other streams get them joined (an SSH channel makes a packet
   * of each write).
   */
  async write(frame: Buffer | readonly Buffer[]): Promise<void> {
    if (!Buffer.isBuffer(frame)) {
      this.flush();
      if (this.output instanceof Socket) {
        this.output.cork();
        for (const part of frame) this.put(part);
        this.output.uncork();
      } else this.put(Buffer.concat(frame));
    } else if (frame.length >= GATHER_BELOW) {
      this.flush();
      this.put(frame);
    } else {
      this.gathered.push(frame);
      this.gatheredBytes += frame.length;
      if (this.gatheredBytes >= GATHER_BELOW) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(this.flush);
      }
    }
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
