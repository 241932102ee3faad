import picomatch from 'picomatch';
import type { EntryType } from './entry.js';

/**
 * One file classification: include/exclude globs and regular expressions on the path relative to
 * the endpoint root. Plain data, so it can be sent to an agent and compiled there.
 */
export interface ClassSpec {
  include: string[];
  exclude: string[];
  includeRegex: string[];
  excludeRegex: string[];
}

export const EMPTY_CLASS: ClassSpec = { include: [], exclude: [], includeRegex: [], excludeRegex: [] };

export interface Classifier {
  /** An excluded path is left out with everything below it (a directory is not descended). */
  excluded(path: string, isDir: boolean): boolean;
  /** Whether the path itself is selected; a directory that is not may still hold selected entries. */
  included(path: string, isDir: boolean): boolean;
}

type PathTest = (path: string, isDir: boolean) => boolean;

export class ClassificationError extends Error {
  constructor(message: string, readonly pattern: string) {
    super(message);
    this.name = 'ClassificationError';
  }
}

/**
 * Globs follow gitignore/rsync habits: a pattern without '/' matches a name at any depth
 * ("*.tmp"), a leading '/' anchors it at the root, a trailing '/' matches directories only (see
 * dirOnly; it is dropped here), and "dir/**" also matches "dir" itself.
 */
export function normalizeGlob(glob: string): string {
  let g = glob.trim();
  if (g.endsWith('/') && g.length > 1) g = g.slice(0, -1);
  if (g.startsWith('/')) return g.slice(1);
  if (g.startsWith('./')) return g.slice(2);
  return g.includes('/') ? g : `**/${g}`;
}

/** Why a pattern cannot be used (undefined: it can), checked where it is given, so the message can name where that was. */
export function patternProblem(kind: 'glob' | 'regex', pattern: string): string | undefined {
  if (kind === 'glob') return pattern.trim() === '' ? 'an empty glob matches nothing useful' : undefined;
  try {
    new RegExp(pattern, 'u');
    return undefined;
  } catch (err) {
    return `invalid regular expression /${pattern}/: ${(err as Error).message}`;
  }
}

/** The first pattern of a list that cannot be used, and why. */
export function firstPatternProblem(kind: 'glob' | 'regex', patterns: readonly string[]): { index: number; pattern: string; problem: string } | undefined {
  for (const [index, pattern] of patterns.entries()) {
    const problem = patternProblem(kind, pattern);
    if (problem) return { index, pattern, problem };
  }
  return undefined;
}

/** A glob with a trailing '/' matches directories only, as in rsync and gitignore (`cache/`, not a file named cache). */
function dirOnly(glob: string): boolean {
  const g = glob.trim();
  return g.length > 1 && g.endsWith('/');
}

function globMatcher(globs: string[]): PathTest | undefined {
  if (globs.length === 0) return undefined;
  const bad = firstPatternProblem('glob', globs);
  if (bad) throw new ClassificationError(bad.problem, bad.pattern);
  const compile = (list: string[]): ((path: string) => boolean) => (list.length > 0 ? picomatch(list.map(normalizeGlob), { dot: true }) : () => false);
  const anyType = compile(globs.filter((g) => !dirOnly(g)));
  const dirs = compile(globs.filter(dirOnly));
  return (path, isDir) => anyType(path) || (isDir && dirs(path));
}

function regexMatcher(sources: string[]): ((path: string) => boolean) | undefined {
  if (sources.length === 0) return undefined;
  const bad = firstPatternProblem('regex', sources);
  if (bad) throw new ClassificationError(bad.problem, bad.pattern);
  const res = sources.map((s) => new RegExp(s, 'u'));
  return (path) => res.some((re) => re.test(path));
}

function compileOne(spec: ClassSpec): Classifier {
  const incGlob = globMatcher(spec.include);
  const incRe = regexMatcher(spec.includeRegex);
  const excGlob = globMatcher(spec.exclude);
  const excRe = regexMatcher(spec.excludeRegex);
  const hasIncludes = incGlob !== undefined || incRe !== undefined;
  return {
    excluded: (p, isDir) => (excGlob?.(p, isDir) ?? false) || (excRe?.(p) ?? false),
    included: (p, isDir) => !hasIncludes || (incGlob?.(p, isDir) ?? false) || (incRe?.(p) ?? false),
  };
}

/**
 * Whether a listing may hold this entry, as far as its own path and type tell (its parents are
 * listed): a directory unless excluded (it may hold selected entries), anything else only when
 * selected. What a fresh look at a path finds is kept to that, as a full listing would be.
 */
export function listable(c: Classifier, path: string, type: EntryType): boolean {
  return type === 'dir' ? !c.excluded(path, true) : !c.excluded(path, false) && c.included(path, false);
}

/** Several specs (a named class and the job's own lists) combine: a path must satisfy all of them. */
export function compileClassification(specs: readonly ClassSpec[]): Classifier {
  const parts = specs.map(compileOne);
  return {
    excluded: (p, isDir) => parts.some((c) => c.excluded(p, isDir)),
    included: (p, isDir) => parts.every((c) => c.included(p, isDir)),
  };
}

/** Internal files of replisync that never belong to any classification. */
export const LOCK_FILE = '.replisync.lock';
const TEMP_RE = /^\.replisync-[0-9a-f]{8}-[0-9a-z]+\.tmp$/;

export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}
