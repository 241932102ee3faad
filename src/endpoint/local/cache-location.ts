import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as nodePath from 'node:path';

/** The user's cache directory: XDG_CACHE_HOME where it is absolute (the XDG spec has a relative one ignored), else ~/.cache. */
function cacheHome(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return xdg && nodePath.isAbsolute(xdg) ? xdg : nodePath.join(os.homedir(), '.cache');
}

/** Where the checksum cache of a root lives on its host: outside the tree, under the user's cache dir. */
export function cacheFileFor(root: string, base = cacheHome()): string {
  const id = createHash('sha256').update(nodePath.resolve(root)).digest('hex').slice(0, 24);
  return nodePath.join(base, 'replisync', 'checksums', `${id}.json`);
}
