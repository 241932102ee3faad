import type { Action } from './action.js';
import { type Entry, type Listing, comparePaths } from './entry.js';

/** The paths a plan acts on: what a verification looks at again, on both sides. */
export function touchedPaths(plan: readonly Action[]): Set<string> {
  return new Set(plan.map((a) => a.path));
}

/**
 * Of the entries the commits gave for files they put in place, those a verification can take as
 * they are: the path's only action was that copy, and no hard link was made to it afterwards
 * (its link count moved). Pure.
 */
export function trustedPlacements(plan: readonly Action[], placed: ReadonlyMap<string, Entry>): Map<string, Entry> {
  const actions = new Map<string, number>();
  const linked = new Set<string>();
  for (const a of plan) {
    actions.set(a.path, (actions.get(a.path) ?? 0) + 1);
    if (a.linkTo !== undefined) linked.add(a.linkTo);
  }
  const out = new Map<string, Entry>();
  for (const a of plan) {
    const e = placed.get(a.path);
    if (e && a.op === 'copy' && actions.get(a.path) === 1 && !linked.has(a.path)) out.set(a.path, e);
  }
  return out;
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
