import { chmodSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';

/** A small seeded generator (an LCG): the same seed makes the same trees on every machine. */
export class Random {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state * 1103515245 + 12345) % 2147483648;
    return this.state / 2147483648;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

const NAMES = ['a', 'b', 'c', 'd d', 'é', '-x', 'x.log', 'n\nl'];

function exists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

function isDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false; // gone, or below what is no directory now
  }
}

/**
 * Fills `root` with a random tree of files (modes, sizes, times), directories, symlinks (dangling
 * too) and hard links, under names that are awkward on purpose. Returns the directories to make
 * read-only afterwards, with their modes (deepest first), since one cannot fill them once they are.
 */
export function randomTree(rnd: Random, root: string, depth = 0): [string, number][] {
  mkdirSync(root, { recursive: true });
  const readOnly: [string, number][] = [];
  const files: string[] = [];
  const n = Math.floor(rnd.next() * 6);
  for (let i = 0; i < n; i++) {
    const p = nodePath.join(root, rnd.pick(NAMES) + (rnd.next() < 0.5 ? '' : String(i)));
    if (exists(p)) continue;
    const kind = rnd.next();
    if (kind < 0.45) {
      writeFileSync(p, 'x'.repeat(Math.floor(rnd.next() * 3)) + rnd.pick(['1', '2', '3']));
      chmodSync(p, rnd.pick([0o644, 0o600, 0o755, 0o444]));
      files.push(p);
    } else if (kind < 0.7 && depth < 3) {
      readOnly.push(...randomTree(rnd, p, depth + 1));
      if (rnd.next() < 0.25) readOnly.push([p, rnd.pick([0o555, 0o500, 0o750])]);
    } else if (kind < 0.8) {
      symlinkSync(rnd.pick(['a', '../b', 'nowhere', 'a/b']), p);
    } else if (files.length > 0) {
      linkSync(rnd.pick(files), p);
    } else {
      writeFileSync(p, '');
    }
    // Whole seconds, a few apart: equal times on both sides are common, as in real trees.
    if (rnd.next() < 0.4) {
      const t = new Date(1_700_000_000_000 + Math.floor(rnd.next() * 3) * 1000);
      lutimesSync(p, t, t);
    }
  }
  return readOnly;
}

/** Random changes to a tree: entries removed, replaced by another kind (file, symlink, directory), a new subtree. */
export function mutateTree(rnd: Random, root: string): [string, number][] {
  const all: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = nodePath.join(dir, e.name);
      all.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  const readOnly: [string, number][] = [];
  for (const p of all.reverse()) {
    if (!exists(p)) continue;
    const kind = rnd.next();
    if (kind < 0.32) rmSync(p, { recursive: true, force: true });
    if (kind < 0.1) continue;
    // Some to directories that exist ('.', '..'), one to itself: a directory replaced by either is a case of its own.
    if (kind < 0.18) symlinkSync(rnd.pick(['a', '../x', '.', '..', nodePath.basename(p)]), p);
    else if (kind < 0.26) writeFileSync(p, 'now a file');
    else if (kind < 0.32) readOnly.push(...randomTree(rnd, p, 2));
  }
  readOnly.push(...randomTree(rnd, nodePath.join(root, `new${Math.floor(rnd.next() * 3)}`), 2));
  return readOnly;
}

/** Gives directories their read-only modes; those a later change replaced are passed over. */
export function lockDirs(dirs: [string, number][]): void {
  for (const [dir, mode] of dirs) if (isDir(dir)) chmodSync(dir, mode);
}
