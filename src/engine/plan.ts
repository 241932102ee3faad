import type { Action, CopyReason } from './action.js';
import { type AttrName, type Entry, type Listing, comparePaths, depthOf, parentOf, sameMtime } from './entry.js';
import { entriesByPath, pairEntries, perListing } from './pairing.js';

export interface PlanOptions {
  attrs: ReadonlySet<AttrName>;
  /** Remove what exists only on the remote. */
  delete: boolean;
  /** mtimes at most this far apart (ms) are the same: --modify-window. */
  modifyWindowMs?: number;
}

/** The listings' entries carry the CRCs known of them (`crc`): a file pair without both is taken as changed. */
export interface PlanInput {
  master: Listing;
  remote: Listing;
  options: PlanOptions;
}

/** Hard-link groups of a listing: every member of a group of two or more maps to the group's first path. */
export const linkLeaders = perListing((entries): ReadonlyMap<string, string> => groupLinks(entries));

function groupLinks(entries: readonly Entry[]): Map<string, string> {
  const byIno = new Map<number, string[]>();
  for (const e of entries) {
    if (e.type !== 'file' || e.nlink < 2) continue;
    const group = byIno.get(e.ino);
    if (group) group.push(e.path);
    else byIno.set(e.ino, [e.path]);
  }
  const leaders = new Map<string, string>();
  for (const group of byIno.values()) {
    if (group.length < 2) continue;
    group.sort(comparePaths);
    for (const p of group) leaders.set(p, group[0]!);
  }
  return leaders;
}

const NO_LEADERS: ReadonlyMap<string, string> = new Map();

/** A master file and the remote file of the same path. */
export type FilePair = readonly [master: Entry, remote: Entry];

/**
 * The regular files whose content only a checksum can compare: present on both sides as files of
 * equal size. Other names of a master hard-link group are left out (their leader stands for them).
 */
export function checksumCandidates(master: Listing, remote: Listing, attrs: ReadonlySet<AttrName>): FilePair[] {
  const { remoteOf } = pairEntries(master.entries, remote.entries);
  const leaders = attrs.has('links') ? linkLeaders(master.entries) : NO_LEADERS;
  const out: FilePair[] = [];
  master.entries.forEach((m, i) => {
    if (m.type !== 'file') return;
    const leader = leaders.get(m.path);
    if (leader !== undefined && leader !== m.path) return;
    const re = remoteOf[i];
    if (re && re.type === 'file' && re.size === m.size) out.push([m, re]);
  });
  return out;
}

/**
 * Remote files whose inode is shared with a path of another master group: they must get an inode
 * of their own. Of the master groups sharing one remote inode, the one whose leader sorts first keeps it.
 */
function misLinked(master: Listing, remote: Listing, leaders: ReadonlyMap<string, string>): Set<string> {
  const remoteGroups = linkLeaders(remote.entries);
  if (remoteGroups.size === 0) return new Set();
  const byPath = entriesByPath(master.entries);
  const members = new Map<string, string[]>();
  for (const [p, rl] of remoteGroups) {
    if (byPath.get(p)?.type !== 'file') continue;
    const list = members.get(rl);
    if (list) list.push(p);
    else members.set(rl, [p]);
  }
  const wrong = new Set<string>();
  for (const paths of members.values()) {
    const wants = paths.map((p) => leaders.get(p) ?? p);
    const keeper = wants.reduce((a, b) => (comparePaths(a, b) <= 0 ? a : b));
    paths.forEach((p, i) => {
      if (wants[i] !== keeper) wrong.add(p);
    });
  }
  return wrong;
}

/**
 * Attribute fixes go to `fixes`, an mtime to `touches` (they come last). chown before chmod:
 * changing a file's owner clears its set-user-ID and set-group-ID bits.
 */
function attributeActions(m: Entry, r: Entry, input: PlanInput, fixes: Action[], touches: Action[]): void {
  const { attrs } = input.options;
  if (input.remote.canChown) {
    const uidDiffers = attrs.has('owner') && m.uid !== r.uid;
    const gidDiffers = attrs.has('group') && m.gid !== r.gid;
    if (uidDiffers || gidDiffers) fixes.push({ op: 'chown', path: m.path, master: m, remote: r });
  }
  if (attrs.has('mode') && m.type !== 'symlink' && m.mode !== r.mode) {
    fixes.push({ op: 'chmod', path: m.path, master: m, remote: r });
  }
  if (attrs.has('mtime') && !sameMtime(m, r, input.remote.mtimeStepMs, input.options.modifyWindowMs)) touches.push({ op: 'touch', path: m.path, master: m, remote: r });
}

function contentReason(m: Entry, r: Entry | undefined): CopyReason | undefined {
  if (!r) return 'missing';
  if (r.type !== 'file') return 'type';
  if (r.size !== m.size) return 'size';
  if (m.crc === undefined || r.crc === undefined || m.crc !== r.crc) return 'checksum';
  return undefined;
}

/** Whether a path lies below a master special (FIFO, socket, device): what a remote has there is left alone. */
function underUnreplicated(master: readonly Entry[]): (path: string) => boolean {
  const specials = new Set(master.filter((e) => e.type === 'special').map((e) => e.path));
  if (specials.size === 0) return () => false;
  return (path) => {
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) if (specials.has(p)) return true;
    return false;
  };
}

/** Deepest first, so that a directory is emptied before it is removed. */
function deepestFirst(a: Action, b: Action): number {
  return depthOf(b.path) - depthOf(a.path) || comparePaths(a.path, b.path);
}

