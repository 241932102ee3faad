import type { Action, CopyReason, Op } from '../engine/action.js';
import type { Entry, EntryType, RootAttrs } from '../engine/entry.js';
import type { CommitStep, ReadOutcome, StageOutcome, StepResult } from '../endpoint/endpoint.js';
import { ProtocolError } from './frames.js';

/**
 * Compact forms of the messages that grow with the number of files (listings, commit steps and
 * results, staging outcomes): arrays instead of objects with their keys repeated 50,000 times
 * (half the bytes on the wire, and less to parse). Whatever arrives is checked field by field: a
 * malformed message is a protocol error.
 */

const TYPES: readonly EntryType[] = ['file', 'dir', 'symlink', 'special'];
const REASONS: readonly CopyReason[] = ['missing', 'size', 'checksum', 'type', 'links'];
const OPS: readonly Op[] = ['copy', 'delete', 'mkdir', 'rmdir', 'chmod', 'chown', 'touch', 'symlink', 'hardlink'];

/** [path, type, size, mode, uid, gid, mtimeMs, ino, nlink, crc | null, partial (0/1), target?] */
type PackedEntry = [string, number, number, number, number, number, number, number, number, number | null, number, string?];

export function packEntry(e: Entry): PackedEntry {
  return packAs(e, e.path);
}

/** An entry whose path the message carries elsewhere (a step's, a result's). */
function packWithoutPath(e: Entry): PackedEntry {
  return packAs(e, '');
}

function packAs(e: Entry, path: string): PackedEntry {
  const packed: PackedEntry = [path, TYPES.indexOf(e.type), e.size, e.mode, e.uid, e.gid, e.mtimeMs, e.ino, e.nlink, e.crc ?? null, e.partial ? 1 : 0];
  if (e.target !== undefined) packed.push(e.target);
  return packed;
}

function bad(what: string): ProtocolError {
  return new ProtocolError(`malformed ${what}`);
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(what);
  return v;
}

const ROOT_KEYS: readonly (keyof RootAttrs)[] = ['mode', 'uid', 'gid', 'mtimeMs'];

/** A root's attributes as they travel (a plain object): all of them, or with `partial`, any of them. */
export function unpackRootAttrs(v: unknown, partial: boolean): Partial<RootAttrs> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('root attributes');
  const out: Partial<RootAttrs> = {};
  for (const [k, value] of Object.entries(v)) {
    if (!(ROOT_KEYS as readonly string[]).includes(k) || typeof value !== 'number' || !(k === 'mtimeMs' ? Number.isFinite(value) : Number.isInteger(value))) {
      throw bad('root attributes');
    }
    out[k as keyof RootAttrs] = value as number;
  }
  if (!partial && ROOT_KEYS.some((k) => out[k] === undefined)) throw bad('root attributes');
  return out;
}

export function unpackEntry(v: unknown, path?: string): Entry {
  if (!Array.isArray(v) || v.length < 11 || v.length > 12) throw bad('entry');
  const type = TYPES[num(v[1], 'entry type')];
  const p = path ?? v[0];
  if (!type || typeof p !== 'string') throw bad('entry');
  const e: Entry = {
    path: p,
    type,
    size: num(v[2], 'entry size'),
    mode: num(v[3], 'entry mode'),
    uid: num(v[4], 'entry uid'),
    gid: num(v[5], 'entry gid'),
    mtimeMs: num(v[6], 'entry mtime'),
    ino: num(v[7], 'entry inode'),
    nlink: num(v[8], 'entry link count'),
  };
  if (v[9] !== null) e.crc = num(v[9], 'entry crc');
  if (v[10] === 1) e.partial = true;
  if (v.length === 12) {
    if (typeof v[11] !== 'string') throw bad('symlink target');
    e.target = v[11];
  }
  return e;
}

export function unpackEntries(v: unknown): Entry[] {
  if (!Array.isArray(v)) throw bad('entries');
  return v.map((x) => unpackEntry(x));
}

const ATTR_BITS = { mode: 1, mtime: 2, owner: 4, group: 8 } as const;

/** [op, path, temp | null, master | null, remote | null, linkTo | null, attribute bits, reason | null]; entries without their path (the step's). */
export function packStep(s: CommitStep): unknown[] {
  const a = s.action;
  const bits = (Object.keys(ATTR_BITS) as (keyof typeof ATTR_BITS)[]).reduce((n, k) => (s.attrs[k] ? n | ATTR_BITS[k] : n), 0);
  const entry = (e: Entry | undefined) => (e ? packWithoutPath(e) : null);
  return [a.op, a.path, s.temp ?? null, entry(a.master), entry(a.remote), a.linkTo ?? null, bits, a.reason ?? null];
}

export function unpackSteps(v: unknown): CommitStep[] {
  if (!Array.isArray(v)) throw bad('commit steps');
  return v.map((x) => {
    if (!Array.isArray(x) || x.length !== 8) throw bad('commit step');
    const [op, path, temp, master, remote, linkTo, bits, reason] = x as unknown[];
    if (!OPS.includes(op as Op) || typeof path !== 'string') throw bad('commit step');
    if ((temp !== null && typeof temp !== 'string') || (linkTo !== null && typeof linkTo !== 'string')) throw bad('commit step');
    const action: Action = { op: op as Op, path };
    if (reason !== null) {
      if (!REASONS.includes(reason as CopyReason)) throw bad('copy reason');
      action.reason = reason as CopyReason;
    }
    if (master !== null) action.master = unpackEntry(master, path);
    if (remote !== null) action.remote = unpackEntry(remote, path);
    if (linkTo !== null) action.linkTo = linkTo as string;
    const b = num(bits, 'attribute bits');
    const step: CommitStep = {
      action,
      attrs: { mode: (b & ATTR_BITS.mode) !== 0, mtime: (b & ATTR_BITS.mtime) !== 0, owner: (b & ATTR_BITS.owner) !== 0, group: (b & ATTR_BITS.group) !== 0 },
    };
    if (temp !== null) step.temp = temp as string;
    return step;
  });
}

