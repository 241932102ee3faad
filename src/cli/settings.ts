import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import type { BlockSpec } from '../engine/blocks.js';
import { type ClassSpec, EMPTY_CLASS, firstPatternProblem, patternProblem } from '../engine/classification.js';
import { ALL_ATTRS, type AttrName } from '../engine/entry.js';
import { type Address, AddressError, formatAddress, parseAddress } from '../endpoint/address.js';
import { expandHome } from '../endpoint/home-path.js';
import { UsageError, reasonOf } from '../endpoint/errors.js';
import type { RawArgs } from './args.js';
import { type JobConfig, loadConfig, pickJob } from './config-file.js';
import { checkLocalOverlap } from './overlap.js';
import { splitCommand } from '../transport/host-shell.js';
import { parseRate } from '../protocol/rate-limit.js';

/** Everything a run needs, validated: nothing is connected or changed before this exists. */
export interface Settings {
  dryRun: boolean;
  master: Address;
  remotes: Address[];
  job: string;
  classes: ClassSpec[];
  attrs: Set<AttrName>;
  delete: boolean;
  modifyWindowMs: number;
  maxDelete?: number;
  maxPasses: number;
  concurrency: number;
  format: 'text' | 'json';
  report?: { file: string; kind: 'json' | 'md' | 'html' };
  identity?: string;
  /** node's path on the SSH hosts, where it is not on their PATH. */
  remoteNode?: string;
  /** --rsh: the ssh command, split into words, that reaches hosts instead of the built-in client. */
  rsh?: string[];
  /** --bwlimit: bytes a second sent to each remote. */
  bwlimit?: number;
  acceptNewHostKey: boolean;
  lockTimeoutMs: number;
  wait: boolean;
  log?: string;
  progress: boolean;
  quiet: boolean;
  verbose: boolean;
  blocks: BlockSpec[];
  cache: boolean;
  /** Changed files go to SSH hosts as their changed blocks (--whole-file turns it off). */
  deltaTransfer: boolean;
}

/** A count from the command line, kept as typed so that the error can quote it. */
function wholeNumber(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const v = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(v >= min)) throw new UsageError(`--${name} must be a whole number of at least ${min}, not ${JSON.stringify(text)}`);
  return v;
}

/** The key named with -i (or in the job) must be there to read: ssh would go on without it, and fail later less clearly. */
function readableKey(file: string): string {
  try {
    readFileSync(file);
  } catch (err) {
    throw new UsageError(`--identity ${file}: cannot read the key: ${reasonOf(err)}`);
  }
  return file;
}

function parseAttrs(text: string[] | string): Set<AttrName> {
  const names = (Array.isArray(text) ? text : text.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    if (!(ALL_ATTRS as readonly string[]).includes(n)) throw new UsageError(`--attrs: unknown attribute "${n}" (known: ${ALL_ATTRS.join(', ')})`);
  }
  return new Set(names as AttrName[]);
}

function reportTarget(file: string): Settings['report'] {
  const ext = nodePath.extname(file).toLowerCase();
  const kind = ext === '.json' ? 'json' : ext === '.md' ? 'md' : ext === '.html' || ext === '.htm' ? 'html' : undefined;
  if (!kind) throw new UsageError(`--report ${file}: the file must end in .json, .md or .html`);
  return { file, kind };
}

function address(text: string, what: string): Address {
  try {
    const a = parseAddress(text);
    return a.kind === 'local' ? { kind: 'local', path: nodePath.resolve(expandHome(a.path)) } : a;
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(`${what} "${text}": ${err.message}`);
    throw err;
  }
}

/** `~/file`; `~name/file` is refused (see expandHome), as bad input. */
function homed(path: string): string {
  try {
    return expandHome(path);
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(err.message);
    throw err;
  }
}

/** A file named in the config file (a key, a log), taken relative to that file unless absolute or under ~. */
function fileRelativeTo(configFile: string, file: string): string {
  return nodePath.isAbsolute(homed(file)) ? file : nodePath.join(nodePath.dirname(nodePath.resolve(configFile)), file);
}

function relativeTo(configFile: string, endpoint: string): string {
  let a: Address;
  try {
    a = parseAddress(endpoint);
  } catch {
    return endpoint; // reported with its key when parsed for real
  }
  return a.kind === 'local' && !nodePath.isAbsolute(homed(a.path)) ? fileRelativeTo(configFile, a.path) : endpoint;
}

