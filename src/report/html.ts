import { type ReportView, detailOf, noActionsText, summaryLine } from './model.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}td.path{font-family:monospace;white-space:pre}.error{color:#a00}.summary{font-weight:600}
.op-copy{color:#06c}.op-delete,.op-rmdir{color:#a00}`;

/**
 * A standalone page: per remote, a table of actions and a summary. Its lines joined by newlines,
 * a piece for the head, one per remote and one for the end, made as it is written.
 */
export function* htmlReport(report: ReportView): Generator<string> {
  const head: string[] = [];
  head.push('<!doctype html>', '<html lang="en"><head><meta charset="utf-8">');
  head.push(`<title>replisync ${report.dryRun ? 'diff' : 'sync'} report</title><style>${STYLE}</style></head><body>`);
  head.push(`<h1>replisync ${report.dryRun ? 'diff' : 'sync'} report</h1>`, `<p>Master: <code>${esc(report.master)}</code></p>`);
  if (report.error) head.push(`<p class="error">Error: ${esc(report.error)}</p>`);
  yield head.join('\n');
  for (const r of report.remotes) {
    const parts = [`<h2>${esc(r.endpoint)}</h2>`];
    const actions = r.actions;
    if (actions.length === 0) parts.push(`<p>${noActionsText(report, r)}</p>`);
    else {
      parts.push('<table><thead><tr><th>op</th><th>path</th><th>detail</th></tr></thead><tbody>');
      for (const a of actions) {
        parts.push(`<tr class="op-${a.op}"><td>${a.op}</td><td class="path">${esc(a.path)}</td><td>${esc(detailOf(a))}</td></tr>`);
      }
      parts.push('</tbody></table>');
    }
    if (r.blocks.length > 0) {
      parts.push('<table class="blocks"><thead><tr><th>block</th><th>pass</th><th>changes</th></tr></thead><tbody>');
      for (const b of r.blocks) parts.push(`<tr><td>${esc(b.name)}</td><td>${b.pass}</td><td>${b.actions}</td></tr>`);
      parts.push('</tbody></table>');
    }
    parts.push(`<p class="summary">${esc(summaryLine(r, actions))}; passes: ${r.passes}</p>`);
    if (r.inconsistent.length > 0) parts.push(`<p class="error">Inconsistent: ${r.inconsistent.map(esc).join(', ')}</p>`);
    if (r.error) parts.push(`<p class="error">Error: ${esc(r.error)}</p>`);
    yield `\n${parts.join('\n')}`;
  }
  yield '\n</body></html>\n';
}
