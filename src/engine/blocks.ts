import picomatch from 'picomatch';
import type { Action } from './action.js';
import { normalizeGlob } from './classification.js';
import { parentOf } from './entry.js';

/** A block declared in the config file: files matching `include` change together. */
export interface BlockSpec {
  name: string;
  include: string[];
  preBlock?: string;
  postBlock?: string;
}

export interface Block {
  name: string;
  actions: Action[];
  preBlock?: string;
  postBlock?: string;
}

/** Name of the block of top-level files when blocks are the top-level directories. */
export const ROOT_BLOCK = '/';
/** Name of the block of paths that match no declared block. */
export const REST_BLOCK = '(rest)';

interface Slots {
  names: string[];
  specs: (BlockSpec | undefined)[];
  indexOf(path: string): number;
}

function declaredSlots(specs: readonly BlockSpec[]): Slots {
  const matchers = specs.map((s) => picomatch(s.include.map(normalizeGlob), { dot: true }));
  return {
    names: [...specs.map((s) => s.name), REST_BLOCK],
    specs: [...specs, undefined],
    indexOf: (path) => {
      const i = matchers.findIndex((m) => m(path));
      return i < 0 ? specs.length : i;
    },
  };
}

/** The first part of a path; the path itself at the top level. */
function topOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? path : path.slice(0, slash);
}

function topLevelSlots(actions: readonly Action[]): Slots {
  const tops = new Set<string>();
  for (const a of actions) {
    // A top-level directory is its own block too, even when only the directory itself changes.
    if (a.path.includes('/') || (a.master ?? a.remote)?.type === 'dir') tops.add(topOf(a.path));
  }
  const names = [...tops].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  return {
    names: [...names, ROOT_BLOCK],
    specs: names.map(() => undefined),
    indexOf: (path) => index.get(topOf(path)) ?? names.length,
  };
}

/** The actions that put an entry at their path. */
const CREATES = new Set<Action['op']>(['mkdir', 'copy', 'symlink', 'hardlink']);

function isDirAction(a: Action): boolean {
  return a.op === 'mkdir' || a.op === 'rmdir' || (a.op !== 'delete' && a.master?.type === 'dir');
}

/**
 * Allocates a plan's actions to blocks, in block order, keeping the plan's order inside each block.
 * A directory is created in the first block that puts something in it and removed, or given its
 * final attributes, in the last block that touches anything below it. A hard link to a file
 * copied in a later block waits for that block: it cannot be made before its target is there.
 */
export function assignBlocks(actions: readonly Action[], specs: readonly BlockSpec[]): Block[] {
  const slots = specs.length > 0 ? declaredSlots(specs) : topLevelSlots(actions);
  const own = actions.map((a) => slots.indexOf(a.path));
  const copiedIn = new Map<string, number>();
  actions.forEach((a, i) => {
    if (a.op === 'copy') copiedIn.set(a.path, own[i]!);
  });
  actions.forEach((a, i) => {
    if (a.op === 'hardlink') own[i] = Math.max(own[i]!, copiedIn.get(a.linkTo!) ?? 0);
  });
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  actions.forEach((a, i) => {
    const slot = own[i]!;
    for (let dir = parentOf(a.path); dir !== ''; dir = parentOf(dir)) {
      const f = first.get(dir);
      const l = last.get(dir);
      // A directory that already spans this slot had it passed on to every directory above it.
      if (f !== undefined && f <= slot && l! >= slot) break;
      first.set(dir, f === undefined ? slot : Math.min(f, slot));
      last.set(dir, l === undefined ? slot : Math.max(l, slot));
    }
  });
  const slotOf = actions.map((a, i) => {
    if (!isDirAction(a)) return own[i]!;
    if (a.op === 'mkdir') return Math.min(own[i]!, first.get(a.path) ?? own[i]!);
    return Math.max(own[i]!, last.get(a.path) ?? own[i]!);
  });
  // What makes way for a new entry (the old one at its path, and what was below it) goes no later
  // than the new entry: a directory cannot be made where a file still stands, nor a file where a
  // directory does. Any removal at or below a path being created makes way for it.
  const createdIn = new Map<string, number>();
  actions.forEach((a, i) => {
    if (CREATES.has(a.op)) createdIn.set(a.path, slotOf[i]!);
  });
  actions.forEach((a, i) => {
    if (createdIn.size === 0 || (a.op !== 'delete' && a.op !== 'rmdir')) return;
    for (let p = a.path; p !== ''; p = parentOf(p)) {
      const slot = createdIn.get(p);
      if (slot !== undefined) slotOf[i] = Math.min(slotOf[i]!, slot);
    }
  });
  const buckets: Action[][] = slots.names.map(() => []);
  actions.forEach((a, j) => buckets[slotOf[j]!]!.push(a));
  const blocks: Block[] = [];
  buckets.forEach((mine, i) => {
    if (mine.length === 0) return;
    const spec = slots.specs[i];
    blocks.push({ name: slots.names[i]!, actions: mine, preBlock: spec?.preBlock, postBlock: spec?.postBlock });
  });
  return blocks;
}

/** The order in which blocks run across all remotes: declared order, or top-level names sorted, the rest last. */
export function blockOrder(lists: readonly (readonly Block[])[], specs: readonly BlockSpec[]): string[] {
  const names = [...new Set(lists.flat().map((b) => b.name))];
  const rank = (n: string): number =>
    specs.length > 0 ? (n === REST_BLOCK ? specs.length : specs.findIndex((s) => s.name === n)) : n === ROOT_BLOCK ? 1 : 0;
  return names.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
