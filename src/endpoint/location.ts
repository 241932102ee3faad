/**
 * Where an endpoint's tree really is, as its own host sees it: enough to tell, once every host is
 * reached, that two endpoints name one directory (two aliases of one host, a remote over SSH
 * inside a local master) or that one holds the other. Directories are named by device and inode,
 * not by path: two containers on one kernel share a boot id and may both have /srv/app, yet those
 * are different directories, while a directory bind-mounted into both is one.
 */
export interface Location {
  /** The kernel's boot id: one per running machine. */
  boot: string;
  /** "dev:ino" of the root, or of its nearest existing ancestor when it does not exist yet. */
  anchor: string;
  /** The part of the root's path below the anchor ('' when the root exists). */
  rest: string;
  /** "dev:ino" of every directory above the anchor, up to /. */
  above: string[];
}

/** Whether two endpoints are one directory, or the first lies inside the second. */
export function relationOf(a: Location, b: Location): 'same' | 'inside' | undefined {
  if (a.boot !== b.boot) return undefined;
  if (a.anchor === b.anchor) {
    if (a.rest === b.rest) return 'same';
    if (b.rest === '' || a.rest.startsWith(`${b.rest}/`)) return 'inside';
    return undefined;
  }
  return b.rest === '' && a.above.includes(b.anchor) ? 'inside' : undefined;
}

/** A Location as it arrives from an agent; anything malformed is taken as unknown (no check, no harm). */
export function locationFrom(v: unknown): Location | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const l = v as Record<string, unknown>;
  const ok = typeof l.boot === 'string' && typeof l.anchor === 'string' && typeof l.rest === 'string' && Array.isArray(l.above) && l.above.every((x) => typeof x === 'string');
  return ok ? { boot: l.boot as string, anchor: l.anchor as string, rest: l.rest as string, above: l.above as string[] } : undefined;
}
