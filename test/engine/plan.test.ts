import test from 'ava';
import { ALL_ATTRS, type AttrName, type Entry, type Listing } from '../../src/engine/entry.js';
import { checksumCandidates, planRemote } from '../../src/engine/plan.js';

let ino = 100;
function file(path: string, extra: Partial<Entry> = {}): Entry {
  return { path, type: 'file', size: 10, mode: 0o644, uid: 0, gid: 0, mtimeMs: 1000, ino: ino++, nlink: 1, ...extra };
}
function dir(path: string, extra: Partial<Entry> = {}): Entry {
  return { path, type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, mtimeMs: 1000, ino: ino++, nlink: 2, ...extra };
}
function link(path: string, target: string, extra: Partial<Entry> = {}): Entry {
  return { path, type: 'symlink', size: 0, mode: 0o777, uid: 0, gid: 0, mtimeMs: 1000, ino: ino++, nlink: 1, target, ...extra };
}
function special(path: string, extra: Partial<Entry> = {}): Entry {
  return { path, type: 'special', size: 0, mode: 0o644, uid: 0, gid: 0, mtimeMs: 1000, ino: ino++, nlink: 1, ...extra };
}
function listing(entries: Entry[], canChown = true): Listing {
  return { exists: true, entries: [...entries].sort((a, b) => (a.path < b.path ? -1 : 1)), leftovers: [], canChown };
}

function plan(master: Entry[], remote: Entry[], opts: { sums?: [Record<string, number>, Record<string, number>]; attrs?: AttrName[]; delete?: boolean; canChown?: boolean; mtimeStepMs?: number; modifyWindowMs?: number } = {}) {
  const [ms, rs] = opts.sums ?? [{}, {}];
  const withSums = (entries: Entry[], sums: Record<string, number>) => entries.map((e) => (e.path in sums ? { ...e, crc: sums[e.path] } : e));
  return planRemote({
    master: listing(withSums(master, ms)),
    remote: { ...listing(withSums(remote, rs), opts.canChown ?? true), mtimeStepMs: opts.mtimeStepMs },
    options: { attrs: new Set(opts.attrs ?? ALL_ATTRS), delete: opts.delete ?? true, modifyWindowMs: opts.modifyWindowMs },
  });
}

const brief = (actions: ReturnType<typeof planRemote>) => actions.map((a) => `${a.op}${a.reason ? `(${a.reason})` : ''} ${a.path}${a.linkTo ? ` == ${a.linkTo}` : ''}`);

test('identical listings and checksums plan nothing', (t) => {
  const m = [dir('a'), file('a/x'), link('l', 'a/x')];
  const r = m.map((e) => ({ ...e, ino: e.ino + 1000 }));
  t.deepEqual(plan(m, r, { sums: [{ 'a/x': 7 }, { 'a/x': 7 }] }), []);
});

test('missing entries are created parents first; extra ones removed deepest first', (t) => {
  const actions = plan(
    [dir('a'), dir('a/b'), file('a/b/f'), link('s', 'a')],
    [dir('old'), dir('old/deeper'), file('old/deeper/g'), file('top')],
  );
  t.deepEqual(brief(actions), [
    'mkdir a',
    'mkdir a/b',
    'copy(missing) a/b/f',
    'symlink s',
    'delete old/deeper/g',
    'delete top',
    'rmdir old/deeper',
    'rmdir old',
  ]);
});

test('size decides without a checksum; equal size needs equal CRC', (t) => {
  const m = [file('big', { size: 20 }), file('same'), file('changed')];
  const r = [file('big', { size: 10 }), file('same'), file('changed')];
  t.deepEqual(checksumCandidates(listing(m), listing(r), new Set(ALL_ATTRS)).map(([me, re]) => [me.path, re.path]), [['changed', 'changed'], ['same', 'same']]);
  const actions = plan(m, r, { sums: [{ same: 1, changed: 2 }, { same: 1, changed: 3 }] });
  t.deepEqual(brief(actions), ['copy(size) big', 'copy(checksum) changed']);
});

test('a missing checksum (unreadable file) counts as different', (t) => {
  t.deepEqual(brief(plan([file('f')], [file('f')], { sums: [{ f: 1 }, {}] })), ['copy(checksum) f']);
});

test('attribute differences give chown, chmod and touch; directories touched last, deepest first', (t) => {
  // chown first: it clears set-user-ID bits (0o4755 here) that the chmod then sets.
  const m = [dir('d', { mtimeMs: 5 }), dir('d/e', { mtimeMs: 6 }), file('d/e/f', { mode: 0o4755, uid: 1, gid: 2, mtimeMs: 9 })];
  const r = [dir('d', { mtimeMs: 1 }), dir('d/e', { mtimeMs: 1 }), file('d/e/f', { mtimeMs: 1 })];
  const actions = plan(m, r, { sums: [{ 'd/e/f': 1 }, { 'd/e/f': 1 }] });
  t.deepEqual(brief(actions), ['chown d/e/f', 'chmod d/e/f', 'touch d/e/f', 'touch d/e', 'touch d']);
});

