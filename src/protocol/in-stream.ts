/** Chunks of one download, queued as they arrive and handed to one consumer in order. */
export class InStream {
  private readonly queue: Buffer[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;
  cancelled = false;
  /** Settles with the first sign of life: a chunk or the end (resolves), or an error (rejects). */
  readonly started: Promise<void>;
  private settle!: { resolve(): void; reject(err: Error): void };

  constructor(private readonly onConsumed: (bytes: number) => void) {
    this.started = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.started.catch(() => undefined);
  }

  push(chunk: Buffer): void {
    if (this.cancelled) {
      this.onConsumed(chunk.length);
      return;
    }
    this.queue.push(chunk);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(err: Error): void {
    this.error ??= err;
    this.wake();
  }

  cancel(): void {
    this.cancelled = true;
    for (const c of this.queue.splice(0)) this.onConsumed(c.length);
    this.wake();
  }

  private wake(): void {
    if (this.error) this.settle.reject(this.error);
    else this.settle.resolve();
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        this.onConsumed(next.length);
        yield next;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended || this.cancelled) return;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
