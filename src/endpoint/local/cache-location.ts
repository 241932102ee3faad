import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as nodePath from 'node:path';

/** Where the checksum cache of a root lives on its host: outside the tree, under the user's cache dir. */
export function cacheFileFor(root: string, base = process.env.XDG_CACHE_HOME || nodePath.join(os.homedir(), '.cache')): string {
  const id = createHash('sha256').update(nodePath.resolve(root)).digest('hex').slice(0, 24);
  return nodePath.join(base, 'replisync', 'checksums', `${id}.json`);
}
