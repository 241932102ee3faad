import type { Entry } from './entry.js';

/** The master's and a remote's entries side by side: what the planner walks instead of looking paths up. */
export interface Pairing {
  /** For each master entry (same index), the remote entry of the same path. */
  remoteOf: (Entry | undefined)[];
  /** For each remote entry (same index), whether the master has its path. */
  inMaster: boolean[];
}

const memo = new WeakMap<readonly Entry[], WeakMap<readonly Entry[], Pairing>>();

/**
 * Pairs two listings' entries by path. Listings come sorted, so one merge does it (no map of
 * 50,000 paths per remote and round); entries out of order are paired through a map instead, so
 * a listing that broke the rule still pairs right. Pure: the same two arrays give the same
 * pairing, which is kept for the other questions asked about them in a round.
 */
export function pairEntries(master: readonly Entry[], remote: readonly Entry[]): Pairing {
  let byRemote = memo.get(master);
  const known = byRemote?.get(remote);
  if (known) return known;
  const pairing = isSorted(master) && isSorted(remote) ? merge(master, remote) : lookUp(master, remote);
  if (!byRemote) memo.set(master, (byRemote = new WeakMap()));
  byRemote.set(remote, pairing);
  return pairing;
}

function isSorted(entries: readonly Entry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.path < entries[i]!.path)) return false;
  return true;
}

function merge(master: readonly Entry[], remote: readonly Entry[]): Pairing {
  const remoteOf = new Array<Entry | undefined>(master.length).fill(undefined);
  const inMaster = new Array<boolean>(remote.length).fill(false);
  let j = 0;
  for (let i = 0; i < master.length && j < remote.length; i++) {
    const p = master[i]!.path;
    while (j < remote.length && remote[j]!.path < p) j++;
    if (j < remote.length && remote[j]!.path === p) {
      remoteOf[i] = remote[j];
      inMaster[j++] = true;
    }
  }
  return { remoteOf, inMaster };
}

function lookUp(master: readonly Entry[], remote: readonly Entry[]): Pairing {
  const index = new Map(remote.map((e, j) => [e.path, j]));
  const remoteOf = new Array<Entry | undefined>(master.length).fill(undefined);
  const inMaster = new Array<boolean>(remote.length).fill(false);
  master.forEach((m, i) => {
    const j = index.get(m.path);
    if (j !== undefined) {
      remoteOf[i] = remote[j];
      inMaster[j] = true;
    }
  });
  return { remoteOf, inMaster };
}

const byPathMemo = new WeakMap<readonly Entry[], Map<string, Entry>>();

/** Entries by path, for the few lookups that pairing cannot answer (hard-link groups); made once per listing. */
export function entriesByPath(entries: readonly Entry[]): ReadonlyMap<string, Entry> {
  let map = byPathMemo.get(entries);
  if (!map) byPathMemo.set(entries, (map = new Map(entries.map((e) => [e.path, e]))));
  return map;
}
