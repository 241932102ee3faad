import cliProgress from 'cli-progress';
import type { Progress } from '../execute/types.js';
import { formatBytes } from './model.js';

/** Progress bars on stderr (only ever created when stderr is a TTY and the user wants them). */
export function stderrProgress(): Progress {
  let bar: cliProgress.SingleBar | undefined;
  let unit: 'files' | 'bytes' = 'files';
  let started = 0;
  let done = 0;
  let total = 0;
  return {
    start(phase, all, u) {
      bar?.stop();
      unit = u;
      started = Date.now();
      done = 0;
      total = all;
      const amount = u === 'bytes' ? '{done}/{all} {speed}/s' : '{value}/{total} files';
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: all > 0 ? `${phase} [{bar}] {percentage}% ${amount} ETA {eta_formatted}` : `${phase} ...`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(all, 1), 0, { done: formatBytes(0), all: formatBytes(all), speed: formatBytes(0) });
    },
    advance(n) {
      if (!bar) return;
      done += n;
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      bar.update(done, unit === 'bytes' ? { done: formatBytes(done), all: formatBytes(total), speed: formatBytes(Math.round(done / secs)) } : {});
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
