import type { RunResult } from '../execute/types.js';

/** The contract's exit status: the only place where it is decided. */
export const EXIT_OK = 0;
export const EXIT_DIFFERENCES = 1;
export const EXIT_ERROR = 2;

export function exitCodeOf(run: RunResult): number {
  if (run.fatal || run.remotes.some((r) => r.errors.length > 0)) return EXIT_ERROR;
  const differs = run.dryRun ? run.remotes.some((r) => r.actions.length > 0) : run.remotes.some((r) => r.inconsistent.length > 0);
  return differs ? EXIT_DIFFERENCES : EXIT_OK;
}
