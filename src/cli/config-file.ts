import { readFileSync } from 'node:fs';
import type { BlockSpec } from '../engine/blocks.js';
import { type ClassSpec, firstPatternProblem } from '../engine/classification.js';
import { parseRate } from '../protocol/rate-limit.js';
import { ALL_ATTRS } from '../engine/entry.js';
import { UsageError, reasonOf } from '../endpoint/errors.js';

/** A job as the config file declares it; every field optional but master and remotes. */
export interface JobConfig {
  master: string;
  remotes: string[];
  class?: string;
  include?: string[];
  exclude?: string[];
  includeRegex?: string[];
  excludeRegex?: string[];
  delete?: boolean;
  maxDelete?: number;
  attrs?: string[];
  maxPasses?: number;
  modifyWindow?: number;
  concurrency?: number;
  identity?: string;
  remoteNode?: string;
  rsh?: string;
  bwlimit?: string | number;
  wholeFile?: boolean;
  lockTimeout?: number;
  log?: string;
  blocks?: BlockSpec[];
}

export interface ConfigFile {
  classes: Record<string, ClassSpec>;
  jobs: Record<string, JobConfig>;
}

type Check = (value: unknown, key: string) => void;

function fail(file: string, key: string, message: string): never {
  throw new UsageError(`config ${file}: ${key}: ${message}`);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** A wrong value as the message shows it: a number or an empty string itself, else its type. */
function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === '' ? '""' : typeName(v);
}

function makeChecks(file: string): Record<string, Check> {
  const is = (want: string, ok: (v: unknown) => boolean): Check => (v, key) => {
    if (!ok(v)) fail(file, key, `must be ${want}, not ${shown(v)}`);
  };
  return {
    string: is('a non-empty string', (v) => typeof v === 'string' && v !== ''),
    strings: is('an array of strings', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string')),
    boolean: is('true or false', (v) => typeof v === 'boolean'),
    count: is('a whole number of at least 1', (v) => Number.isInteger(v) && (v as number) >= 1),
    natural: is('a whole number of at least 0', (v) => Number.isInteger(v) && (v as number) >= 0),
    object: is('an object', (v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
  };
}

/** `key` '' is the file's top level: its keys are named alone ("jobs", not ".jobs"). */
function checkObject(file: string, value: unknown, key: string, fields: Record<string, Check>, required: string[] = []): void {
  makeChecks(file).object!(value, key || '(top level)');
  const obj = value as Record<string, unknown>;
  const keyOf = (k: string): string => (key ? `${key}.${k}` : k);
  for (const k of Object.keys(obj)) {
    const check = fields[k];
    if (!check) fail(file, keyOf(k), `unknown key (known: ${Object.keys(fields).join(', ')})`);
    check(obj[k], keyOf(k));
  }
  for (const k of required) if (!(k in obj)) fail(file, keyOf(k), 'is required');
}

/** Reads and validates a config file; every problem names the key. */
export function loadConfig(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`config ${file}: cannot read: ${reasonOf(err)}`);
  }
  let data: unknown;
  try {
    // A byte order mark, as some editors write one, is not JSON's business.
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError(`config ${file}: not valid JSON: ${(err as Error).message}`);
  }
  const c = makeChecks(file);
  const patterns = (kind: 'glob' | 'regex'): Check => (v, key) => {
    c.strings!(v, key);
    const bad = firstPatternProblem(kind, v as string[]);
    if (bad) fail(file, `${key}[${bad.index}]`, bad.problem);
  };
  const classFields = { include: patterns('glob'), exclude: patterns('glob'), includeRegex: patterns('regex'), excludeRegex: patterns('regex') };
  const blockFields = { name: c.string!, include: patterns('glob'), preBlock: c.string!, postBlock: c.string! };
  const blocks: Check = (v, key) => {
    if (!Array.isArray(v)) fail(file, key, `must be an array, not ${typeName(v)}`);
    const names = new Set<string>();
    v.forEach((b, i) => {
      checkObject(file, b, `${key}[${i}]`, blockFields, ['name', 'include']);
      if ((b as BlockSpec).include.length === 0) fail(file, `${key}[${i}].include`, 'needs at least one glob (a block that matches nothing holds nothing)');
      const name = (b as BlockSpec).name;
      if (names.has(name)) fail(file, `${key}[${i}].name`, `duplicate block name "${name}"`);
      names.add(name);
    });
  };
  const jobFields: Record<string, Check> = {
    master: c.string!,
    remotes: (v, key) => {
      c.strings!(v, key);
      if ((v as string[]).length === 0) fail(file, key, 'needs at least one remote');
    },
    class: c.string!,
    ...classFields,
    delete: c.boolean!,
    maxDelete: c.natural!,
    attrs: (v, key) => {
      c.strings!(v, key);
      (v as string[]).forEach((a, i) => {
        if (!(ALL_ATTRS as readonly string[]).includes(a)) fail(file, `${key}[${i}]`, `unknown attribute "${a}" (known: ${ALL_ATTRS.join(', ')})`);
      });
    },
    maxPasses: c.count!,
    modifyWindow: c.natural!,
    concurrency: c.count!,
    identity: c.string!,
    remoteNode: c.string!,
    wholeFile: c.boolean!,
    rsh: c.string!,
    bwlimit: (v, key) => {
      if ((typeof v !== 'string' && typeof v !== 'number') || parseRate(String(v)) === undefined) fail(file, key, `must be a rate (KiB/s, or with a suffix B, K, M, G), not ${shown(v)}`);
    },
    lockTimeout: c.natural!,
    log: c.string!,
    blocks,
  };
  const recordOf = (fields: Record<string, Check>, required: string[]): Check => (v, key) => {
    c.object!(v, key);
    for (const [name, item] of Object.entries(v as Record<string, unknown>)) checkObject(file, item, `${key}.${name}`, fields, required);
  };
  checkObject(file, data, '', { classes: recordOf(classFields, []), jobs: recordOf(jobFields, ['master', 'remotes']) });
  const raw = data as Partial<ConfigFile>;
  const classes: Record<string, ClassSpec> = {};
  for (const [name, spec] of Object.entries(raw.classes ?? {}) as [string, Partial<ClassSpec>][]) {
    classes[name] = { include: [], exclude: [], includeRegex: [], excludeRegex: [], ...spec };
  }
  const jobs = raw.jobs ?? {};
  for (const [name, job] of Object.entries(jobs)) {
    if (job.class !== undefined && !(job.class in classes)) fail(file, `jobs.${name}.class`, `unknown class "${job.class}"`);
  }
  return { classes, jobs };
}

/** `--job NAME`, or the only job of the file. */
export function pickJob(config: ConfigFile, file: string, name: string | undefined): [string, JobConfig] {
  const names = Object.keys(config.jobs);
  if (name !== undefined) {
    const job = config.jobs[name];
    if (!job) throw new UsageError(`config ${file}: jobs.${name}: unknown job (jobs: ${names.join(', ') || 'none'})`);
    return [name, job];
  }
  if (names.length === 1) return [names[0]!, config.jobs[names[0]!]!];
  throw new UsageError(`config ${file}: ${names.length === 0 ? 'no jobs defined' : `several jobs (${names.join(', ')}): pick one with --job`}`);
}
