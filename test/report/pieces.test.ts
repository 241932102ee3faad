import test from 'ava';
import { htmlReport } from '../../src/report/html.js';
import { jsonReport } from '../../src/report/json.js';
import { markdownReport } from '../../src/report/markdown.js';
import type { RemoteView, ReportView } from '../../src/report/model.js';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { batches, writePieces } from '../../src/report/pieces.js';
import { textReport } from '../../src/report/text.js';

function remote(endpoint: string, paths: string[], extra: Partial<RemoteView> = {}): RemoteView {
  return {
    endpoint,
    actions: paths.map((path, i) => (i % 2 === 0 ? { op: 'copy', path, reason: 'missing' } : { op: 'chmod', path, from: '0644', to: '0755' })),
    passes: 1,
    inconsistent: [],
    error: null,
    blocks: [{ name: 'bin', pass: 1, actions: paths.length }],
    summary: { copied: Math.ceil(paths.length / 2), bytes: 12, deleted: 0, attributes: Math.floor(paths.length / 2) },
    ...extra,
  };
}

const awkward = ['bin/app', 'dïr/ünïcode ✓', 'quote"and\\back', 'new\nline', 'tab\there', '\u2028sep'];

test('the JSON report comes in a piece per remote, and together they are exactly JSON.stringify(report, null, 2)', (t) => {
  const reports: ReportView[] = [
    { master: '/srv/app', dryRun: true, error: null, remotes: [] },
    { master: '/srv/app', dryRun: false, error: null, remotes: [remote('web1:/srv/app', awkward)] },
    {
      master: '/srv/app',
      dryRun: false,
      error: 'the master is gone',
      remotes: [remote('web1:/srv/app', []), remote('web2:/srv/app', awkward, { inconsistent: ['bin/app'], error: 'web2: bin/app: no space' }), remote('ssh://web3:2222/srv/app', ['a'])],
    },
  ];
  for (const report of reports) {
    const pieces = [...jsonReport(report)];
    t.is(pieces.join(''), `${JSON.stringify(report, null, 2)}\n`);
    t.is(pieces.length, report.remotes.length === 0 ? 1 : report.remotes.length + 2);
  }
  const failure = { master: null, dryRun: false, error: 'bad arguments', remotes: [] as [] };
  t.is([...jsonReport(failure)].join(''), `${JSON.stringify(failure, null, 2)}\n`);
});

test('the text report comes a line a piece; Markdown and HTML a piece for the head and one per remote', (t) => {
  const report: ReportView = { master: '/srv/app', dryRun: false, error: null, remotes: [remote('web1:/srv/app', awkward), remote('web2:/srv/app', [])] };
  const text = [...textReport(report)];
  t.true(text.every((p) => p.endsWith('\n') && p.indexOf('\n') === p.length - 1));
  t.is(text.length, 2 * 2 + awkward.length);
  t.true(text.join('').endsWith('summary web2:/srv/app: 0 copied (12 B), 0 deleted, 0 attributes fixed, 0 inconsistent\n'));
  const md = [...markdownReport(report)];
  t.is(md.length, 1 + 2);
  t.true(md[1]!.startsWith('\n## web1:/srv/app\n'));
  const html = [...htmlReport(report)];
  t.is(html.length, 1 + 2 + 1);
  t.is(html.at(-1), '\n</body></html>\n');
});

test('pieces are written in batches of about the size asked, nothing lost or reordered', (t) => {
  const pieces = Array.from({ length: 10_000 }, (_, i) => `${String(i).padStart(5, '0')}${'x'.repeat(i % 97)}\n`);
  const chunks = [...batches(pieces, 64 * 1024)];
  t.is(chunks.join(''), pieces.join(''));
  t.true(chunks.length > 5);
  for (const c of chunks.slice(0, -1)) t.true(c.length >= 64 * 1024 && c.length < 64 * 1024 + 200);
  t.deepEqual([...batches([])], []);
});

test('a slow reader holds the writer back: what waits in memory is a batch or so, not the report', async (t) => {
  const out = new PassThrough({ highWaterMark: 16 * 1024 });
  const pieces = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(4, '0')}${'y'.repeat(10_000)}\n`);
  let queued = 0;
  const writing = writePieces(out, pieces, 32 * 1024).then(() => out.end());
  const read: Buffer[] = [];
  for (;;) {
    queued = Math.max(queued, out.writableLength);
    const chunk = out.read() as Buffer | null;
    if (chunk) read.push(chunk);
    else if (out.writableEnded && out.readableLength === 0) break;
    else await sleep(1);
  }
  await writing;
  t.is(Buffer.concat(read).toString(), pieces.join(''));
  t.true(queued < 2 * 32 * 1024 + 16 * 1024, `at most ${queued} bytes queued`);
});

test('a reader that went away takes no more, and the writer does not wait for it', async (t) => {
  const out = new PassThrough({ highWaterMark: 1024 });
  const writing = writePieces(out, Array.from({ length: 100 }, () => 'z'.repeat(4096)), 4096);
  out.destroy();
  await writing;
  t.pass();
});
