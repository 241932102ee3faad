import cliProgress from 'cli-progress';
import type { Progress } from '../execute/types.js';
import { formatBytes } from './model.js';

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  const whole = Math.ceil(s);
  return whole < 60 ? `${whole}s` : `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

/**
 * Progress bars on stderr: on a terminal by default, or where --progress asks for them, a log
 * file say, where a line every few seconds takes the place of a bar redrawn in place.
 */
export function stderrProgress(): Progress {
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  let done = 0;
  let total = 0;
  return {
    start(phase, all) {
      bar?.stop();
      started = Date.now();
      done = 0;
      total = all;
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: all > 0 ? '{phase} [{bar}] {percentage}% {done}/{all} {speed}/s ETA {remaining}' : '{phase} ...',
          hideCursor: true,
          clearOnComplete: tty,
          noTTYOutput: !tty,
          notTTYSchedule: 5000,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(all, 1), 0, { phase, done: formatBytes(0), all: formatBytes(all), speed: formatBytes(0), remaining: '--' });
    },
    relabel(phase) {
      bar?.update({ phase });
    },
    advance(n) {
      if (!bar) return;
      done += n;
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      const rate = done / secs;
      // From the average rate since the start: bursts of small files make a recent rate jumpy.
      const eta = formatSeconds((total - done) / rate);
      bar.update(done, { done: formatBytes(done), all: formatBytes(total), speed: formatBytes(Math.round(rate)), remaining: eta });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
