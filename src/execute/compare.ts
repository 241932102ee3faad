import pLimit from 'p-limit';
import { type ClassSpec, compileClassification, listable } from '../engine/classification.js';
import type { AttrName, Entry, Listing } from '../engine/entry.js';
import { patchListing, touchedPaths, trustedPlacements } from '../engine/listing-patch.js';
import { checksumCandidates, planRemote } from '../engine/plan.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError } from '../endpoint/errors.js';
import type { RemoteRun } from './remote-run.js';

export interface CompareOptions {
  classes: ClassSpec[];
  attrs: ReadonlySet<AttrName>;
  delete: boolean;
  concurrency: number;
  /** Told what the comparison is at, for a progress line. */
  onPhase?: (text: string) => void;
}

/**
 * One round of comparison: list the master (unless its listing is under way: `masterListed`) and
 * the remotes (all at once), checksum only what the listings cannot decide (the master's files
 * once for every remote), and plan each remote. The master's failure rejects; a remote's failure
 * is recorded on it.
 */
export async function compareAll(master: Endpoint, remotes: RemoteRun[], opts: CompareOptions, masterListed = master.list(opts.classes)): Promise<Listing> {
  const limit = pLimit(opts.concurrency);
  const hosts = alive(remotes).length + 1;
  let listed = 0;
  const tell = (): void => opts.onPhase?.(`listing: ${listed} of ${hosts} endpoints listed`);
  tell();
  const [masterListing] = await Promise.all([
    masterListed.finally(() => {
      listed++;
      tell();
    }),
    ...alive(remotes).map((r) =>
      limit(async () => {
        try {
          r.listing = await r.endpoint.list(opts.classes);
        } catch (err) {
          r.fail(err);
        } finally {
          listed++;
          tell();
        }
      }),
    ),
  ]);
  if (!masterListing.exists) throw new EndpointError('the master directory does not exist', master.label);
  for (const r of alive(remotes)) {
    for (const p of masterListing.badNames ?? []) r.pathError(master.label, p, BAD_NAME + 'not replicated');
    for (const p of r.listing?.badNames ?? []) r.pathError(r.label, p, BAD_NAME + 'left as it is');
  }
  await checksumAndPlan(master, masterListing, remotes, opts);
  return masterListing;
}

/**
 * The verification after a pass: the paths each remote's plan acted on are looked at again on
 * both sides (the rest of the listings stands), and every remote is planned again. A file a
 * commit put in place was looked at by that commit right after: that look stands for it. A
 * remote where a directory held more than listed is listed whole again.
 */
export async function verifyTouched(master: Endpoint, masterListing: Listing, remotes: RemoteRun[], opts: CompareOptions): Promise<Listing> {
  const limit = pLimit(opts.concurrency);
  // A path looked at may now hold what is outside the classification (a remote file in the way of
  // a directory the master has): that never enters a listing, so never gets planned for.
  const classifier = compileClassification(opts.classes);
  const inClass = (entries: Entry[]): Entry[] => entries.filter((e) => listable(classifier, e.path, e.type));
  const touched = new Map(alive(remotes).map((r) => [r, touchedPaths(r.plan)]));
  const union = new Set<string>();
  for (const paths of touched.values()) for (const p of paths) union.add(p);
  const [masterFresh] = await Promise.all([
    master.stat([...union]),
    ...alive(remotes).map((r) =>
      limit(async () => {
        const paths = touched.get(r)!;
        const placed = trustedPlacements(r.plan, r.placed);
        try {
          if (r.relist) {
            r.relist = false;
            r.listing = await r.endpoint.list(opts.classes);
            return;
          }
          const looked = await r.endpoint.stat([...paths].filter((p) => !placed.has(p)));
          r.listing = patchListing(r.listing!, paths, [...inClass(looked), ...placed.values()]);
        } catch (err) {
          r.fail(err);
        }
      }),
    ),
  ]);
  const patched = patchListing(masterListing, union, inClass(masterFresh));
  await checksumAndPlan(master, patched, remotes, opts);
  return patched;
}

const BAD_NAME = 'the name is not valid UTF-8, which replisync cannot handle: ';

function alive(remotes: RemoteRun[]): RemoteRun[] {
  return remotes.filter((r) => r.alive);
}

/**
 * Checksums what the listings' CRCs (vouched for by the hosts' caches, or learnt in an earlier
 * round) leave open, the master's once for all remotes, and plans each remote. What is learnt
 * goes into the listings' entries, so that a later round need not ask again.
 */
async function checksumAndPlan(master: Endpoint, masterListing: Listing, remotes: RemoteRun[], opts: CompareOptions): Promise<void> {
  const limit = pLimit(opts.concurrency);
  const masterOpen = new Map<string, Entry>();
  const remoteOpen = new Map<RemoteRun, Entry[]>();
  for (const r of alive(remotes)) {
    const open: Entry[] = [];
    for (const [m, re] of checksumCandidates(masterListing, r.listing!, opts.attrs)) {
      if (m.crc === undefined) masterOpen.set(m.path, m);
      if (re.crc === undefined) open.push(re);
    }
    remoteOpen.set(r, open);
  }
  const asked = [...remoteOpen.values()].reduce((n, open) => n + open.length, masterOpen.size);
  if (asked > 0) opts.onPhase?.(`checksums of ${asked} files (equal size on both sides)`);
  await Promise.all([
    masterOpen.size > 0 ? master.checksums([...masterOpen.keys()]).then((got) => learn(masterOpen.values(), got)) : undefined,
    ...[...remoteOpen].map(([r, open]) =>
      limit(async () => {
        try {
          if (open.length > 0) learn(open, await r.endpoint.checksums(open.map((e) => e.path)));
        } catch (err) {
          r.fail(err);
        }
      }),
    ),
  ]);
  for (const r of alive(remotes)) {
    r.plan = planRemote({ master: masterListing, remote: r.listing!, options: { attrs: opts.attrs, delete: opts.delete } });
  }
}

/** A file left out of `got` could not be read: it keeps no CRC, and so counts as different. */
function learn(entries: Iterable<Entry>, got: ReadonlyMap<string, number>): void {
  for (const e of entries) {
    const crc = got.get(e.path);
    if (crc !== undefined) e.crc = crc;
  }
}
