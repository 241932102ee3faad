import type { ReportView } from './model.js';

/** The object of a run that could not start; master is null when the command line could not be read. */
export interface RunFailure {
  master: string | null;
  dryRun: boolean;
  error: string;
  remotes: [];
}

/**
 * The report as `JSON.stringify(report, null, 2)` writes it, followed by a newline: the object
 * without its remotes, then each remote's object, indented into the `remotes` array, made as it
 * is written.
 */
export function* jsonReport(report: ReportView | RunFailure): Generator<string> {
  const { remotes, ...top } = report;
  const head = JSON.stringify({ ...top, remotes: [] }, null, 2);
  if (remotes.length === 0) {
    yield `${head}\n`;
    return;
  }
  yield `${head.slice(0, -']\n}'.length)}\n`;
  // A JSON string holds no raw newline: each one indents a line of the remote's object.
  for (const [i, r] of remotes.entries()) yield `    ${JSON.stringify(r, null, 2).replace(/\n/g, '\n    ')}${i < remotes.length - 1 ? ',' : ''}\n`;
  yield '  ]\n}\n';
}
