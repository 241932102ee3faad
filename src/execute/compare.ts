import pLimit from 'p-limit';
import { type ClassSpec, compileClassification, listable } from '../engine/classification.js';
import { type Entry, type Listing, holdsLeftovers } from '../engine/entry.js';
import { patchListing, touchedPaths, trustedPlacements } from '../engine/listing-patch.js';
import { type PlanOptions, checksumCandidates, planRemote } from '../engine/plan.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError } from '../endpoint/errors.js';
import type { RemoteRun } from './remote-run.js';

/** What the planner is told (attrs, delete, modify window) comes through as it is. */
export interface CompareOptions extends PlanOptions {
  classes: ClassSpec[];
  concurrency: number;
  /** Told what the comparison is at, for a progress line. */
  onPhase?: (text: string) => void;
  verbose?: (message: string) => void;
}

/**
 * One round of comparison: list the master (unless its listing is under way: `masterListed`), and
 * each remote as a slot of the concurrency frees: list it, checksum only what the listings cannot
 * decide (a master file once for every remote), plan it. A remote found identical keeps nothing of
 * its listing: however many remotes, the run holds the listings of those it works on. The
 * master's failure rejects; a remote's failure is recorded on it.
 */
export async function compareAll(master: Endpoint, remotes: RemoteRun[], opts: CompareOptions, masterListed = master.list(opts.classes)): Promise<Listing> {
  const limit = pLimit(opts.concurrency);
  const hosts = alive(remotes).length + 1;
  let listed = 0;
  const tell = (): void => opts.onPhase?.(`listing: ${listed} of ${hosts} endpoints listed`);
  tell();
  const masterReady = masterListed
    .finally(() => {
      listed++;
      tell();
    })
    .then((listing) => {
      if (!listing.exists) throw new EndpointError('the master directory does not exist', master.label);
      return listing;
    });
  const sums = new MasterChecksums(master);
  const [masterListing] = await Promise.all([
    masterReady,
    ...alive(remotes).map((r) =>
      limit(async () => {
        try {
          r.listing = await (await r.open()).list(opts.classes);
        } catch (err) {
          r.fail(err);
          return;
        } finally {
          listed++;
          tell();
        }
        const step = r.listing.mtimeStepMs;
        if (step !== undefined) opts.verbose?.(`${r.label}: its file system keeps file times in steps of ${step >= 1000 ? `${step / 1000} s` : `${step} ms`}: mtimes are compared in those`);
        const m = await masterReady;
        for (const p of m.badNames ?? []) r.pathError(master.label, p, BAD_NAME + 'not replicated');
        for (const p of r.listing.badNames ?? []) r.pathError(r.label, p, BAD_NAME + 'left as it is');
        await checksumAndPlan(sums, m, r, opts);
        if (r.alive && r.plan.length === 0 && r.listing.exists && !holdsLeftovers(r.listing)) r.listing = undefined;
      }),
    ),
  ]);
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
  const sums = new MasterChecksums(master);
  await Promise.all(alive(remotes).map((r) => limit(() => checksumAndPlan(sums, patched, r, opts))));
  return patched;
}

const BAD_NAME = 'the name is not valid UTF-8, which replisync cannot handle: ';

function alive(remotes: RemoteRun[]): RemoteRun[] {
  return remotes.filter((r) => r.alive);
}

/**
 * The master's checksums of one round, each file read once however many remotes ask for it,
 * also when they ask at once. What is learnt goes into the listing's entries.
 */
class MasterChecksums {
  private readonly asked = new Map<string, Promise<void>>();

  constructor(private readonly master: Endpoint) {}

  /** Resolves once every entry's CRC is known (or its file found unreadable: no CRC, so different). */
  async learn(entries: Entry[]): Promise<void> {
    const ask = entries.filter((e) => e.crc === undefined && !this.asked.has(e.path));
    if (ask.length > 0) {
      const reading = this.master.checksums(ask.map((e) => e.path)).then((got) => learn(ask, got));
      for (const e of ask) this.asked.set(e.path, reading);
    }
    await Promise.all(new Set(entries.map((e) => this.asked.get(e.path))));
  }
}

/**
 * Checksums what the listings' CRCs (vouched for by the hosts' caches, or learnt in an earlier
 * round) leave open on both sides at once, and plans the remote. What is learnt goes into the
 * listings' entries, so that a later round need not ask again. A master failure rejects.
 */
async function checksumAndPlan(sums: MasterChecksums, masterListing: Listing, r: RemoteRun, opts: CompareOptions): Promise<void> {
  if (!r.alive) return;
  const masterOpen: Entry[] = [];
  const remoteOpen: Entry[] = [];
  for (const [m, re] of checksumCandidates(masterListing, r.listing!, opts.attrs)) {
    if (m.crc === undefined) masterOpen.push(m);
    if (re.crc === undefined) remoteOpen.push(re);
  }
  if (remoteOpen.length > 0) opts.onPhase?.(`${r.label}: checksums of ${remoteOpen.length} files (equal size on both sides)`);
  const remoteRead = async (): Promise<void> => {
    try {
      if (remoteOpen.length > 0) learn(remoteOpen, await r.endpoint.checksums(remoteOpen.map((e) => e.path)));
    } catch (err) {
      r.fail(err);
    }
  };
  await Promise.all([sums.learn(masterOpen), remoteRead()]);
  if (r.alive) r.plan = planRemote({ master: masterListing, remote: r.listing!, options: opts });
}

/** A file left out of `got` could not be read: it keeps no CRC, and so counts as different. */
function learn(entries: Iterable<Entry>, got: ReadonlyMap<string, number>): void {
  for (const e of entries) {
    const crc = got.get(e.path);
    if (crc !== undefined) e.crc = crc;
  }
}
