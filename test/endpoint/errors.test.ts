import test from 'ava';
import { lstatSync, renameSync } from 'node:fs';
import { reasonOf } from '../../src/endpoint/errors.js';

test("a system call's error reads as the system's reason; one of our wording keeps it, code and all", (t) => {
  const fromSystem = t.throws(() => lstatSync('/nonexistent/replisync'));
  t.is(reasonOf(fromSystem), 'no such file or directory (ENOENT)');
  const ours = Object.assign(new Error('directory not empty (ENOTEMPTY): it holds entries no run removes'), { code: 'ENOTEMPTY' });
  t.is(reasonOf(ours), ours.message);
  t.is(reasonOf(Object.assign(new Error('parent a is not a directory'), { code: 'ENOTDIR' })), 'parent a is not a directory');
  t.is(reasonOf('plain words'), 'plain words');
});

test("a system call's error of a rarer code reads as node words it, without the path it holds (the caller names the path)", (t) => {
  const tooLong = t.throws(() => lstatSync(`/tmp/${'x'.repeat(300)}`));
  t.is(reasonOf(tooLong), 'name too long (ENAMETOOLONG)');
  const renamed = t.throws(() => renameSync('/nonexistent/a', '/nonexistent/b'));
  t.is(reasonOf(Object.assign(renamed!, { code: 'EFAKE', message: "EFAKE: some new reason, rename '/nonexistent/a' -> '/nonexistent/b'" })), 'some new reason (EFAKE)');
});
