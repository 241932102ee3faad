import test from 'ava';
import { markdownReport } from '../../src/report/markdown.js';

const renderMarkdown = (r: Parameters<typeof markdownReport>[0]): string => [...markdownReport(r)].join('');
import type { ReportView } from '../../src/report/model.js';

const report = (paths: string[]): ReportView => ({
  master: '/srv/my_site',
  dryRun: true,
  error: null,
  remotes: [
    {
      endpoint: 'web1:/srv/my_site',
      actions: paths.map((path) => ({ op: 'copy', path, reason: 'missing' })),
      passes: 0,
      inconsistent: [],
      error: null,
      blocks: [],
      summary: { copied: paths.length, bytes: 0, deleted: 0, attributes: 0 },
    },
  ],
});

test('file names show as they are: no emphasis, no extra column, no HTML, one line each', (t) => {
  const md = renderMarkdown(report(['pkg/__init__.py', 'a|b', '<script>x</script>', '*.bak', 'back\\slash`tick', 'new\nline', 'R&D']));
  t.regex(md, /^Master: \/srv\/my\\_site$/m);
  const rows = md.split('\n').filter((l) => l.startsWith('| copy |'));
  t.deepEqual(rows, [
    '| copy | pkg/\\_\\_init\\_\\_.py | missing on remote |',
    '| copy | a\\|b | missing on remote |',
    '| copy | \\<script>x\\</script> | missing on remote |',
    '| copy | \\*.bak | missing on remote |',
    '| copy | back\\\\slash\\`tick | missing on remote |',
    '| copy | new\\nline | missing on remote |',
    '| copy | R\\&D | missing on remote |',
  ]);
});

test('a remote without actions shows "No differences." only when it was compared; after an error, it points to the error', async (t) => {
  const { htmlReport } = await import('../../src/report/html.js');
  const renderHtml = (r: Parameters<typeof htmlReport>[0]): string => [...htmlReport(r)].join('');
  const clean = report([]);
  t.regex(renderMarkdown(clean), /^No differences\.$/m);
  const failed: ReportView = { ...clean, remotes: [{ ...clean.remotes[0]!, error: 'web1:/srv/my_site: cannot connect' }] };
  t.notRegex(renderMarkdown(failed), /No differences/);
  t.regex(renderMarkdown(failed), /^No actions: see the error\.$/m);
  t.regex(renderHtml(failed), /<p>No actions: see the error\.<\/p>/);
  t.notRegex(renderHtml({ ...clean, error: 'master gone' }), /No differences/);
});
