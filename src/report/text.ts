import { type ReportView, detailOf, summaryLine, symbolOf } from './model.js';

/** Control characters (a newline in a file name, say) would break the one-line-per-action layout. */
export function printable(path: string): string {
  return path.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A piece a line. */
export function textReport(report: ReportView): string[] {
  // Errors are on stderr as well; here they keep a failed remote's empty block from reading as a clean one.
  const lines: string[] = report.error ? [`error ${printable(report.error)}`] : [];
  for (const r of report.remotes) {
    lines.push(`remote ${r.endpoint}`);
    for (const a of r.actions) {
      const detail = detailOf(a);
      const head = `  ${symbolOf(a)} ${a.op.padEnd(8)} ${printable(a.path)}`;
      lines.push(detail ? `${head.padEnd(36)} ${printable(detail)}` : head);
    }
    if (r.error) lines.push(`error ${printable(r.error)}`);
    lines.push(`summary ${r.endpoint}: ${summaryLine(r)}`);
  }
  return lines.map((line) => `${line}\n`);
}
