import test from 'ava';
import { processAlive, processInstance } from '../../src/endpoint/local/process-alive.js';
import { makeZombie } from '../helpers/zombie.js';

test('a running process is alive; an exited one that is not yet reaped (a zombie) is not; nor is a pid nobody has', async (t) => {
  t.true(processAlive(process.pid));
  t.true(processAlive(1), 'init: alive though not ours to signal (EPERM when not root)');
  const zombie = await makeZombie();
  t.teardown(zombie.release);
  t.false(processAlive(zombie.pid));
  t.false(processAlive(2 ** 22 + 1), 'above any pid_max');
});

test('a record naming the process instance tells its holder from a later process given the same pid', (t) => {
  const me = processInstance();
  t.regex(me ?? '', /^[0-9a-f-]{36}\/\d+$/, 'boot id and start time');
  t.is(processInstance(process.pid), me);
  t.not(processInstance(1), me);
  t.true(processAlive(process.pid, me));
  t.false(processAlive(process.pid, `${me!.split('/')[0]}/1`), 'started at another time: another process');
  t.false(processAlive(process.pid, '00000000-0000-0000-0000-000000000000/' + me!.split('/')[1]), 'of another boot');
  t.true(processAlive(process.pid), 'a record without one (an older version wrote it) is trusted on its pid');
});
