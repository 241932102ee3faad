import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { loadConfig, pickJob } from '../../src/cli/config-file.js';
import { REPO } from '../helpers/tree.js';

// What the README points newcomers to must load as it is.
test('the bundled example configs are valid', (t) => {
  const fleet = nodePath.join(REPO, 'examples/fleet.json');
  const [name, web] = pickJob(loadConfig(fleet), fleet, 'web');
  t.is(name, 'web');
  t.deepEqual(web.blocks?.map((b) => b.name), ['libs', 'app', 'site']);
  const local = nodePath.join(REPO, 'examples/replisync.json');
  const [, job] = pickJob(loadConfig(local), local, undefined);
  t.true(job.remotes.length >= 1);
});

test('a config saved with a byte order mark loads', (t) => {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), 'replisync-bom-'));
  const file = nodePath.join(dir, 'bom.json');
  writeFileSync(file, `\uFEFF${JSON.stringify({ jobs: { j: { master: 'm', remotes: ['r'] } } })}`);
  t.is(pickJob(loadConfig(file), file, undefined)[0], 'j');
});
