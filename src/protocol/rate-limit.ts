import { setTimeout as sleep } from 'node:timers/promises';

/**
 * At most `bytesPerSecond` on average, as rsync's --bwlimit: a sender takes what it sends and,
 * once the bucket is in debt, waits until the debt is paid. A second's worth may go at once.
 */
export class RateLimit {
  private tokens: number;
  private last: number;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: { now(): number; sleep(ms: number): Promise<unknown> } = { now: () => Date.now(), sleep },
  ) {
    this.tokens = bytesPerSecond;
    this.last = clock.now();
  }

  async take(bytes: number): Promise<void> {
    const now = this.clock.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) await this.clock.sleep((-this.tokens * 1000) / this.bytesPerSecond);
  }
}

/**
 * A rate as rsync's --bwlimit takes it: a number of KiB a second, or with a suffix B, K, M or G
 * (powers of 1024); 0 is no limit, as in rsync.
 */
export function parseRate(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] || 'k').toLowerCase() as 'b' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * unit);
}
