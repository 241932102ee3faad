import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { comparable, makeTree, runCli, setupMaster, snapshot } from '../helpers/tree.js';

test('file and directory times before 1970 and far ahead are replicated; a second run changes nothing', async (t) => {
  const { master, remote: remoteOf } = await setupMaster(t, { 'old-dir/1960': 'a', '2200': 'b' });
  const remote = remoteOf();
  // node's utimes takes a negative number for "now": Dates say what is meant.
  utimesSync(nodePath.join(master, 'old-dir/1960'), new Date(-301_060_799_877), new Date(-301_060_799_877));
  utimesSync(nodePath.join(master, '2200'), new Date(7_258_118_400_000), new Date(7_258_118_400_000));
  utimesSync(nodePath.join(master, 'old-dir'), new Date(-631_152_000_000), new Date(-631_152_000_000));

  const first = await runCli(['sync', master, remote]);
  t.is(first.code, 0, first.stderr + first.stdout);
  t.deepEqual(comparable(snapshot(remote)), comparable(snapshot(master)));
  const again = await runCli(['sync', master, remote]);
  t.is(again.code, 0);
  t.regex(again.stdout, /0 copied \(0 B\), 0 deleted, 0 attributes fixed, 0 inconsistent/);
});

test('times are replicated to the microsecond (what node can set), before 1970 too; the root as well; a second run changes nothing', async (t) => {
  const { master, remote: remoteOf } = await setupMaster(t, { 'd/f': 'a', old: 'b', 'd/l': '-> f' });
  const remote = remoteOf();
  // touch sets nanoseconds, which node cannot: these are the times a replica must come close to.
  const times: Record<string, string> = { 'd/f': '1764662304.018930356', 'd/l': '1764662304.999999999', old: '-86399.9999985', d: '1.0000005', '': '1764662304.123456789' };
  for (const [p, time] of Object.entries(times)) execFileSync('touch', ['-h', '-d', `@${time}`, nodePath.join(master, p)]);
  const first = await runCli(['sync', master, remote]);
  t.is(first.code, 0, first.stderr + first.stdout);
  const micros = (root: string, p: string): bigint => {
    const ns = lstatSync(nodePath.join(root, p), { bigint: true }).mtimeNs;
    return ns >= 0n ? ns / 1000n : (ns - 999n) / 1000n;
  };
  for (const p of Object.keys(times)) t.is(micros(remote, p), micros(master, p), `${p || 'the root'} to the microsecond`);
  const again = await runCli(['sync', master, remote]);
  t.is(again.code, 0);
  t.regex(again.stdout, /0 copied \(0 B\), 0 deleted, 0 attributes fixed, 0 inconsistent/);
});

/** Access times of the files under `root`, each set well before its mtime: a read would move it (relatime). */
function oldAccessTimes(root: string, files: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of files) {
    const abs = nodePath.join(root, f);
    utimesSync(abs, new Date(1_500_000_000_000), new Date(1_600_000_000_000));
    out.set(f, lstatSync(abs).atimeMs);
  }
  return out;
}

function accessTimes(root: string, files: string[]): Map<string, number> {
  return new Map(files.map((f) => [f, lstatSync(nodePath.join(root, f)).atimeMs]));
}

test('files read for checksums and copies keep their access times (O_NOATIME), as root and as their owner; others are still read', async (t) => {
  for (const asUser of [false, true]) {
    const { master, remote: remoteOf } = await setupMaster(t, { same: 'same', differs: 'aaaa', copied: 'new', 'rootowned/f': 'read anyway' });
    const remote = remoteOf();
    await makeTree(remote, { same: 'same', differs: 'bbbb' });
    const files = ['same', 'differs', 'copied'];
    const env = { XDG_CACHE_HOME: nodePath.join(master, '..', 'cache') };
    if (asUser && process.getuid?.() === 0) {
      execFileSync('chown', ['-R', 'nobody:', nodePath.dirname(master)]);
      // A file of another owner that the user may read: O_NOATIME is refused there, the read goes on.
      execFileSync('chown', ['root:', nodePath.join(master, 'rootowned/f')]);
    } else if (asUser) continue; // not root: the run above was already as the files' owner
    const masterTimes = oldAccessTimes(master, files);
    const remoteTimes = oldAccessTimes(remote, ['same', 'differs']);
    const diff = await runCli(['diff', '--no-cache', master, remote], { asUser, env });
    t.is(diff.code, 1, diff.stderr);
    t.regex(diff.stdout, /~ copy +differs +checksum differs/, 'both sides were read for their checksums');
    t.deepEqual(accessTimes(master, files), masterTimes, `master, diff${asUser ? ' as a user' : ''}`);
    t.deepEqual(accessTimes(remote, ['same', 'differs']), remoteTimes, `remote, diff${asUser ? ' as a user' : ''}`);
    const sync = await runCli(['sync', '--no-cache', master, remote], { asUser, env });
    t.is(sync.code, 0, sync.stderr);
    t.is(readFileSync(nodePath.join(remote, 'rootowned/f'), 'utf8'), 'read anyway');
    t.deepEqual(accessTimes(master, files), masterTimes, `master, sync${asUser ? ' as a user' : ''}`);
  }
});

