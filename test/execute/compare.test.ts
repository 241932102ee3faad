import test from 'ava';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { EMPTY_CLASS } from '../../src/engine/classification.js';
import { ALL_ATTRS } from '../../src/engine/entry.js';
import type { Endpoint } from '../../src/endpoint/endpoint.js';
import { EndpointError } from '../../src/endpoint/errors.js';
import { LocalEndpoint } from '../../src/endpoint/local/local-endpoint.js';
import { UnreachableEndpoint } from '../../src/endpoint/unreachable.js';
import { compareAll } from '../../src/execute/compare.js';
import { RemoteRun } from '../../src/execute/remote-run.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanup, makeTree, tempDir } from '../helpers/tree.js';

/** A real master that notes every path whose checksum it is asked for. */
class CountingMaster extends LocalEndpoint {
  readonly asked: string[] = [];

  override checksums(paths: string[]): Promise<Map<string, number>> {
    this.asked.push(...paths);
    return super.checksums(paths);
  }
}

test('remotes compared at once: each master file is read once, and an identical remote keeps nothing of its listing', async (t) => {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const at = (name: string): string => nodePath.join(dir, name);
  await makeTree(at('m'), { 'a/one': 'one', 'a/two': 'two', 'b/three': 'three', 'b/four': 'four' });
  for (const r of ['same1', 'same2', 'edited', 'short']) execFileSync('cp', ['-a', at('m'), at(r)]);
  // Same size, other content: only a checksum tells; a missing file needs none.
  writeFileSync(at('edited/a/two'), 'TWO');
  execFileSync('rm', [at('short/b/four')]);

  const master = new CountingMaster(at('m'));
  const runs = ['same1', 'same2', 'edited', 'short'].map((r) => new RemoteRun(r, Promise.resolve(new LocalEndpoint(at(r)))));
  await compareAll(master, runs, { classes: [EMPTY_CLASS], attrs: new Set(ALL_ATTRS), delete: true, concurrency: 4 });

  t.deepEqual(master.asked.sort(), ['a/one', 'a/two', 'b/four', 'b/three'], 'every common file once, however many remotes ask');
  const [same1, same2, edited, short] = runs as [RemoteRun, RemoteRun, RemoteRun, RemoteRun];
  for (const r of [same1, same2]) {
    t.deepEqual(r.plan, []);
    t.is(r.listing, undefined, 'nothing to do: its listing is let go');
  }
  t.deepEqual(
    edited.plan.map((a) => [a.op, a.path, a.reason]),
    [['copy', 'a/two', 'checksum']],
  );
  t.truthy(edited.listing, 'kept for the verification of what it will be done');
  t.deepEqual(
    short.plan.filter((a) => a.op === 'copy').map((a) => [a.path, a.reason]),
    [['b/four', 'missing']],
  );
  t.truthy(short.listing);
});

test('a remote still being reached holds back only itself: the others are compared meanwhile', async (t) => {
  const dir = tempDir();
  t.teardown(() => cleanup(dir));
  const at = (name: string): string => nodePath.join(dir, name);
  await makeTree(at('m'), { 'a/one': 'one' });
  let answer: (endpoint: Endpoint) => void = () => undefined;
  const slow = new RemoteRun('slow:/srv', new Promise<Endpoint>((resolve) => (answer = resolve)));
  const quick = new RemoteRun(at('r'), Promise.resolve(new LocalEndpoint(at('r'))));
  const comparing = compareAll(new LocalEndpoint(at('m')), [slow, quick], { classes: [EMPTY_CLASS], attrs: new Set(ALL_ATTRS), delete: true, concurrency: 4 });
  // Polled, not timed: the quick remote gets its plan while the slow one is not reached at all.
  while (quick.plan.length === 0) await sleep(5);
  t.deepEqual(quick.plan.filter((a) => a.op === 'copy').map((a) => a.path), ['a/one']);
  answer(new UnreachableEndpoint('slow:/srv', new EndpointError('cannot connect to slow port 22: timed out', 'slow:/srv')));
  await comparing;
  t.true(slow.failed);
  t.deepEqual(slow.errors, ['slow:/srv: cannot connect to slow port 22: timed out']);
});
