import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { REPO, cleanup, makeTree, runCli, tempDir } from '../helpers/tree.js';

async function setup(t: { teardown(fn: () => void): void }) {
  const dir = tempDir();
  t.teardown(() => void cleanup(dir));
  const master = nodePath.join(dir, 'master');
  await makeTree(master, { a: 'x' });
  const remote = nodePath.join(dir, 'remote');
  const config = (data: unknown) => {
    const file = nodePath.join(dir, 'c.json');
    writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
    return file;
  };
  return { dir, master, remote, config };
}

/** A directory `name` in the test's directory (made as the case's arguments are). */
function made(s: { dir: string }, name: string): string {
  mkdirSync(nodePath.join(s.dir, name));
  return nodePath.join(s.dir, name);
}

/** A symlink `name` in the test's directory to `target` there (made as the case's arguments are). */
function linked(s: { dir: string }, name: string, target: string): string {
  symlinkSync(target, nodePath.join(s.dir, name));
  return nodePath.join(s.dir, name);
}

const cases: [string, (s: Awaited<ReturnType<typeof setup>>) => string[], RegExp][] = [
  ['an unknown option', (s) => ['sync', s.master, s.remote, '--frobnicate'], /Unknown argument: frobnicate/],
  ['no remote', (s) => ['sync', s.master], /name at least one remote after the master/],
  ['--no- of an option that takes a value', (s) => ['sync', s.master, s.remote, '--no-exclude'], /--no-exclude: --exclude takes a value; it has no --no- form/],
  ['no endpoints at all', () => ['sync'], /name the master and at least one remote \(or --config FILE\)/],
  ['a bad --format', (s) => ['sync', s.master, s.remote, '--format', 'xml'], /--format must be text or json, not xml/],
  ['a bad --attrs', (s) => ['sync', s.master, s.remote, '--attrs', 'mode,color'], /--attrs: unknown attribute "color"/],
  ['--max-passes 0', (s) => ['sync', s.master, s.remote, '--max-passes', '0'], /--max-passes must be a whole number of at least 1, not "0"/],
  ['--concurrency abc', (s) => ['sync', s.master, s.remote, '--concurrency', 'abc'], /--concurrency must be a whole number of at least 1, not "abc"/],
  ['--concurrency 1.5', (s) => ['sync', s.master, s.remote, '--concurrency', '1.5'], /--concurrency must be a whole number of at least 1, not "1.5"/],
  ['--modify-window 0.5', (s) => ['sync', s.master, s.remote, '--modify-window', '0.5'], /--modify-window must be a whole number of at least 0, not "0\.5"/],
  ['--max-delete -1', (s) => ['sync', s.master, s.remote, '--max-delete', '-1'], /--max-delete must be a whole number of at least 0, not "-1"/],
  ['a bad --report extension', (s) => ['sync', s.master, s.remote, '--report', 'out.pdf'], /--report out\.pdf: the file must end in \.json, \.md or \.html/],
  ['an invalid regular expression', (s) => ['sync', s.master, s.remote, '--include-regex', '(oops'], /--include-regex: invalid regular expression \/\(oops\//],
  ['an empty --exclude', (s) => ['sync', s.master, s.remote, '--exclude', ''], /--exclude: an empty glob matches nothing useful/],
  ['an invalid regular expression in a job', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], excludeRegex: ['ok', 'x('] } } })], /config \S+: jobs\.j\.excludeRegex\[1\]: invalid regular expression \/x\(\//],
  ['an invalid regular expression in a class', (s) => ['sync', '--config', s.config({ classes: { c: { includeRegex: ['[z-a]'] } }, jobs: { j: { master: s.master, remotes: [s.remote], class: 'c' } } })], /config \S+: classes\.c\.includeRegex\[0\]: invalid regular expression/],
  ['an empty glob in a block', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], blocks: [{ name: 'x', include: [' '] }] } } })], /jobs\.j\.blocks\[0\]\.include\[0\]: an empty glob/],
  ['a bad --bwlimit', (s) => ['sync', s.master, s.remote, '--bwlimit', 'fast'], /--bwlimit must be a rate \(KiB\/s, or with a suffix B, K, M, G\), not "fast"/],
  ['a wholeFile in a job that is not true or false', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], wholeFile: 'yes' } } })], /jobs\.j\.wholeFile: must be true or false, not string/],
  ['a bad bwlimit in a job', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], bwlimit: true } } })], /jobs\.j\.bwlimit: must be a rate .*, not boolean/],
  ['an --rsh with an open quote', (s) => ['sync', s.master, s.remote, '--rsh', "ssh -i 'my key"], /--rsh: unbalanced ' in "ssh -i 'my key"/],
  ['an empty --rsh', (s) => ['sync', s.master, s.remote, '-e', ' '], /--rsh: no command given/],
  ['the same endpoint twice', (s) => ['sync', s.master, s.remote, s.remote], /is named twice/],
  ['a remote inside the master', (s) => ['sync', s.master, nodePath.join(s.master, 'sub')], /must not contain one another/],
  ['a remote inside the master through a symlink', (s) => ['sync', s.master, nodePath.join(linked(s, 'to-master', 'master'), 'sub')], /remote \S+to-master\/sub and master \S+ must not contain one another/],
  ['one remote under two names', (s) => ['sync', s.master, s.remote, linked(s, 'to-remote', 'remote')], /remote \S+remote and remote \S+to-remote are the same directory/],
  // /proc answers ENOENT for a directory made in it: node's recursive mkdir loops on that forever.
  ['a --report where nothing can be written', (s) => ['sync', s.master, s.remote, '--report', '/proc/replisync-test/r.json'], /--report \/proc\/replisync-test\/r\.json: cannot write there: no such file or directory/],
  ['a --report that is a directory', (s) => ['sync', s.master, s.remote, '--report', made(s, 'out.json')], /--report \S+out\.json: cannot write there: is a directory/],
  ['a --log that is a directory', (s) => ['sync', s.master, s.remote, '--log', made(s, 'logs')], /--log \S+logs: cannot write there: is a directory/],
  ['a --log where nothing can be written', (s) => ['sync', s.master, s.remote, '--log', '/proc/replisync-test/log'], /--log \/proc\/replisync-test\/log: cannot write there/],
  ['a remote inside another', (s) => ['sync', s.master, s.remote, nodePath.join(s.remote, 'deeper')], /remote \S+deeper and remote \S+ must not contain one another/],
  ['an ssh URL without a path', () => ['sync', '/tmp', 'ssh://host'], /no path in ssh:\/\/host/],
  ['a key that is not there', (s) => ['sync', s.master, s.remote, '-i', '/nonexistent/id_ed25519'], /--identity \/nonexistent\/id_ed25519: cannot read the key: no such file or directory/],
  ['a key that is a directory', (s) => ['sync', s.master, s.remote, '--identity', s.dir], /--identity \S+: cannot read the key: is a directory/],
  ['--class without --config', (s) => ['sync', s.master, s.remote, '--class', 'x'], /--class needs --config/],
  ['a config that is not JSON', (s) => ['sync', '--config', s.config('{ nope')], /not valid JSON/],
  ['an unknown top-level key', (s) => ['sync', '--config', s.config({ jobs: {}, extra: 1 })], /config \S+: extra: unknown key/],
  ['an unknown block key', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], blocks: [{ name: 'b', incl: ['x'] }] } } })], /config \S+: jobs\.j\.blocks\[0\]\.incl: unknown key/],
  ['an unknown job key', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], maxDelet: 3 } } })], /jobs\.j\.maxDelet: unknown key/],
  ['a wrong type', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], maxPasses: 'three' } } })], /jobs\.j\.maxPasses: must be a whole number of at least 1, not string/],
  ['a modifyWindow that is no number', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], modifyWindow: '2' } } })], /jobs\.j\.modifyWindow: must be a whole number of at least 0, not string/],
  ['a negative count', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], maxDelete: -1 } } })], /jobs\.j\.maxDelete: must be a whole number of at least 0, not -1/],
  ['an empty master', (s) => ['sync', '--config', s.config({ jobs: { j: { master: '', remotes: [s.remote] } } })], /jobs\.j\.master: must be a non-empty string, not ""/],
  ['an unknown attribute in a job', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], attrs: ['mode', 'colour'] } } })], /config \S+: jobs\.j\.attrs\[1\]: unknown attribute "colour"/],
  ['a missing master', (s) => ['sync', '--config', s.config({ jobs: { j: { remotes: [s.remote] } } })], /jobs\.j\.master: is required/],
  ['an unknown class', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], class: 'nope' } } })], /jobs\.j\.class: unknown class "nope"/],
  ['an unknown job', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote] } } }), '--job', 'k'], /jobs\.k: unknown job \(jobs: j\)/],
  ['several jobs and no --job', (s) => ['sync', '--config', s.config({ jobs: { a: { master: s.master, remotes: [s.remote] }, b: { master: s.master, remotes: [s.remote] } } })], /several jobs \(a, b\): pick one with --job/],
  ['a bad block', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], blocks: [{ name: 'x' }] } } })], /jobs\.j\.blocks\[0\]\.include: is required/],
  ['a block that matches nothing', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], blocks: [{ name: 'x', include: [] }] } } })], /jobs\.j\.blocks\[0\]\.include: needs at least one glob/],
  ['a duplicate block name', (s) => ['sync', '--config', s.config({ jobs: { j: { master: s.master, remotes: [s.remote], blocks: [{ name: 'x', include: ['a'] }, { name: 'x', include: ['b'] }] } } })], /jobs\.j\.blocks\[1\]\.name: duplicate block name "x"/],
  ['a bad class', (s) => ['sync', '--config', s.config({ classes: { c: { include: 'bin/**' } }, jobs: {} })], /classes\.c\.include: must be an array of strings, not string/],
];

