import { lstatSync } from 'node:fs';
import { childOf } from '../../engine/entry.js';

/** A part that is empty, "." or "..": between slashes, or at either end. */
const BAD_PART = /(?:^|\/)\.{0,2}(?:\/|$)/;

/** Rejects anything but a plain relative path: no '..', '.', empty parts, absolute paths or NUL. */
export function checkRelative(rel: string): string | undefined {
  if (rel === '' || rel.startsWith('/') || rel.includes('\0')) return 'not a relative path';
  if (BAD_PART.test(rel)) return 'path has an empty, "." or ".." part';
  return undefined;
}

/** `root` (absolute, normalised) joined with a checked relative path; no normalising needed, so plain concatenation (called per file per step). */
export function resolveInside(root: string, rel: string): string {
  const problem = checkRelative(rel);
  if (problem) throw Object.assign(new Error(problem), { code: 'EINVAL' });
  return underRoot(root, rel);
}

/** `root` joined with a relative path made here (a checked one, or a temp name beside it); '' is the root itself. */
export function underRoot(root: string, rel: string): string {
  if (rel === '') return root;
  return root.endsWith('/') ? root + rel : `${root}/${rel}`;
}

/**
 * Checks that every directory between the root and `rel` is a real directory, never a symlink, so
 * that nothing is written outside the root through a symlinked parent. Results are remembered for
 * the duration of one commit (cleared by the caller).
 */
export class ParentGuard {
  private readonly known = new Set<string>();

  constructor(private readonly root: string) {}

  check(rel: string): void {
    const parts = rel.split('/');
    let dir = '';
    for (let i = 0; i < parts.length - 1; i++) {
      dir = childOf(dir, parts[i]!);
      if (this.known.has(dir)) continue;
      const st = lstatSync(underRoot(this.root, dir));
      if (!st.isDirectory()) {
        throw Object.assign(new Error(`parent ${dir} is not a directory`), { code: st.isSymbolicLink() ? 'ELOOP' : 'ENOTDIR' });
      }
      this.known.add(dir);
    }
  }

  forget(): void {
    this.known.clear();
  }
}
