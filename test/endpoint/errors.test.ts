import test from 'ava';
import { lstatSync } from 'node:fs';
import { reasonOf } from '../../src/endpoint/errors.js';

test("a system call's error reads as the system's reason; one of our wording keeps it, code and all", (t) => {
  const fromSystem = t.throws(() => lstatSync('/nonexistent/replisync'));
  t.is(reasonOf(fromSystem), 'no such file or directory (ENOENT)');
  const ours = Object.assign(new Error('directory not empty (ENOTEMPTY): it holds entries no run removes'), { code: 'ENOTEMPTY' });
  t.is(reasonOf(ours), ours.message);
  t.is(reasonOf(Object.assign(new Error('parent a is not a directory'), { code: 'ENOTDIR' })), 'parent a is not a directory');
  t.is(reasonOf('plain words'), 'plain words');
});
