import test from 'ava';
import { type Action, summarize } from '../../src/engine/action.js';
import type { Entry } from '../../src/engine/entry.js';
import { type ReportView, viewAction } from '../../src/report/model.js';
import { textReport } from '../../src/report/text.js';

const renderText = (r: Parameters<typeof textReport>[0]): string => [...textReport(r)].join('');

const entry = (path: string, extra: Partial<Entry> = {}): Entry => ({ path, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, ino: 1, nlink: 1, ...extra });

test("the contract's example counts: 2 copies (3 copied for people, with the symlink), 1 deleted, 4 attributes fixed", (t) => {
  const actions: Action[] = [
    { op: 'copy', path: 'bin/app', reason: 'missing', master: entry('bin/app', { size: 1_000_000 }) },
    { op: 'copy', path: 'lib/core.so', reason: 'checksum', master: entry('lib/core.so', { size: 258_291 }) },
    { op: 'delete', path: 'tmp/old.log', remote: entry('tmp/old.log') },
    { op: 'chmod', path: 'bin/run.sh', master: entry('bin/run.sh', { mode: 0o755 }), remote: entry('bin/run.sh') },
    { op: 'chown', path: 'etc/app.conf', master: entry('etc/app.conf'), remote: entry('etc/app.conf', { uid: 1000, gid: 1000 }) },
    { op: 'touch', path: 'README.md', master: entry('README.md'), remote: entry('README.md') },
    { op: 'symlink', path: 'current', master: entry('current', { type: 'symlink', target: 'releases/v2' }) },
    { op: 'hardlink', path: 'bin/app2', linkTo: 'bin/app', master: entry('bin/app2') },
    { op: 'mkdir', path: 'releases/v2', master: entry('releases/v2', { type: 'dir' }) },
    { op: 'rmdir', path: 'releases/v1', remote: entry('releases/v1', { type: 'dir' }) },
  ];
  const summary = summarize(actions);
  t.deepEqual(summary, { copied: 2, bytes: 1258291, deleted: 1, attributes: 4 });
  const report: ReportView = {
    master: '/srv/app',
    dryRun: false,
    error: null,
    remotes: [{ endpoint: 'root@web1:/srv/app', actions: actions.map(viewAction), passes: 1, inconsistent: [], error: null, blocks: [], summary }],
  };
  t.regex(renderText(report), /^summary root@web1:\/srv\/app: 3 copied \(1\.2 MiB\), 1 deleted, 4 attributes fixed, 0 inconsistent$/m);
});

test('the text report names the error of a failed remote in its block, and a run error first', (t) => {
  const summary = { copied: 0, bytes: 0, deleted: 0, attributes: 0 };
  const failed = { endpoint: 'web2:/srv/app', actions: [], passes: 0, inconsistent: [], blocks: [], summary };
  const report: ReportView = {
    master: '/srv/app',
    dryRun: false,
    error: null,
    remotes: [
      { ...failed, endpoint: 'web1:/srv/app', error: null },
      { ...failed, error: 'web2:/srv/app: cannot connect to web2 port 22: connection refused' },
    ],
  };
  t.is(
    renderText(report),
    [
      'remote web1:/srv/app',
      'summary web1:/srv/app: 0 copied (0 B), 0 deleted, 0 attributes fixed, 0 inconsistent',
      'remote web2:/srv/app',
      'error web2:/srv/app: cannot connect to web2 port 22: connection refused',
      'summary web2:/srv/app: 0 copied (0 B), 0 deleted, 0 attributes fixed, 0 inconsistent',
      '',
    ].join('\n'),
  );
  t.regex(renderText({ ...report, error: '/srv/app: the master directory does not exist' }), /^error \/srv\/app: the master directory does not exist\nremote web1/);
});
