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

  const wanted = new Map<RemoteRun, string[]>();
  const union = new Set<string>();
  for (const r of live()) {
    const paths = checksumCandidates(masterListing, r.listing!, opts.attrs);
    wanted.set(r, paths);
    for (const p of paths) union.add(p);
  }
  const remoteSums = new Map<RemoteRun, Map<string, number>>();
  const [masterSums] = await Promise.all([
    union.size > 0 ? master.checksums([...union]) : Promise.resolve(new Map<string, number>()),
    ...live().map((r) =>
      limit(async () => {
        const paths = wanted.get(r)!;
        try {
          remoteSums.set(r, paths.length > 0 ? await r.endpoint.checksums(paths) : new Map());
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