test("mtimes are compared in the steps the remote's file system keeps them in: to the millisecond, or rounded down to whole seconds or two", (t) => {
  const at = (mtimeMs: number) => [file('f', { mtimeMs }), dir('d', { mtimeMs })];
  const sums: [Record<string, number>, Record<string, number>] = [{ f: 1 }, { f: 1 }];
  const touched = (master: number, remote: number, mtimeStepMs?: number) => brief(plan(at(master), at(remote), { sums, mtimeStepMs }));
  t.deepEqual(touched(1_700_000_000_123.456, 1_700_000_000_123.001), []);
  t.deepEqual(touched(1_700_000_000_123.456, 1_700_000_000_000), ['touch f', 'touch d']);
  // What a file system of whole seconds holds of the master's time is all it can hold.
  t.deepEqual(touched(1_700_000_000_123.456, 1_700_000_000_000, 1000), []);
  t.deepEqual(touched(1_700_000_000_999, 1_700_000_000_000, 1000), []);
  t.deepEqual(touched(1_700_000_001_000, 1_700_000_000_000, 1000), ['touch f', 'touch d']);
  t.deepEqual(touched(1_700_000_000_123, 1_699_999_999_000, 1000), ['touch f', 'touch d']);
  t.deepEqual(touched(-1_500.5, -2_000, 1000), []);
  t.deepEqual(touched(1_700_000_001_999, 1_700_000_000_000, 2000), []);
  t.deepEqual(touched(1_700_000_002_000, 1_700_000_000_000, 2000), ['touch f', 'touch d']);
});

test('--modify-window: mtimes at most that far apart, either way, are the same', (t) => {
  const at = (mtimeMs: number) => [file('f', { mtimeMs })];
  const sums: [Record<string, number>, Record<string, number>] = [{ f: 1 }, { f: 1 }];
  const touched = (master: number, remote: number, modifyWindowMs: number) => brief(plan(at(master), at(remote), { sums, modifyWindowMs }));
  t.deepEqual(touched(1_700_000_000_000, 1_700_000_002_000, 2000), []);
  t.deepEqual(touched(1_700_000_002_000, 1_700_000_000_000, 2000), []);
  t.deepEqual(touched(1_700_000_002_000.5, 1_700_000_000_000, 2000), ['touch f']);
  t.deepEqual(touched(1_700_000_000_000, 1_700_000_000_001, 0), ['touch f']);
});

test('--attrs limits what is compared; owner is skipped where the remote may not chown', (t) => {
  const m = [file('f', { mode: 0o600, uid: 5, mtimeMs: 3 })];
  const r = [file('f')];
  const sums: [Record<string, number>, Record<string, number>] = [{ f: 1 }, { f: 1 }];
  t.deepEqual(brief(plan(m, r, { sums, attrs: ['mtime'] })), ['touch f']);
  t.deepEqual(brief(plan(m, r, { sums, canChown: false })), ['chmod f', 'touch f']);
  t.deepEqual(brief(plan(m, r, { sums, attrs: ['group'] })), []);
});

test('type changes: the old entry is cleared first when a directory is involved', (t) => {
  const m = [file('was-dir'), dir('was-file'), link('was-file-link', 'x'), file('was-link')];
  const r = [dir('was-dir'), file('was-dir/inner'), file('was-file'), file('was-file-link'), link('was-link', 'y')];
  t.deepEqual(brief(plan(m, r)), [
    'delete was-dir/inner',
    'delete was-file',
    'rmdir was-dir',
    'mkdir was-file',
    'copy(type) was-dir',
    'symlink was-file-link',
    'copy(type) was-link',
  ]);
});

test('symlink retargeted, never followed', (t) => {
  t.deepEqual(brief(plan([link('cur', 'v2')], [link('cur', 'v1')])), ['symlink cur']);
});

test('--no-delete keeps remote-only entries and does not report them', (t) => {
  t.deepEqual(plan([file('a')], [file('a'), file('extra'), dir('xd')], { sums: [{ a: 1 }, { a: 1 }], delete: false }), []);
  // Nor is the mtime of a directory that holds a kept entry (making it moved that mtime).
  const kept = plan([dir('d', { mtimeMs: 1000 }), dir('e', { mtimeMs: 1000 })], [dir('d', { mtimeMs: 2000 }), file('d/extra'), dir('e', { mtimeMs: 2000 })], { delete: false });
  t.deepEqual(brief(kept), ['touch e']);
  t.deepEqual(brief(plan([dir('d', { mtimeMs: 1000 })], [dir('d', { mtimeMs: 2000 }), file('d/extra')])), ['delete d/extra', 'touch d']);
  // Not even to make way for a type change: the directory's removal is planned, and fails while it holds them.
  t.deepEqual(brief(plan([file('d')], [dir('d'), file('d/only-here')], { delete: false })), ['rmdir d', 'copy(type) d']);
  t.deepEqual(brief(plan([file('d')], [dir('d'), file('d/only-here')], { delete: true })), ['delete d/only-here', 'rmdir d', 'copy(type) d']);
});

