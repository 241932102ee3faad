import { type ReportView, detailOf, noActionsText, summaryLine } from './model.js';
import { joinedLines } from './pieces.js';

/**
 * Text as Markdown shows it literally: a file name such as `__init__.py` or `a|b` must not turn
 * into emphasis or a new table column, nor `<b>` into HTML. Newlines stay on one line as `\n`.
 */
function cell(s: string): string {
  return s.replace(/[\\`*_[\]|~<&]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

export function markdownReport(report: ReportView): string[] {
  const out: string[] = [`# replisync ${report.dryRun ? 'diff' : 'sync'} report`, '', `Master: ${cell(report.master)}`, ''];
  if (report.error) out.push(`**Error:** ${cell(report.error)}`, '');
  for (const r of report.remotes) {
    out.push(`## ${cell(r.endpoint)}`, '');
    if (r.actions.length === 0) out.push(noActionsText(report, r), '');
    else {
      out.push('| op | path | detail |', '| --- | --- | --- |');
      for (const a of r.actions) out.push(`| ${a.op} | ${cell(a.path)} | ${cell(detailOf(a))} |`);
      out.push('');
    }
    if (r.blocks.length > 0) {
      out.push('| block | pass | changes |', '| --- | --- | --- |');
      for (const b of r.blocks) out.push(`| ${cell(b.name)} | ${b.pass} | ${b.actions} |`);
      out.push('');
    }
    out.push(`**Summary:** ${summaryLine(r)}; passes: ${r.passes}`, '');
    if (r.inconsistent.length > 0) out.push(`**Inconsistent:** ${r.inconsistent.map(cell).join(', ')}`, '');
    if (r.error) out.push(`**Error:** ${cell(r.error)}`, '');
  }
  return joinedLines(out);
}
