import yargs, { type Argv, type Options } from 'yargs';
import { UsageError } from '../endpoint/errors.js';
import { packageRoot } from '../package-root.js';

/** The command line as yargs gives it: only what the user typed (defaults come later, after the config). */
export interface RawArgs {
  command: 'sync' | 'diff' | 'agent';
  endpoints: string[];
  include?: string[];
  exclude?: string[];
  includeFrom?: string[];
  excludeFrom?: string[];
  includeRegex?: string[];
  excludeRegex?: string[];
  class?: string;
  delete?: boolean;
  maxDelete?: string;
  attrs?: string;
  maxPasses?: string;
  modifyWindow?: string;
  concurrency?: string;
  format?: string;
  report?: string;
  identity?: string;
  remoteNode?: string;
  rsh?: string;
  bwlimit?: string;
  acceptNewHostKey?: boolean;
  lockTimeout?: string;
  wait?: boolean;
  log?: string;
  progress?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  dryRun?: boolean;
  config?: string;
  job?: string;
  cache?: boolean;
  wholeFile?: boolean;
}

/** The options of sync and diff; those of type string take a value. */
const SYNC_OPTIONS: Record<string, Options> = {
  'include': { type: 'string', array: true, describe: 'only paths matching one of these globs' },
  'exclude': { type: 'string', array: true, describe: 'drop paths matching any of these globs' },
  'include-from': { type: 'string', array: true, describe: 'read --include globs from a file, one a line (# comments)' },
  'exclude-from': { type: 'string', array: true, describe: 'read --exclude globs from a file, one a line (# comments)' },
  'include-regex': { type: 'string', array: true, describe: 'only paths matching one of these regular expressions' },
  'exclude-regex': { type: 'string', array: true, describe: 'drop paths matching any of these regular expressions' },
  'class': { type: 'string', describe: 'a named file classification from the config file' },
  'delete': { type: 'boolean', describe: 'delete files that exist only on a remote (--no-delete keeps them)' },
  'max-delete': { type: 'string', describe: 'refuse when more than n deletions would be needed' },
  'attrs': { type: 'string', describe: 'attributes to compare and fix: mode,mtime,owner,group,links' },
  'max-passes': { type: 'string', describe: 'passes for files found inconsistent (default 3)' },
  'modify-window': { type: 'string', describe: 'mtimes at most this many seconds apart are the same (as rsync; default 0)' },
  'concurrency': { type: 'string', describe: 'remotes worked on at once (default 4)' },
  'format': { type: 'string', describe: 'stdout format: text or json' },
  'report': { type: 'string', describe: 'also write the report to a .json, .md or .html file' },
  'identity': { alias: 'i', type: 'string', describe: 'private key for SSH' },
  'bwlimit': { type: 'string', describe: 'limit what is sent to each remote: KiB/s, or with a suffix B, K, M, G (as rsync)' },
  'rsh': { alias: 'e', type: 'string', describe: 'reach SSH hosts with this ssh command instead of the built-in client (as rsync -e)' },
  'remote-node': { type: 'string', describe: 'node on the remote hosts, where it is not on their PATH (as rsync --rsync-path)' },
  'accept-new-host-key': { type: 'boolean', describe: "add an unknown host's key to ~/.ssh/known_hosts" },
  'lock-timeout': { type: 'string', describe: "seconds to wait for another run's lock (default 60)" },
  'wait': { type: 'boolean', describe: 'wait for an overlapping run of the same job instead of exiting 2' },
  'log': { type: 'string', describe: 'append one JSON line per run to this file' },
  'progress': { type: 'boolean', describe: 'progress bars on stderr (default: when stderr is a TTY)' },
  'quiet': { alias: 'q', type: 'boolean', describe: 'for cron: no report on success, only errors' },
  'verbose': { alias: 'v', type: 'boolean', describe: 'more on stderr' },
  'config': { type: 'string', describe: 'read jobs from this JSON file' },
  'job': { type: 'string', describe: 'the job of the config file to run' },
  'cache': { type: 'boolean', describe: 'trust the per-host checksum cache (--no-cache reads every file)' },
  'whole-file': { alias: 'W', type: 'boolean', describe: 'send changed files whole to SSH hosts, not only their changed blocks (as rsync -W)' },
};

const COMMANDS = {
  sync: 'make every remote identical to the master',
  diff: 'dry-run diff report: what sync would do; changes nothing',
  agent: 'internal: the agent that runs on each host (stdin/stdout protocol)',
} as const;

type Command = keyof typeof COMMANDS;

const isCommand = (word: string | undefined): word is Command => word !== undefined && Object.hasOwn(COMMANDS, word);

/** The options a command takes (yargs commands and the plain parser below share them). */
function commandOptions(y: Argv, command: Command): Argv {
  if (command === 'agent') return y;
  const withSync = y.options(SYNC_OPTIONS);
  return command === 'sync' ? withSync.option('dry-run', { alias: 'n', type: 'boolean', describe: 'report what would be done; change nothing' }) : withSync;
}

function withPositionals(y: Argv, command: Command): Argv {
  if (command === 'agent') return y;
  return y
    .positional('master', { type: 'string', describe: 'the master directory: path, [user@]host:/path or ssh://[user@]host[:port]/path' })
    .positional('remotes', { type: 'string', array: true, describe: 'remote directories, same forms' });
}