test('a partial directory (holding paths outside the classification) is never removed', (t) => {
  const actions = plan([], [dir('keep', { partial: true }), file('keep/selected')]);
  t.deepEqual(brief(actions), ['delete keep/selected']);
});

test('nor is any directory above one, however deep, nor above a file kept by --no-delete', (t) => {
  // Only deep/er/est holds paths outside the classification; deep/er only holds deep/er/est.
  const r = [dir('deep'), file('deep/gone'), dir('deep/er'), dir('deep/er/est', { partial: true }), dir('other'), file('other/x')];
  t.deepEqual(brief(plan([], r)), ['delete deep/gone', 'delete other/x', 'rmdir other']);
  const kept = [dir('a'), dir('a/b'), file('a/b/kept'), dir('a/c')];
  t.deepEqual(brief(plan([], kept, { delete: false })), []);
});

test('the mtime of a remote directory holding paths outside the classification is left alone; its mode is not', (t) => {
  const m = [dir('logs', { mtimeMs: 1000, mode: 0o755 }), dir('bin', { mtimeMs: 1000 })];
  const r = [dir('logs', { mtimeMs: 2000, mode: 0o700, partial: true }), dir('bin', { mtimeMs: 2000 })];
  t.deepEqual(brief(plan(m, r)), ['chmod logs', 'touch bin']);
  // Partial on the master only: the remote holds nothing of its own there, so it takes the mtime.
  t.deepEqual(brief(plan([dir('bin', { mtimeMs: 1000, partial: true })], [dir('bin', { mtimeMs: 2000 })])), ['touch bin']);
});

test('a missing hard-link group is one copy and one hardlink per other name', (t) => {
  const m = [file('a', { ino: 1, nlink: 3 }), file('b', { ino: 1, nlink: 3 }), file('c', { ino: 1, nlink: 3 })];
  t.deepEqual(brief(plan(m, [])), ['copy(missing) a', 'hardlink b == a', 'hardlink c == a']);
});

test('a broken hard-link group on the remote is relinked without copying', (t) => {
  const m = [file('a', { ino: 1, nlink: 2 }), file('b', { ino: 1, nlink: 2 })];
  const r = [file('a', { ino: 50, nlink: 1 }), file('b', { ino: 51, nlink: 1 })];
  t.deepEqual(brief(plan(m, r, { sums: [{ a: 4 }, { a: 4 }] })), ['hardlink b == a']);
});

test('files linked on the remote but separate on the master are split', (t) => {
  const m = [file('a'), file('b')];
  const r = [file('a', { ino: 9, nlink: 2 }), file('b', { ino: 9, nlink: 2 })];
  t.deepEqual(brief(plan(m, r, { sums: [{ a: 1, b: 1 }, { a: 1, b: 1 }] })), ['copy(links) b']);
});

test('a copied leader takes its other names along', (t) => {
  const m = [file('a', { ino: 1, nlink: 2 }), file('b', { ino: 1, nlink: 2 })];
  const r = [file('a', { ino: 7, nlink: 2 }), file('b', { ino: 7, nlink: 2 })];
  t.deepEqual(brief(plan(m, r, { sums: [{ a: 1 }, { a: 2 }] })), ['copy(checksum) a', 'hardlink b == a']);
});

test('without the links attribute, hard links are plain files', (t) => {
  const m = [file('a', { ino: 1, nlink: 2 }), file('b', { ino: 1, nlink: 2 })];
  t.deepEqual(brief(plan(m, [], { attrs: ['mode', 'mtime'] })), ['copy(missing) a', 'copy(missing) b']);
});

test('each action carries what it expects on the remote', (t) => {
  const r = file('f', { size: 1 });
  const [a] = plan([file('f', { size: 2 })], [r]);
  t.is(a!.remote, r);
  const [b] = plan([file('g')], []);
  t.is(b!.remote, undefined);
});

test('a remote FIFO, socket or device is deleted or replaced; a master one is not replicated and its path is left alone', (t) => {
  const actions = plan(
    [dir('d'), file('d/f'), dir('d/sub'), special('p'), special('q'), special('same', { mtimeMs: 5 })],
    [dir('d'), special('d/f'), special('d/sub'), special('extra'), dir('p'), file('p/inside'), dir('p/deeper'), file('q', { size: 3 }), special('same', { mode: 0o600 })],
  );
  t.deepEqual(brief(actions), ['delete d/sub', 'mkdir d/sub', 'copy(type) d/f', 'delete extra']);
});
