import type { Action } from './action.js';
import { type Entry, type Listing, comparePaths } from './entry.js';

/** The paths a plan acts on: what a verification looks at again, on both sides. */
export function touchedPaths(plan: readonly Action[]): Set<string> {
  return new Set(plan.map((a) => a.path));
}

/**
 * A listing with the entries of `paths` replaced by what a fresh look at them found (`fresh`; a
 * path missing from it is gone). A directory keeps the `partial` mark of its previous entry: only
 * a full listing can tell what else it holds. Pure.
 */
export function patchListing(listing: Listing, paths: ReadonlySet<string>, fresh: readonly Entry[]): Listing {
  const before = new Map<string, Entry>();
  const entries: Entry[] = [];
  for (const e of listing.entries) {
    if (paths.has(e.path)) before.set(e.path, e);
    else entries.push(e);
  }
  for (const e of fresh) {
    if (!paths.has(e.path)) continue;
    const old = before.get(e.path);
    entries.push(e.type === 'dir' && old?.type === 'dir' && old.partial ? { ...e, partial: true } : e);
  }
  entries.sort((a, b) => comparePaths(a.path, b.path));
  return { ...listing, exists: listing.exists || fresh.length > 0, entries };
}
