import pLimit from 'p-limit';
import type { ClassSpec } from '../engine/classification.js';
import type { AttrName, Listing } from '../engine/entry.js';
import { checksumCandidates, planRemote } from '../engine/plan.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError } from '../endpoint/errors.js';
import type { RemoteRun } from './remote-run.js';

export interface CompareOptions {
  classes: ClassSpec[];
  attrs: ReadonlySet<AttrName>;
  delete: boolean;
  concurrency: number;
}

/**
 * One round of comparison: list the master and the remotes (all at once), checksum only what the
 * listings cannot decide (the master's files once for every remote), and plan each remote.
 * The master's failure rejects; a remote's failure is recorded on it.
 */
export async function compareAll(master: Endpoint, remotes: RemoteRun[], opts: CompareOptions): Promise<Listing> {
  const limit = pLimit(opts.concurrency);
  const live = (): RemoteRun[] => remotes.filter((r) => r.alive);
  const [masterListing] = await Promise.all([
    master.list(opts.classes),
    ...live().map((r) =>
      limit(async () => {
        try {
          r.listing = await r.endpoint.list(opts.classes);
        } catch (err) {
          r.fail(err);
        }
      }),
    ),
  ]);
  if (!masterListing.exists) throw new EndpointError('the master directory does not exist', master.label);

  // Checksums the hosts' caches vouched for came with the listings; only the rest is asked for.
  const masterSums = knownSums(masterListing);
  const remoteSums = new Map<RemoteRun, Map<string, number>>();
  const wanted = new Map<RemoteRun, string[]>();
  const union = new Set<string>();
  for (const r of live()) {
    const sums = knownSums(r.listing!);
    remoteSums.set(r, sums);
    const paths = checksumCandidates(masterListing, r.listing!, opts.attrs);
    wanted.set(r, paths.filter((p) => !sums.has(p)));
    for (const p of paths) if (!masterSums.has(p)) union.add(p);
  }
  await Promise.all([
    union.size > 0 ? master.checksums([...union]).then((got) => addAll(masterSums, got)) : undefined,
    ...live().map((r) =>
      limit(async () => {
        const paths = wanted.get(r)!;
        try {
          if (paths.length > 0) addAll(remoteSums.get(r)!, await r.endpoint.checksums(paths));
        } catch (err) {
          r.fail(err);
        }
      }),
    ),
  ]);
  for (const r of live()) {
    r.plan = planRemote({
      master: masterListing,
      remote: r.listing!,
      masterSums,
      remoteSums: remoteSums.get(r)!,
      options: { attrs: opts.attrs, delete: opts.delete },
    });
  }
  return masterListing;
}

function knownSums(listing: Listing): Map<string, number> {
  const sums = new Map<string, number>();
  for (const e of listing.entries) if (e.crc !== undefined) sums.set(e.path, e.crc);
  return sums;
}

function addAll(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [p, crc] of from) into.set(p, crc);
}
