import test from 'ava';
import { checkRelative, resolveInside } from '../../src/endpoint/local/safe-path.js';

test('only plain relative paths pass, and they are joined to the root as they are', (t) => {
  for (const ok of ['a', 'a/b', '...', 'a/..b', '.x/y.', 'a b/ü/-n', 'x\ny']) {
    t.is(checkRelative(ok), undefined, ok);
    t.is(resolveInside('/r', ok), `/r/${ok}`);
  }
  t.is(resolveInside('/', 'a/b'), '/a/b');
  for (const bad of ['', '/a', 'a//b', 'a/', './a', 'a/.', 'a/./b', '..', '../a', 'a/..', 'a/../b', '.', 'a\0b']) {
    t.truthy(checkRelative(bad), JSON.stringify(bad));
    t.throws(() => resolveInside('/r', bad), { code: 'EINVAL' });
  }
});