/** An ad-hoc run's job name: stable for the same endpoints, so overlapping cron runs still meet. */
function adhocJob(master: Address, remotes: Address[]): string {
  const key = [master, ...remotes].map(formatAddress).join('\n');
  return `adhoc-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** --bwlimit as rsync takes it (the config's was checked when read). */
function rateOf(given: string | number | undefined): number | undefined {
  if (given === undefined) return undefined;
  const rate = parseRate(String(given));
  if (rate === undefined) throw new UsageError(`--bwlimit must be a rate (KiB/s, or with a suffix B, K, M, G), not ${JSON.stringify(String(given))}`);
  return rate > 0 ? rate : undefined;
}

/** --rsh split as rsync splits -e; an empty or unbalanced one is refused. */
function rshWords(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  let words: string[];
  try {
    words = splitCommand(text);
  } catch (err) {
    throw new UsageError(`--rsh: ${(err as Error).message}`);
  }
  if (words.length === 0) throw new UsageError('--rsh: no command given');
  return words;
}

/** Globs of --include or --exclude and of their -from files (one a line, blank and # lines skipped; - is stdin), each checked. */
function globsGiven(option: 'include' | 'exclude', given: string[] | undefined, files: string[] | undefined): string[] | undefined {
  if (given === undefined && files === undefined) return undefined;
  const globs = [...(patterns(option, 'glob', given) ?? [])];
  for (const file of files ?? []) {
    let text: string;
    try {
      // "-" is standard input, as with rsync.
      text = readFileSync(file === '-' ? 0 : homed(file), 'utf8');
    } catch (err) {
      throw new UsageError(`--${option}-from ${file}: cannot read: ${reasonOf(err)}`);
    }
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      const problem = patternProblem('glob', line);
      if (problem) throw new UsageError(`--${option}-from ${file} line ${i + 1}: ${problem}`);
      globs.push(line.trim());
    });
  }
  return globs;
}

/** The patterns of one option, each checked (the config file's were when it was read). */
function patterns(option: string, kind: 'glob' | 'regex', given: string[] | undefined): string[] | undefined {
  const bad = firstPatternProblem(kind, given ?? []);
  if (bad) throw new UsageError(`--${option}: ${bad.problem}`);
  return given;
}

export function resolveSettings(args: RawArgs, stderrIsTty: boolean): Settings {
  let job: JobConfig | undefined;
  let jobName: string | undefined;
  let classSpec: ClassSpec | undefined;
  if (args.config !== undefined) {
    const config = loadConfig(args.config);
    [jobName, job] = pickJob(config, args.config, args.job);
    const className = args.class ?? job.class;
    if (className !== undefined) {
      classSpec = config.classes[className];
      if (!classSpec) throw new UsageError(`--class ${className}: no such class in ${args.config} (classes: ${Object.keys(config.classes).join(', ') || 'none'})`);
    }
  } else {
    if (args.job !== undefined) throw new UsageError('--job needs --config');
    if (args.class !== undefined) throw new UsageError('--class needs --config (classes are defined in the config file)');
  }

  let endpoints = args.endpoints;
  // A job's local paths are relative to its config file, so that cron can run it from anywhere.
  if (endpoints.length === 0 && job) endpoints = [job.master, ...job.remotes].map((e) => relativeTo(args.config!, e));
  if (endpoints.length === 0) throw new UsageError('name the master and at least one remote (or --config FILE)');
  if (endpoints.length === 1) throw new UsageError(`name at least one remote after the master ${endpoints[0]}`);
  const master = address(endpoints[0]!, 'master');
  const remotes = endpoints.slice(1).map((e) => address(e, 'remote'));
  const seen = new Set([formatAddress(master)]);
  for (const r of remotes) {
    const key = formatAddress(r);
    if (seen.has(key)) throw new UsageError(`endpoint ${key} is named twice (a remote cannot also be the master or another remote)`);
    seen.add(key);
  }
  checkLocalOverlap(
    [master, ...remotes].flatMap((a, i) => (a.kind === 'local' ? [{ role: i === 0 ? ('master' as const) : ('remote' as const), path: a.path }] : [])),
  );

  const own: ClassSpec = {
    include: globsGiven('include', args.include, args.includeFrom) ?? job?.include ?? [],
    exclude: globsGiven('exclude', args.exclude, args.excludeFrom) ?? job?.exclude ?? [],
    includeRegex: patterns('include-regex', 'regex', args.includeRegex) ?? job?.includeRegex ?? [],
    excludeRegex: patterns('exclude-regex', 'regex', args.excludeRegex) ?? job?.excludeRegex ?? [],
  };
  const classes = classSpec ? [classSpec, own] : [own];

  const format = args.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not ${format}`);
  const maxDelete = wholeNumber('max-delete', args.maxDelete, 0) ?? job?.maxDelete;
  const identity = args.identity ?? (job?.identity !== undefined ? fileRelativeTo(args.config!, job.identity) : undefined);
  const log = args.log ?? (job?.log !== undefined ? fileRelativeTo(args.config!, job.log) : undefined);
  return {
    dryRun: args.command === 'diff' || args.dryRun === true,
    master,
    remotes,
    job: jobName ?? adhocJob(master, remotes),
    classes: classes.filter((c) => c !== EMPTY_CLASS),
    attrs: parseAttrs(args.attrs ?? job?.attrs ?? [...ALL_ATTRS]),
    delete: args.delete ?? job?.delete ?? true,
    modifyWindowMs: (wholeNumber('modify-window', args.modifyWindow, 0) ?? job?.modifyWindow ?? 0) * 1000,
    maxDelete,
    maxPasses: wholeNumber('max-passes', args.maxPasses, 1) ?? job?.maxPasses ?? 3,
    concurrency: wholeNumber('concurrency', args.concurrency, 1) ?? job?.concurrency ?? 4,
    format,
    report: args.report !== undefined ? reportTarget(args.report) : undefined,
    identity: identity !== undefined ? readableKey(homed(identity)) : undefined,
    remoteNode: args.remoteNode ?? job?.remoteNode,
    rsh: rshWords(args.rsh ?? job?.rsh),
    bwlimit: rateOf(args.bwlimit ?? job?.bwlimit),
    acceptNewHostKey: args.acceptNewHostKey ?? false,
    lockTimeoutMs: (wholeNumber('lock-timeout', args.lockTimeout, 0) ?? job?.lockTimeout ?? 60) * 1000,
    wait: args.wait ?? false,
    log: log !== undefined ? homed(log) : undefined,
    progress: args.progress ?? (stderrIsTty && format === 'text' && !args.quiet),
    quiet: args.quiet ?? false,
    verbose: args.verbose ?? false,
    blocks: job?.blocks ?? [],
    cache: args.cache ?? true,
    deltaTransfer: !(args.wholeFile ?? job?.wholeFile ?? false),
  };
}
