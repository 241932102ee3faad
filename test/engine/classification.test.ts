import test from 'ava';
import { ClassificationError, EMPTY_CLASS, compileClassification, isTempName, normalizeGlob, listable } from '../../src/engine/classification.js';

const spec = (s: Partial<typeof EMPTY_CLASS>) => ({ ...EMPTY_CLASS, ...s });

test('globs without a slash match names at any depth, like rsync and gitignore', (t) => {
  const c = compileClassification([spec({ exclude: ['*.tmp'] })]);
  t.true(c.excluded('a.tmp', false));
  t.true(c.excluded('deep/er/b.tmp', false));
  t.false(c.excluded('a.tmpx', false));
  t.is(normalizeGlob('/top.txt'), 'top.txt');
  t.is(normalizeGlob('dir/'), '**/dir');
});

test('a trailing slash matches directories only, as in rsync and gitignore', (t) => {
  const c = compileClassification([spec({ exclude: ['cache/', '/build/', '*.log'] })]);
  t.true(c.excluded('cache', true));
  t.true(c.excluded('deep/cache', true));
  t.false(c.excluded('cache', false), 'a file named cache stays');
  t.true(c.excluded('build', true));
  t.false(c.excluded('sub/build', true), 'a leading slash anchors it');
  t.true(c.excluded('x.log', false));
  t.true(c.excluded('x.log', true), 'no slash: any type');
});

test('dir/** selects the directory itself and everything below', (t) => {
  const c = compileClassification([spec({ include: ['bin/**'] })]);
  t.true(c.included('bin', true));
  t.true(c.included('bin/x/y', false));
  t.false(c.included('lib/x', false));
});

test('regexes apply to the relative path; class and job lists must both match', (t) => {
  const c = compileClassification([spec({ include: ['lib/**'] }), spec({ excludeRegex: ['\\.debug$'], includeRegex: ['^lib/[a-z]+\\.so'] })]);
  t.true(c.included('lib/core.so', false));
  t.false(c.included('lib/Core.so', false));
  t.true(c.excluded('lib/core.so.debug', false));
  t.false(c.included('bin/core.so', false));
});

test('dotfiles match; no includes means everything', (t) => {
  const c = compileClassification([spec({})]);
  t.true(c.included('.hidden/x', false));
  t.false(c.excluded('.hidden', true));
});

test('bad regular expressions and empty globs are refused with the pattern', (t) => {
  const err = t.throws(() => compileClassification([spec({ includeRegex: ['(unclosed'] })]), { instanceOf: ClassificationError });
  t.regex(err!.message, /\(unclosed/);
  t.throws(() => compileClassification([spec({ exclude: [' '] })]), { instanceOf: ClassificationError });
});

test('temp file names of replisync are recognised', (t) => {
  t.true(isTempName('.replisync-0123abcd-1z.tmp'));
  t.false(isTempName('.replisync-x.tmp'));
  t.false(isTempName('replisync-0123abcd-1.tmp'));
});

test('listable: what a listing may hold, by path and type (a fresh look at a path is kept to it)', (t) => {
  const c = compileClassification([{ include: ['**/c*'], exclude: ['cache/', '*.log'], includeRegex: [], excludeRegex: [] }]);
  t.true(listable(c, 'a', 'dir'), 'a directory not selected itself may hold selected entries');
  t.false(listable(c, 'a', 'file'), 'not selected');
  t.true(listable(c, 'a/conf', 'file'));
  t.true(listable(c, 'a/conf', 'symlink'));
  t.false(listable(c, 'a/cache', 'dir'), 'excluded directory');
  t.true(listable(c, 'a/cache', 'file'), 'cache/ excludes directories only');
  t.false(listable(c, 'a/c.log', 'file'), 'excluded');
});
