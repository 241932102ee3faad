import type { ReportView } from './model.js';

/** The object of a run that could not start; master is null when the command line could not be read. */
export interface RunFailure {
  master: string | null;
  dryRun: boolean;
  error: string;
  remotes: [];
}

export function renderJson(report: ReportView | RunFailure): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
