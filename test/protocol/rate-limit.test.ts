import test from 'ava';
import { RateLimit, parseRate } from '../../src/protocol/rate-limit.js';

/** A clock that only moves when slept on: the waits the limiter asks for are what it records. */
function fakeClock() {
  const clock = { t: 0, slept: [] as number[], now: () => clock.t, sleep: async (ms: number) => void (clock.slept.push(ms), (clock.t += ms)) };
  return clock;
}

test('the limiter lets a second of data through at once, then holds the sender to the rate', async (t) => {
  const clock = fakeClock();
  const limit = new RateLimit(1000, clock);
  await limit.take(1000);
  t.deepEqual(clock.slept, [], 'a full bucket: no wait');
  await limit.take(500);
  t.deepEqual(clock.slept, [500], 'in debt by 500 bytes at 1000 B/s: half a second');
  for (let i = 0; i < 10; i++) await limit.take(100);
  t.is(clock.t, 1500, '1,000 more bytes took one second more');
  clock.t += 10_000; // idle for long: the bucket refills to one second's worth, no more
  await limit.take(1000);
  await limit.take(1000);
  t.is(clock.t, 12_500);
});

test('rates are read as rsync reads --bwlimit: KiB by default, or with a suffix', (t) => {
  t.is(parseRate('100'), 100 * 1024);
  t.is(parseRate('1.5m'), 1.5 * 1024 * 1024);
  t.is(parseRate('2G'), 2 * 1024 ** 3);
  t.is(parseRate('512B'), 512);
  t.is(parseRate('10KiB'), 10 * 1024);
  t.is(parseRate('0'), 0, 'no limit, as in rsync');
  t.is(parseRate('fast'), undefined);
  t.is(parseRate('-5'), undefined);
});
