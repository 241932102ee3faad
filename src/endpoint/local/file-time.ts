/**
 * File times travel as milliseconds with a microsecond fraction: node sets file times to the
 * microsecond (libuv truncates finer parts), so that is the precision a replica can get.
 */
export function timeMs(ns: bigint): number {
  // Rounded down, before 1970 too (BigInt division truncates toward zero).
  const us = ns >= 0n ? ns / 1000n : (ns - 999n) / 1000n;
  return Number(us) / 1000;
}

/**
 * A time in milliseconds (microseconds kept) as node's utimes takes it: seconds, half a
 * microsecond past the wanted one, since libuv truncates to the microsecond what a double holds
 * only to about a quarter of one. A time before 1970 goes as a numeric string (node reads a
 * negative number as "now"), half a microsecond before, as libuv rounds those up.
 */
export function fileTime(ms: number): number | string {
  const us = Math.round(ms * 1000);
  return us >= 0 ? (us + 0.5) / 1e6 : String((us - 0.5) / 1e6);
}
