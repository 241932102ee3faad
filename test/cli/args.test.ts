import test from 'ava';
import { parseArgs } from '../../src/cli/args.js';

test('endpoints stay the words given, numbers and dashes included, after -- too', async (t) => {
  t.like(await parseArgs(['diff', 'm', '007', '1e3', '--', '0x10', '-x']), { command: 'diff', endpoints: ['m', '007', '1e3', '0x10', '-x'] });
  t.like(await parseArgs(['sync', '--', '-m', '1.50']), { command: 'sync', endpoints: ['-m', '1.50'] });
});

test('options: lists repeat, a single value given twice keeps the last, a value may start with a dash', async (t) => {
  const args = await parseArgs(['sync', 'm', '--include', 'a', 'r', '--include', '-b', '--max-passes', '2', '--max-passes', '3', '-n', '-q']);
  t.like(args, { command: 'sync', endpoints: ['m', 'r'], include: ['a', '-b'], maxPasses: '3', dryRun: true, quiet: true });
  t.like(await parseArgs(['diff', 'm', 'r', '--no-delete', '--no-cache']), { delete: false, cache: false, dryRun: undefined });
});

test('refused: unknown options, -n on diff, words after agent, --no- of an option that takes a value, or none given', async (t) => {
  await t.throwsAsync(parseArgs(['sync', 'm', 'r', '--frobnicate']), { message: /Unknown argument: frobnicate/ });
  await t.throwsAsync(parseArgs(['diff', 'm', 'r', '-n']), { message: /Unknown argument: n/ });
  await t.throwsAsync(parseArgs(['agent', 'foo']), { message: /Unknown argument: foo/ });
  await t.throwsAsync(parseArgs(['sync', 'm', 'r', '--no-include']), { message: '--no-include: --include takes a value; it has no --no- form' });
  await t.throwsAsync(parseArgs(['sync', 'm', 'r', '--no-max-delete']), { message: /--no-max-delete: --max-delete takes a value/ });
  for (const given of [['--log'], ['--include='], ['--include-regex'], ['--report', ''], ['-i'], ['--exclude-from']]) {
    const name = given[0]!.replace(/=$/, '').replace(/^-i$/, '--identity');
    await t.throwsAsync(parseArgs(['sync', 'm', 'r', ...given]), { message: `${name} needs a value` }, given.join(' '));
  }
  t.like(await parseArgs(['sync', 'm', 'r', '--attrs', '']), { attrs: '' }); // content alone
  await t.throwsAsync(parseArgs(['frobnicate']), { message: /Unknown argument: frobnicate/ });
  await t.throwsAsync(parseArgs([]), { message: 'name a command: sync, diff or agent' });
});
