import test from 'ava';
import { AddressError, formatAddress, parseAddress } from '../../src/endpoint/address.js';

test('local paths: a slash before any colon, or no colon at all', (t) => {
  t.deepEqual(parseAddress('/srv/app'), { kind: 'local', path: '/srv/app' });
  t.deepEqual(parseAddress('./site:v2'), { kind: 'local', path: './site:v2' });
  t.deepEqual(parseAddress('site'), { kind: 'local', path: 'site' });
});

test('scp form with user, alias, relative and home paths, IPv6', (t) => {
  t.deepEqual(parseAddress('root@web1:/srv/app'), { kind: 'ssh', user: 'root', host: 'web1', path: '/srv/app' });
  t.deepEqual(parseAddress('web1:app'), { kind: 'ssh', user: undefined, host: 'web1', path: 'app' });
  t.deepEqual(parseAddress('web1:'), { kind: 'ssh', user: undefined, host: 'web1', path: '.' });
  t.deepEqual(parseAddress('[::1]:/srv'), { kind: 'ssh', user: undefined, host: '::1', path: '/srv' });
  t.deepEqual(parseAddress('deploy@[fe80::1%eth0]:srv'), { kind: 'ssh', user: 'deploy', host: 'fe80::1%eth0', path: 'srv' });
  t.deepEqual(parseAddress('./[::1]:/srv'), { kind: 'local', path: './[::1]:/srv' });
});

test('URL form with user and port', (t) => {
  t.deepEqual(parseAddress('ssh://deploy@web2:2222/srv/app'), { kind: 'ssh', user: 'deploy', host: 'web2', port: 2222, path: '/srv/app' });
  t.is(formatAddress(parseAddress('ssh://deploy@web2:2222/srv/app')), 'ssh://deploy@web2:2222/srv/app');
  t.deepEqual(parseAddress('ssh://web2/~/app'), { kind: 'ssh', user: undefined, host: 'web2', port: undefined, path: '~/app' });
  t.deepEqual(parseAddress('ssh://web2/~'), { kind: 'ssh', user: undefined, host: 'web2', port: undefined, path: '~' });
  t.deepEqual(parseAddress('ssh://web2/~x'), { kind: 'ssh', user: undefined, host: 'web2', port: undefined, path: '/~x' });
  t.is(formatAddress(parseAddress('root@web1:/srv/app')), 'root@web1:/srv/app');
});

test('malformed endpoints are refused', (t) => {
  t.throws(() => parseAddress(''), { instanceOf: AddressError });
  t.throws(() => parseAddress('ssh://host'), { instanceOf: AddressError });
  // Port 0 is no port: it was taken as "none given" and the run reached port 22.
  t.throws(() => parseAddress('ssh://host:0/x'), { instanceOf: AddressError, message: /port 0/ });
  t.throws(() => parseAddress('ssh://host:65536/x'), { instanceOf: AddressError });
  t.throws(() => parseAddress('@host:/x'), { instanceOf: AddressError });
  t.throws(() => parseAddress('-oProxyCommand=x:/y'), { instanceOf: AddressError });
});