// A file system that keeps whole seconds (ext2 with small inodes, as ext3 used to be), mounted from
// an image, which only root may do.
(process.getuid?.() === 0 ? test : test.skip)('a remote whose file system keeps whole seconds: mtimes compared to the second; a first sync leaves nothing inconsistent, the next changes nothing', async (t) => {
  const { dir, master, remote: remoteOf } = await setupMaster(t, { 'd/f': 'a', 'd/e/g': 'b', top: 'c', l: '-> top' });
  const times: Record<string, string> = { 'd/f': '1764662304.018930356', 'd/e/g': '1764662304.999999999', top: '1764662305.5', l: '1764662306.25', 'd/e': '1764662307.75', d: '1764662308.125' };
  for (const [p, time] of Object.entries(times)) execFileSync('touch', ['-h', '-d', `@${time}`, nodePath.join(master, p)]);
  const image = nodePath.join(dir, 'seconds.img');
  const mount = nodePath.join(dir, 'seconds');
  execFileSync('truncate', ['-s', '4M', image]);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-I', '128', image], { stdio: 'ignore' });
  mkdirSync(mount);
  execFileSync('mount', ['-o', 'loop', image, mount]);
  t.teardown(() => execFileSync('umount', [mount]));
  const remote = nodePath.join(mount, 'replica');

  const first = await runCli(['sync', master, remote, '-v']);
  t.is(first.code, 0, first.stderr + first.stdout);
  t.notRegex(first.stdout, /touch/);
  t.regex(first.stderr, /seconds\/replica: its file system keeps file times in steps of 1 s: mtimes are compared in those/);
  t.regex(first.stdout, /4 copied .* 0 inconsistent/);
  for (const [p, time] of Object.entries(times)) {
    t.is(lstatSync(nodePath.join(remote, p), { bigint: true }).mtimeNs, BigInt(time.split('.')[0]!) * 1_000_000_000n, `${p} to the second`);
  }
  for (const command of ['sync', 'diff']) {
    const again = await runCli([command, master, remote]);
    t.is(again.code, 0, again.stdout);
    t.regex(again.stdout, /0 copied \(0 B\), 0 deleted, 0 attributes fixed, 0 inconsistent/);
  }

  // A second's difference is one.
  utimesSync(nodePath.join(remote, 'top'), 1764662304, 1764662304);
  const diff = await runCli(['diff', master, remote, '--format', 'json']);
  t.is(diff.code, 1);
  t.deepEqual(JSON.parse(diff.stdout).remotes[0].actions, [{ op: 'touch', path: 'top' }]);
  const fixed = await runCli(['sync', master, remote]);
  t.is(fixed.code, 0, fixed.stdout);
  t.is(lstatSync(nodePath.join(remote, 'top')).mtimeMs, 1764662305000);
});

test('--modify-window N (or modifyWindow in a job): mtimes at most N seconds apart are the same, as in rsync', async (t) => {
  const { dir, master, remote: remoteOf } = await setupMaster(t, { f: 'a', g: 'b' });
  const remote = remoteOf();
  t.is((await runCli(['sync', master, remote])).code, 0);
  utimesSync(nodePath.join(remote, 'f'), 1_700_000_002, 1_700_000_002);
  utimesSync(nodePath.join(remote, 'g'), 1_699_999_996, 1_699_999_996);

  const within = await runCli(['diff', master, remote, '--modify-window', '2', '--format', 'json']);
  t.is(within.code, 1);
  t.deepEqual(JSON.parse(within.stdout).remotes[0].actions, [{ op: 'touch', path: 'g' }]);
  const config = nodePath.join(dir, 'job.json');
  writeFileSync(config, JSON.stringify({ jobs: { j: { master, remotes: [remote], modifyWindow: 4 } } }));
  t.is((await runCli(['diff', '--config', config])).code, 0);
  t.is((await runCli(['diff', '--config', config, '--modify-window', '0'])).code, 1, 'the command line overrides the job');
  const sync = await runCli(['sync', master, remote, '--modify-window', '2']);
  t.is(sync.code, 0, sync.stderr);
  t.is(lstatSync(nodePath.join(remote, 'f')).mtimeMs, 1_700_000_002_000, 'left as it was');
  t.is(lstatSync(nodePath.join(remote, 'g')).mtimeMs, 1_700_000_000_000);
});
