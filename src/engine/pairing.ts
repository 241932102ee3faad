import type { Entry } from './entry.js';

/** The master's and a remote's entries side by side: what the planner walks instead of looking paths up. */
export interface Pairing {
  /** For each master entry (same index), the remote entry of the same path. */
  remoteOf: (Entry | undefined)[];
  /** For each remote entry (same index), whether the master has its path. */
  inMaster: boolean[];
}

/**
 * `derive` made once per listing: the planner asks the same question of the master's listing for
 * every remote, and of each listing twice (checksum candidates, then the plan). Listings' entry
 * arrays are never changed once made (a new look makes a new array), so the array is the key.
 */
export function perListing<T>(derive: (entries: readonly Entry[]) => T): (entries: readonly Entry[]) => T {
  const memo = new WeakMap<readonly Entry[], T>();
  return (entries) => {
    if (!memo.has(entries)) memo.set(entries, derive(entries));
    return memo.get(entries)!;
  };
}

const isSorted = perListing((entries) => {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.path < entries[i]!.path)) return false;
  return true;
});

/** Entries by path, for the few lookups that pairing cannot answer (hard-link groups). */
export const entriesByPath = perListing((entries): ReadonlyMap<string, Entry> => new Map(entries.map((e) => [e.path, e])));

const pairingsOf = perListing(() => new WeakMap<readonly Entry[], Pairing>());

/**
 * Pairs two listings' entries by path. Listings come sorted, so one merge does it (no map of
 * 50,000 paths per remote and round); entries out of order are paired through a map instead, so
 * a listing that broke the rule still pairs right. Pure: the same two arrays give the same
 * pairing, which is kept for the other questions asked about them in a round.
 */
export function pairEntries(master: readonly Entry[], remote: readonly Entry[]): Pairing {
  const pairings = pairingsOf(master);
  let pairing = pairings.get(remote);
  if (!pairing) {
    pairing = isSorted(master) && isSorted(remote) ? merge(master, remote) : lookUp(master, remote);
    pairings.set(remote, pairing);
  }
  return pairing;
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
