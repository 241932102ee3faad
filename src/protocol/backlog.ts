import type { RequestMessage } from './messages.js';
import { type Frame, MAX_DATA } from './frames.js';

/** Frames read and not yet served: how far reading may run ahead is bounded, so uploads keep their backpressure. */
export class Backlog {
  private static readonly MAX_BYTES = 2 * MAX_DATA;
  private readonly items: BacklogItem[] = [];
  private bytes = 0;
  private ended = false;
  /** Whether a frame is being served: taken by `next`, until the following `next`. */
  private serving = false;
  private wakeReader: (() => void) | undefined;
  private wakeServer: (() => void) | undefined;

  /** Whether a frame is being served or waits to be. */
  get busy(): boolean {
    return this.serving || this.items.length > 0;
  }

  push(item: BacklogItem): void {
    this.items.push(item);
    this.bytes += item.frame.payload.length;
    this.wakeServer?.();
  }

  end(): void {
    this.ended = true;
    this.wakeServer?.();
  }

  /** Resolves once there is room to read on. */
  async room(): Promise<void> {
    while (this.bytes > Backlog.MAX_BYTES) await new Promise<void>((resolve) => (this.wakeReader = resolve));
  }

  /** The next frame to serve; undefined once input has ended and every frame is served. */
  async next(): Promise<BacklogItem | undefined> {
    this.serving = false;
    while (this.items.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.wakeServer = resolve));
    const item = this.items.shift();
    if (item) {
      this.serving = true;
      this.bytes -= item.frame.payload.length;
      if (this.bytes <= Backlog.MAX_BYTES) this.wakeReader?.();
    }
    return item;
  }
}

export interface BacklogItem {
  frame: Frame;
  request: RequestMessage | undefined;
}
