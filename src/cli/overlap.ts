import { readlinkSync, realpathSync } from 'node:fs';
import * as nodePath from 'node:path';
import type { Endpoint } from '../endpoint/endpoint.js';
import { UsageError } from '../endpoint/errors.js';
import { relationOf } from '../endpoint/location.js';

/**
 * Where a local path really is: symlinks resolved as far as the path exists (a remote may not
 * exist yet, nor what a symlink to it points to), the rest appended.
 */
function realLocation(path: string, hops = 0): string {
  const abs = nodePath.resolve(path);
  try {
    return realpathSync.native(abs);
  } catch {
    // Missing: a dangling symlink is followed to where it points, else the parent is resolved.
  }
  if (hops < 40) {
    try {
      return realLocation(nodePath.resolve(nodePath.dirname(abs), readlinkSync(abs)), hops + 1);
    } catch {
      // not a symlink
    }
  }
  const parent = nodePath.dirname(abs);
  return parent === abs ? abs : nodePath.join(realLocation(parent, hops), nodePath.basename(abs));
}

const inside = (a: string, b: string): boolean => a.startsWith(b.endsWith('/') ? b : `${b}/`);

/**
 * Refuses local endpoints that are one directory under two names, or one inside another, even
 * through symlinks: a remote inside the master would be written while it is read, and two names
 * for one remote would fight over its lock.
 */
export function checkLocalOverlap(endpoints: { role: 'master' | 'remote'; path: string }[]): void {
  const located = endpoints.map((e) => ({ ...e, real: realLocation(e.path) }));
  for (let i = 0; i < located.length; i++) {
    for (let j = i + 1; j < located.length; j++) {
      const a = located[i]!;
      const b = located[j]!;
      if (a.real === b.real) throw new UsageError(`${a.role} ${a.path} and ${b.role} ${b.path} are the same directory (${a.real})`);
      if (inside(a.real, b.real) || inside(b.real, a.real)) throw new UsageError(`${b.role} ${b.path} and ${a.role} ${a.path} must not contain one another`);
    }
  }
}

/**
 * The same refusals once every host is reached, for what paths cannot tell: two SSH names of one
 * host and directory, a remote over SSH inside a local master. Each host says where its tree is.
 */
export function checkOpenedOverlap(endpoints: { role: 'master' | 'remote'; endpoint: Endpoint }[]): void {
  for (let i = 0; i < endpoints.length; i++) {
    for (let j = i + 1; j < endpoints.length; j++) {
      const a = endpoints[i]!;
      const b = endpoints[j]!;
      if (!a.endpoint.location || !b.endpoint.location) continue;
      const ab = relationOf(a.endpoint.location, b.endpoint.location);
      const ba = relationOf(b.endpoint.location, a.endpoint.location);
      if (ab === 'same') throw new UsageError(`${a.role} ${a.endpoint.label} and ${b.role} ${b.endpoint.label} are the same directory`);
      if (ab || ba) throw new UsageError(`${b.role} ${b.endpoint.label} and ${a.role} ${a.endpoint.label} must not contain one another`);
    }
  }
}
