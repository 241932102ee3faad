import { type ReportView, detailOf, summaryLine, symbolOf } from './model.js';

/** Control characters (a newline in a file name, say) would break the one-line-per-action layout. */
export function printable(path: string): string {
  return path.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A line a piece, made as it is written. */
export function* textReport(report: ReportView): Generator<string> {
  // Errors are on stderr as well; here they keep a failed remote's empty block from reading as a clean one.
  if (report.error) yield `error ${printable(report.error)}\n`;
  for (const r of report.remotes) {
    yield `remote ${r.endpoint}\n`;
    const actions = r.actions;
    for (const a of actions) {
      const detail = detailOf(a);
      const head = `  ${symbolOf(a)} ${a.op.padEnd(8)} ${printable(a.path)}`;
      yield detail ? `${head.padEnd(36)} ${printable(detail)}\n` : `${head}\n`;
    }
    if (r.error) yield `error ${printable(r.error)}\n`;
    yield `summary ${r.endpoint}: ${summaryLine(r, actions)}\n`;
  }
}
