import test from 'ava';
import { splitCommand } from '../../src/transport/host-shell.js';

test('--rsh is split as rsync splits -e: blanks, and quotes that keep them', (t) => {
  t.deepEqual(splitCommand('ssh -p 2222'), ['ssh', '-p', '2222']);
  t.deepEqual(splitCommand(`  ssh  -o "ProxyCommand=nc -X 5 %h %p" -i '/keys/my key' `), ['ssh', '-o', 'ProxyCommand=nc -X 5 %h %p', '-i', '/keys/my key']);
  t.deepEqual(splitCommand(`ssh -o User=''`), ['ssh', '-o', 'User=']);
  t.deepEqual(splitCommand(''), []);
  t.throws(() => splitCommand(`ssh -i 'oops`), { message: /unbalanced ' in/ });
});
