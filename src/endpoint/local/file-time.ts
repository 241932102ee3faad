/**
 * A time in seconds as node's utimes takes it: node reads a negative number as "now", so a time
 * before 1970 goes as a Date (whole milliseconds, all that entries carry).
 */
export function utimesArg(seconds: number): number | Date {
  return seconds >= 0 ? seconds : new Date(Math.round(seconds * 1000));
}