/**
 * Commit results: how many steps there were, the ones that failed ([index, error, code | null]),
 * and the entries of the files put in place ([index, entry without its path]).
 */
export function packStepResults(results: StepResult[]): { n: number; failed: [number, string, string | null][]; entries: [number, PackedEntry][] } {
  const failed: [number, string, string | null][] = [];
  const entries: [number, PackedEntry][] = [];
  results.forEach((r, i) => {
    if (!r.ok) failed.push([i, r.error ?? 'failed', r.code ?? null]);
    else if (r.entry) entries.push([i, packWithoutPath(r.entry)]);
  });
  return { n: results.length, failed, entries };
}

export function unpackStepResults(v: unknown, steps: readonly CommitStep[]): StepResult[] {
  const packed = v as { n?: unknown; failed?: unknown; entries?: unknown };
  if (packed?.n !== steps.length || !Array.isArray(packed.failed) || !Array.isArray(packed.entries)) throw bad('commit results');
  const results: StepResult[] = steps.map((s) => ({ path: s.action.path, ok: true }));
  const at = (i: unknown): StepResult => {
    const r = results[num(i, 'commit result index')];
    if (!r) throw bad('commit result index');
    return r;
  };
  for (const f of packed.failed as unknown[]) {
    if (!Array.isArray(f) || typeof f[1] !== 'string' || (f[2] !== null && typeof f[2] !== 'string')) throw bad('commit result');
    const r = at(f[0]);
    r.ok = false;
    r.error = f[1];
    if (f[2] !== null) r.code = f[2];
  }
  for (const x of packed.entries as unknown[]) {
    if (!Array.isArray(x) || x.length !== 2) throw bad('commit result entry');
    const r = at(x[0]);
    if (!r.ok) throw bad('commit result entry');
    r.entry = unpackEntry(x[1], r.path);
  }
  return results;
}

/** Outcomes of stageFiles: [temp, size, crc] when staged, [null, error, code | null] when not. */
export function packOutcomes(outcomes: StageOutcome[]): unknown[] {
  return outcomes.map((o) => (o.ok ? [o.staged.temp, o.staged.size, o.staged.crc] : [null, o.error, o.code ?? null]));
}

export function unpackOutcomes(v: unknown, count: number): StageOutcome[] {
  if (!Array.isArray(v) || v.length !== count) throw bad('staging outcomes');
  return v.map((o): StageOutcome => {
    if (!Array.isArray(o) || o.length !== 3) throw bad('staging outcome');
    if (typeof o[0] === 'string') return { ok: true, staged: { temp: o[0], size: num(o[1], 'staged size'), crc: num(o[2], 'staged crc') } };
    if (o[0] !== null || typeof o[1] !== 'string' || (o[2] !== null && typeof o[2] !== 'string')) throw bad('staging outcome');
    return o[2] === null ? { ok: false, error: o[1] } : { ok: false, error: o[1], code: o[2] };
  });
}

/** Checksums in the order of the paths asked for; null where a file could not be read. */
export function packChecksums(paths: readonly string[], sums: ReadonlyMap<string, number>): (number | null)[] {
  return paths.map((p) => sums.get(p) ?? null);
}

export function unpackChecksums(v: unknown, paths: readonly string[]): Map<string, number> {
  if (!Array.isArray(v) || v.length !== paths.length) throw bad('checksums');
  const sums = new Map<string, number>();
  v.forEach((crc, i) => {
    if (crc !== null) sums.set(paths[i]!, num(crc, 'checksum'));
  });
  return sums;
}

/** Whole reads: the contents travel as data; per file [size, crc, mtimeMs, mode, uid, gid, consistent 0/1] or [null, error, code | null]. */
export function packReads(outcomes: ReadOutcome[]): unknown[] {
  return outcomes.map((o) => {
    if (!o.ok) return [null, o.error, o.code ?? null];
    const s = o.stat;
    return [s.size, s.crc, s.mtimeMs, s.mode, s.uid, s.gid, s.consistent ? 1 : 0];
  });
}

export function unpackReads(v: unknown, count: number, data: Buffer): ReadOutcome[] {
  if (!Array.isArray(v) || v.length !== count) throw bad('read outcomes');
  let at = 0;
  const out = v.map((o): ReadOutcome => {
    if (!Array.isArray(o)) throw bad('read outcome');
    if (o[0] === null) {
      if (o.length !== 3 || typeof o[1] !== 'string' || (o[2] !== null && typeof o[2] !== 'string')) throw bad('read outcome');
      return o[2] === null ? { ok: false, error: o[1] } : { ok: false, error: o[1], code: o[2] };
    }
    if (o.length !== 7) throw bad('read outcome');
    const [size, crc, mtimeMs, mode, uid, gid, consistent] = (o as unknown[]).map((x) => num(x, 'read outcome')) as [number, number, number, number, number, number, number];
    if (at + size > data.length) throw bad('read outcome: more bytes than sent');
    const content = data.subarray(at, (at += size));
    return { ok: true, content, stat: { size, crc, mtimeMs, mode, uid, gid, consistent: consistent === 1 } };
  });
  if (at !== data.length) throw bad('read outcomes: fewer bytes than sent');
  return out;
}