for (const [name, args, message] of cases) {
  test(`bad input is refused before anything changes: ${name}`, async (t) => {
    const s = await setup(t);
    const res = await runCli(args(s));
    t.is(res.code, 2, res.stdout);
    t.regex(res.stderr, message);
    t.is(res.stdout, '');
    t.false(existsSync(s.remote), 'nothing was created');
  });
}

test('with --format json, a command line refused before the run still gives one JSON object naming the error', async (t) => {
  const s = await setup(t);
  for (const [args, dryRun] of [
    [['diff', s.master, s.remote, '--frobnicate', '--format', 'json'], true],
    [['sync', s.master, '--format=json'], false],
    [['sync', '-n', s.master, s.remote, '--format', 'json', '--concurrency', '0'], true],
  ] as const) {
    const res = await runCli([...args]);
    t.is(res.code, 2, res.stderr);
    const report = JSON.parse(res.stdout) as { master: string | null; dryRun: boolean; error: string; remotes: unknown[] };
    t.is(report.dryRun, dryRun);
    t.deepEqual(report.remotes, []);
    t.true(res.stderr.includes(report.error), `${report.error} is what stderr says`);
  }
  // The last --format wins, as with every option given twice.
  const text = await runCli(['sync', s.master, '--format', 'json', '--format', 'text']);
  t.is(text.stdout, '');
  t.false(existsSync(s.remote), 'nothing was created');
});

