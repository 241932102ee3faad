import cliProgress from 'cli-progress';
import type { Progress } from '../execute/types.js';
import { formatBytes } from './model.js';

/** Progress bars on stderr (only ever created when stderr is a TTY and the user wants them). */
export function stderrProgress(): Progress {
  let bar: cliProgress.SingleBar | undefined;
  let unit: 'files' | 'bytes' = 'files';
  return {
    start(phase, total, u) {
      bar?.stop();
      unit = u;
      const amount = u === 'bytes' ? '{done}/{all} {speed}/s' : '{value}/{total} files';
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: total > 0 ? `${phase} [{bar}] {percentage}% ${amount} ETA {eta_formatted}` : `${phase} ...`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      const started = Date.now();
      bar.start(Math.max(total, 1), 0, { done: formatBytes(0), all: formatBytes(total), speed: formatBytes(0) });
      (bar as unknown as { started: number }).started = started;
    },
    advance(n) {
      if (!bar) return;
      bar.increment(n);
      if (unit === 'bytes') {
        const b = bar as unknown as { value: number; total: number; started: number };
        const secs = Math.max((Date.now() - b.started) / 1000, 0.001);
        bar.update({ done: formatBytes(b.value), all: formatBytes(b.total), speed: formatBytes(Math.round(b.value / secs)) });
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