/** Option words that take a value, long and short, by the long name they stand for. */
const TAKES_VALUE = new Map(
  Object.entries(SYNC_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .flatMap(([name, o]) => [[`--${name}`, name], ...[o.alias ?? []].flat().map((a) => [`-${a}`, name])] as [string, string][]),
);

/**
 * An option that takes a value takes the next word even when it starts with a dash, as getopt
 * and rsync do: yargs read `--exclude -foo` as flags -f -o -o, and `--exclude-from -` as no value.
 */
function joinValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return [...out, ...argv.slice(i)];
    const name = TAKES_VALUE.get(word);
    if (name !== undefined && argv[i + 1]?.startsWith('-')) out.push(`--${name}=${argv[++i]}`);
    else out.push(word);
  }
  return out;
}

function ownVersion(): string {
  try {
    return packageRoot().version;
  } catch {
    return 'unknown'; // a run must not fail for want of its version
  }
}

/**
 * What a command line that could not be parsed asked for, read off the words themselves: a
 * script that passed `--format json` gets its JSON object even for a usage error.
 */
export function askedForJson(argv: string[]): { json: boolean; dryRun: boolean } {
  let json = false;
  let dryRun = false;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const word = argv[i]!;
    if (word === '--format') json = argv[i + 1] === 'json';
    else if (word.startsWith('--format=')) json = word === '--format=json';
    else if (word === 'diff' && i === 0) dryRun = true;
    else if (word === '--dry-run' || word === '-n') dryRun = true;
  }
  return { json, dryRun };
}

/** A usage problem, as yargs reports it, becomes a UsageError (exit 2). */
function fail(msg: string | null, err: Error | undefined): never {
  throw err instanceof UsageError ? err : new UsageError(msg || err?.message || 'invalid arguments');
}

function parserFor(argv: string[]): Argv {
  return (
    yargs(argv)
      .scriptName('replisync')
      // One value per --include (repeat it for more), as rsync: greedy lists took the endpoints
      // after `--include x` for more globs. Endpoints stay strings: `-- 1e3` is no number 1000.
      .parserConfiguration({ 'greedy-arrays': false, 'parse-positional-numbers': false })
      // Messages in one language whatever LANG says: scripts match them, and our own texts are English.
      .locale('en')
      .exitProcess(false)
      .fail(fail)
  );
}

/**
 * The words before `--` ask for help or the version: those go through yargs' commands, which
 * render the whole help text after any command they run (~30 ms of string widths per run, with
 * or without a handler), so a plain run parses its command's options alone.
 */
function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((w) => w === '--help' || w === '--version');
}

/** Parses argv; a usage problem becomes a UsageError (exit 2), --help and --version print and return undefined. */
export async function parseArgs(given: string[]): Promise<RawArgs | undefined> {
  const argv = joinValues(given);
  const first = argv[0];
  if (isCommand(first) && !wantsHelp(argv)) {
    // Every word that is no option is an endpoint (the agent takes none): only unknown options are refused.
    const plain = commandOptions(parserFor(argv.slice(1)), first);
    const parsed = (await (first === 'agent' ? plain.strict() : plain.strictOptions()).help(false).version(false).parseAsync()) as Record<string, unknown>;
    const endpoints = ((parsed._ as unknown[] | undefined) ?? []).map(String);
    return { command: first, endpoints, dryRun: parsed.dryRun as boolean | undefined, ...optionValues(parsed) };
  }
  let parser = parserFor(argv);
  for (const [name, describe] of Object.entries(COMMANDS) as [Command, string][]) {
    const usage = name === 'agent' ? name : `${name} [master] [remotes..]`;
    parser = parser.command(usage, describe, (y: Argv) => commandOptions(withPositionals(y, name), name));
  }
  const parsed = (await parser
    .strict()
    .demandCommand(1, 'name a command: sync, diff or agent')
    .help()
    .version(ownVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .parseAsync()) as Record<string, unknown>;
  if (parsed.help === true || parsed.version === true) return undefined; // printed
  // Help and version have printed, and anything else not led by a command failed: what comes
  // here ran a command all the same, read as yargs gives it (endpoints after `--` follow in `_`).
  const [command, ...afterDashes] = ((parsed._ as unknown[] | undefined) ?? []).map(String);
  const endpoints = [parsed.master, ...((parsed.remotes as string[] | undefined) ?? []), ...afterDashes].filter((x): x is string => x !== undefined).map(String);
  return { command: command as Command, endpoints, dryRun: parsed.dryRun as boolean | undefined, ...optionValues(parsed) };
}

/**
 * The options' values, by the camel-case names yargs gives them, read off the option table: a
 * list stays a list; an option of one value given twice is an array to yargs, and the last one
 * counts, as with rsync.
 */
function optionValues(parsed: Record<string, unknown>): Omit<RawArgs, 'command' | 'endpoints' | 'dryRun'> {
  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(SYNC_OPTIONS)) {
    const key = name.replace(/-(.)/g, (_, c: string) => c.toUpperCase());
    const v = parsed[key];
    // yargs reads `--no-include` as include=false: no value for an option that needs one.
    if (option.type === 'string' && [v].flat().some((x) => typeof x === 'boolean')) throw new UsageError(`--no-${name}: --${name} takes a value; it has no --no- form`);
    // `--log` last on the line, or `--include=`: yargs gives '' (a list: []) and the run went on without it.
    // An empty --attrs stays: it asks for content alone.
    if (option.type === 'string' && name !== 'attrs' && (v === '' || (Array.isArray(v) && v.length === 0))) throw new UsageError(`--${name} needs a value`);
    values[key] = !option.array && Array.isArray(v) ? v[v.length - 1] : v;
  }
  // RawArgs names the options of the table above, in camel case: keep the two together.
  return values as Omit<RawArgs, 'command' | 'endpoints' | 'dryRun'>;
}