test('messages are English whatever LANG says; --version is the package version', async (t) => {
  const s = await setup(t);
  const res = await runCli(['sync', s.master, s.remote, '--frobnicate'], { env: { ...process.env, LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' } });
  t.is(res.code, 2);
  t.regex(res.stderr, /Unknown argument: frobnicate/);
  const version = await runCli(['--version']);
  t.is(version.code, 0);
  t.is(version.stdout.trim(), (JSON.parse(readFileSync(nodePath.join(REPO, 'package.json'), 'utf8')) as { version: string }).version);
});

test('the job lock: a lock directory that cannot be made is named (exit 2, nothing changed); a stale XDG_RUNTIME_DIR, as cron may inherit, is passed over', async (t) => {
  const s = await setup(t);
  const refused = await runCli(['sync', s.master, s.remote], { env: { REPLISYNC_LOCK_DIR: '/proc/replisync-test/locks' } });
  t.is(refused.code, 2);
  t.regex(refused.stderr, /^replisync: job lock: cannot make \/proc\/replisync-test\/locks: no such file or directory/m);
  t.notRegex(refused.stderr, /unexpected error/);
  t.false(existsSync(s.remote));
  const stale = await runCli(['sync', s.master, s.remote], { env: { XDG_RUNTIME_DIR: nodePath.join(s.dir, 'logged-out') } });
  t.is(stale.code, 0, stale.stderr);
});

test('a current directory removed since the shell entered it is refused, exit 2, nothing changed (a stack trace and exit 1 before)', async (t) => {
  const s = await setup(t);
  const gone = made(s, 'rotated-out');
  const res = spawnSync('sh', ['-c', 'cd "$1" && rmdir "$1" && shift && exec "$@"', 'sh', gone, process.execPath, nodePath.join(REPO, 'bin/replisync.js'), 'sync', s.master, s.remote], { encoding: 'utf8' });
  t.is(res.status, 2);
  t.is(res.stderr, 'replisync: the current directory is gone (ENOENT): run it from a directory that exists\n');
  t.false(existsSync(s.remote));
});

test('relative XDG_CACHE_HOME and XDG_RUNTIME_DIR are ignored, as the XDG spec asks: nothing is made in the current directory', async (t) => {
  const s = await setup(t);
  const cwd = made(s, 'work');
  const home = made(s, 'home');
  mkdirSync(nodePath.join(cwd, 'relrun'));
  const res = await runCli(['sync', s.master, s.remote], { cwd, env: { HOME: home, XDG_CACHE_HOME: 'relcache', XDG_RUNTIME_DIR: 'relrun' } });
  t.is(res.code, 0, res.stderr);
  t.deepEqual(readdirSync(cwd), ['relrun']);
  t.deepEqual(readdirSync(nodePath.join(cwd, 'relrun')), []);
  t.true(existsSync(nodePath.join(home, '.cache/replisync/checksums')));
});

test('an option of one value given twice takes the last, as the counts do', async (t) => {
  const s = await setup(t);
  const res = await runCli(['diff', s.master, s.remote, '--format', 'json', '--format', 'text', '--report', nodePath.join(s.dir, 'a.json'), '--report', nodePath.join(s.dir, 'b.md')]);
  t.is(res.code, 1, res.stderr);
  t.regex(res.stdout, /^remote /);
  t.false(existsSync(nodePath.join(s.dir, 'a.json')));
  t.regex(readFileSync(nodePath.join(s.dir, 'b.md'), 'utf8'), /^# replisync diff report/);
  // --attrs too: the first list is dropped, not read as one attribute named "mode,color".
  const attrs = await runCli(['diff', s.master, s.remote, '--attrs', 'mode,color', '--attrs', 'mode,mtime']);
  t.is(attrs.code, 1, attrs.stderr);
});
