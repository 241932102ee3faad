import * as os from 'node:os';
import * as nodePath from 'node:path';
import { AddressError } from './address.js';

/**
 * `~` and `~/dir` as a shell expands them, in the home of whoever runs this: on an SSH host, the
 * agent's user, as scp and rsync give `host:~/dir`. Another user's `~name` is refused rather than
 * taken as a directory named "~name".
 */
export function expandHome(path: string): string {
  if (path === '~') return os.homedir();
  if (path.startsWith('~/')) return nodePath.join(os.homedir(), path.slice(2));
  if (path.startsWith('~')) throw new AddressError(`${path.split('/')[0]}: only ~ and ~/ (this user's home) are expanded; give the path in full`);
  return path;
}