function removalsOf(entries: Entry[]): Action[] {
  const files = entries.filter((e) => e.type !== 'dir').map((e): Action => ({ op: 'delete', path: e.path, remote: e }));
  const dirs = entries.filter((e) => e.type === 'dir').map((e): Action => ({ op: 'rmdir', path: e.path, remote: e }));
  return [...files.sort(deepestFirst), ...dirs.sort(deepestFirst)];
}

/**
 * The whole decision for one remote: listings (with the CRCs known) in, ordered actions out. Pure.
 * Order: removals that make way for a type change; mkdir (parents first); copies and symlinks;
 * hard links; deletes of extras (files, then directories deepest first); chmod/chown; touch
 * (directories last, deepest first, since creating entries moves a directory's mtime).
 */
export function planRemote(input: PlanInput): Action[] {
  const { options } = input;
  const { remoteOf, inMaster } = pairEntries(input.master.entries, input.remote.entries);
  const links = options.attrs.has('links');
  const leaders = links ? linkLeaders(input.master.entries) : NO_LEADERS;
  const wrongInode = links ? misLinked(input.master, input.remote, leaders) : new Set<string>();

  const makeWay: Entry[] = [];
  const mkdirs: Action[] = [];
  const creates: Action[] = [];
  const hardlinks: Action[] = [];
  const attrFixes: Action[] = [];
  const touches: Action[] = [];
  const copied = new Set<string>();

  // A directory cannot be renamed over, nor a file made into a directory: clear the way first.
  // What a remote directory holds exists only on the remote: with --no-delete it stays, and so
  // the directory cannot go (its removal fails, named, rather than deleting what must be kept).
  input.master.entries.forEach((m, i) => {
    const r = remoteOf[i];
    if (!r || r.type === m.type || m.type === 'special') return;
    if (r.type === 'dir' || m.type === 'dir') {
      makeWay.push(r);
      if (r.type === 'dir' && options.delete) {
        const prefix = `${r.path}/`;
        for (const e of input.remote.entries) if (e.path.startsWith(prefix)) makeWay.push(e);
      }
    }
  });
  const cleared = new Set(makeWay.map((e) => e.path));
  const current = (p: string, paired: Entry | undefined): Entry | undefined => (cleared.has(p) ? undefined : paired);
  const addAttrs = (m: Entry, r: Entry): void => attributeActions(m, r, input, attrFixes, touches);

  input.master.entries.forEach((m, i) => {
    const paired = remoteOf[i];
    const r = current(m.path, paired);
    const typeChanged = paired !== undefined && paired.type !== m.type;
    if (m.type === 'special') return; // not replicated: its path is left as it is on the remote
    if (m.type === 'dir') {
      if (!r) mkdirs.push({ op: 'mkdir', path: m.path, master: m });
      else addAttrs(m, r);
    } else if (m.type === 'symlink') {
      if (!r || r.type !== 'symlink' || r.target !== m.target) {
        creates.push({ op: 'symlink', path: m.path, master: m, remote: r });
      } else addAttrs(m, r);
    } else {
      const leader = leaders.get(m.path);
      if (leader !== undefined && leader !== m.path) return; // other names: after their leader
      let reason = typeChanged ? 'type' : contentReason(m, r);
      if (!reason && wrongInode.has(m.path)) reason = 'links';
      if (reason) {
        creates.push({ op: 'copy', path: m.path, reason, master: m, remote: r });
        copied.add(m.path);
      } else addAttrs(m, r!);
    }
  });

  if (leaders.size > 0) {
    // Paths looked up by name: only hard-link groups need it, so most plans build no map at all.
    const masterByPath = entriesByPath(input.master.entries);
    const remoteByPath = entriesByPath(input.remote.entries);
    for (const [path, leader] of leaders) {
      if (path === leader) continue;
      const m = masterByPath.get(path)!;
      const r = current(path, remoteByPath.get(path));
      const rl = remoteByPath.get(leader);
      const linked = r && r.type === 'file' && rl && r.ino === rl.ino && !copied.has(leader) && !wrongInode.has(path);
      if (!linked) hardlinks.push({ op: 'hardlink', path, linkTo: leader, master: m, remote: r });
    }
  }

  // What only the remote has is removed, or left alone: with --no-delete, below a master special,
  // or a directory holding paths outside the classification, or holding anything left alone
  // (deepest first, so that a directory learns of what it holds, at any depth, before its turn).
  const extras: Entry[] = [];
  const holdsLeftAlone = new Set<string>();
  const underSpecial = underUnreplicated(input.master.entries);
  for (let j = input.remote.entries.length - 1; j >= 0; j--) {
    const r = input.remote.entries[j]!;
    if (inMaster[j] || cleared.has(r.path)) continue;
    const keptDir = r.type === 'dir' && (r.partial === true || holdsLeftAlone.has(r.path));
    if (options.delete && !underSpecial(r.path) && !keptDir) extras.push(r);
    else holdsLeftAlone.add(parentOf(r.path));
  }

  // A remote directory holding entries the run leaves alone (those above, or paths outside the
  // classification) had its mtime moved by them: no difference, or a diff could never come out
  // clean beside a log file an application writes there.
  const ownMtime = (a: Action): boolean => !a.remote?.partial && !holdsLeftAlone.has(a.path);
  const byPathOrder = (a: Action, b: Action): number => comparePaths(a.path, b.path);
  const dirTouches = touches.filter((a) => a.master!.type === 'dir' && ownMtime(a)).sort(deepestFirst);
  const otherTouches = touches.filter((a) => a.master!.type !== 'dir').sort(byPathOrder);
  return [
    ...removalsOf(makeWay),
    ...mkdirs.sort(byPathOrder),
    ...creates.sort(byPathOrder),
    ...hardlinks.sort(byPathOrder),
    ...removalsOf(extras),
    ...attrFixes.sort(byPathOrder),
    ...otherTouches,
    ...dirTouches,
  ];
}
