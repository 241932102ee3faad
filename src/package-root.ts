import { readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageRoot {
  dir: string;
  version: string;
}

let found: PackageRoot | undefined;

/**
 * replisync's own folder and version, found upwards from the running code: it is compiled to
 * dist/src/... (tests) and bundled into dist/cli/... (the command), at different depths, and
 * installed as a dependency the nearest package.json may be another's.
 */
export function packageRoot(): PackageRoot {
  if (found) return found;
  const here = nodePath.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = nodePath.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(nodePath.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'replisync') return (found = { dir, version: pkg.version ?? 'unknown' });
    } catch {
      // no package.json here, or not JSON: look further up
    }
    if (nodePath.dirname(dir) === dir) throw new Error(`replisync's package.json was not found above ${here}`);
  }
}
