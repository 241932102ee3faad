import { type ReportView, detailOf, noActionsText, summaryLine } from './model.js';

/**
 * Text as Markdown shows it literally: a file name such as `__init__.py` or `a|b` must not turn
 * into emphasis or a new table column, nor `<b>` into HTML. Newlines stay on one line as `\n`.
 */
function cell(s: string): string {
  return s.replace(/[\\`*_[\]|~<&]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

/** Its lines joined by newlines, a piece for the head and one per remote, made as it is written. */
export function* markdownReport(report: ReportView): Generator<string> {
  const head = [`# replisync ${report.dryRun ? 'diff' : 'sync'} report`, '', `Master: ${cell(report.master)}`, ''];
  if (report.error) head.push(`**Error:** ${cell(report.error)}`, '');
  yield head.join('\n');
  for (const r of report.remotes) {
    const out: string[] = [`## ${cell(r.endpoint)}`, ''];
    const actions = r.actions;
    if (actions.length === 0) out.push(noActionsText(report, r), '');
    else {
      out.push('| op | path | detail |', '| --- | --- | --- |');
      for (const a of actions) out.push(`| ${a.op} | ${cell(a.path)} | ${cell(detailOf(a))} |`);
      out.push('');
    }
    if (r.blocks.length > 0) {
      out.push('| block | pass | changes |', '| --- | --- | --- |');
      for (const b of r.blocks) out.push(`| ${cell(b.name)} | ${b.pass} | ${b.actions} |`);
      out.push('');
    }
    out.push(`**Summary:** ${summaryLine(r, actions)}; passes: ${r.passes}`, '');
    if (r.inconsistent.length > 0) out.push(`**Inconsistent:** ${r.inconsistent.map(cell).join(', ')}`, '');
    if (r.error) out.push(`**Error:** ${cell(r.error)}`, '');
    yield `\n${out.join('\n')}`;
  }
}
