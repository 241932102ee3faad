import test from 'ava';
import { ClassificationError, EMPTY_CLASS, compileClassification, isTempName, normalizeGlob } from '../../src/engine/classification.js';

const spec = (s: Partial<typeof EMPTY_CLASS>) => ({ ...EMPTY_CLASS, ...s });

test('globs without a slash match names at any depth, like rsync and gitignore', (t) => {
  const c = compileClassification([spec({ exclude: ['*.tmp'] })]);
  t.true(c.excluded('a.tmp'));
  t.true(c.excluded('deep/er/b.tmp'));
  t.false(c.excluded('a.tmpx'));
  t.is(normalizeGlob('/top.txt'), 'top.txt');
  t.is(normalizeGlob('dir/'), '**/dir');
});

test('dir/** selects the directory itself and everything below', (t) => {
  const c = compileClassification([spec({ include: ['bin/**'] })]);
  t.true(c.included('bin'));
  t.true(c.included('bin/x/y'));
  t.false(c.included('lib/x'));
});

test('regexes apply to the relative path; class and job lists must both match', (t) => {
  const c = compileClassification([spec({ include: ['lib/**'] }), spec({ excludeRegex: ['\\.debug$'], includeRegex: ['^lib/[a-z]+\\.so'] })]);
  t.true(c.included('lib/core.so'));
  t.false(c.included('lib/Core.so'));
  t.true(c.excluded('lib/core.so.debug'));
  t.false(c.included('bin/core.so'));
});

test('dotfiles match; no includes means everything', (t) => {
  const c = compileClassification([spec({})]);
  t.true(c.included('.hidden/x'));
  t.false(c.excluded('.hidden'));
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
