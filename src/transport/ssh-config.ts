import { readFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';

/** What ~/.ssh/config says about a host, as far as replisync uses it. */
export interface HostConfig {
  hostName: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  proxyJump?: string;
  /** With its tokens expanded. Only one of proxyJump and proxyCommand: the first one given, as ssh takes it. */
  proxyCommand?: string;
  /** Where host keys are looked up: the user's files (new keys go to the first; none: not kept) and the system's. */
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  /** StrictHostKeyChecking accept-new (or no/off): an unknown host's key is added, as --accept-new-host-key does. */
  acceptNewHostKey: boolean;
  /** HostKeyAlias: the name the host's key is looked up and kept under, instead of host and port. */
  hostKeyAlias?: string;
  /** Compression yes: the connection is compressed (zlib), worth it on slow links. */
  compression: boolean;
  /** HashKnownHosts: keys added to known_hosts get a hashed host name. */
  hashKnownHosts: boolean;
  /** IdentityAgent: the ssh-agent socket to use instead of SSH_AUTH_SOCK's; 'none' for no agent. */
  identityAgent?: string;
  /** ConnectTimeout, in seconds. */
  connectTimeout?: number;
  /** ServerAliveInterval (seconds) and ServerAliveCountMax. */
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  identitiesOnly: boolean;
}

/** A `Match` criterion: `all`, `host a,b`, `!user x`... */
interface Criterion {
  name: string;
  negated: boolean;
  arg?: string;
}

/** When a section applies: a `Host` line's patterns, or a `Match` line's criteria (all must hold). */
type Condition = { host: string[] } | { match: Criterion[] };

interface Section {
  when: Condition;
  /** Key (lower case), value, and where it was read ("FILE line N"), for errors. */
  options: [string, string, string][];
}

/** A value in an ssh config file that ssh itself would refuse. */
export class SshConfigError extends Error {}

/** What `Match` looks at, as it stands where the Match line is read. */
interface MatchState {
  /** The name given on the command line. */
  original: string;
  /** After any HostName read so far. */
  hostName: string;
  /** The command line's user, else the first User read so far, else the local user. */
  user: string;
  localUser: string;
}

/** OpenSSH glob: * and ?, a leading ! negates; a host matches when some pattern does and no negated one does. */
export function hostMatches(patterns: readonly string[], host: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    if (re.test(host)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Include nesting deeper than this is a loop (OpenSSH stops at 16 too). */
const MAX_INCLUDE_DEPTH = 16;

/**
 * The sections of a config file. `Include` (OpenSSH 7.3) is followed where it stands: relative
 * names are under `base` (~/.ssh, or /etc/ssh for the system's file), `*` and `?` in the file name
 * are expanded (sorted), and the lines after it belong to the section it stood in again,
 * whatever Host lines the included files had.
 */
function parse(text: string, file: string, base: string, depth = 0, context: Condition = { host: ['*'] }): Section[] {
  const sections: Section[] = [{ when: context, options: [] }];
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().replace(/^"(.*)"$/, '$1');
    const current = sections[sections.length - 1]!;
    if (key === 'host') sections.push({ when: { host: value.split(/\s+/) }, options: [] });
    else if (key === 'match') sections.push({ when: { match: parseCriteria(m[2]!.trim()) }, options: [] });
    else if (key === 'include') {
      if (depth >= MAX_INCLUDE_DEPTH) continue;
      for (const includedFile of value.split(/\s+/).flatMap((spec) => includedFiles(spec, base))) {
        let included = '';
        try {
          included = readFileSync(includedFile, 'utf8');
        } catch {
          continue; // as ssh: a missing file is no error
        }
        sections.push(...parse(included, includedFile, base, depth + 1, current.when));
      }
      sections.push({ when: current.when, options: [] });
    } else current.options.push([key, value, `${file} line ${index + 1}`]);
  }
  return sections;
}

/** Words of a Match line; a double-quoted one may hold spaces (`exec "test -f x"`). */
function words(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((w) => w[1] ?? w[2]!);
}

const NO_ARGUMENT = new Set(['all', 'canonical', 'final']);

function parseCriteria(text: string): Criterion[] {
  const out: Criterion[] = [];
  const list = words(text);
  for (let i = 0; i < list.length; i++) {
    const negated = list[i]!.startsWith('!');
    const name = list[i]!.slice(negated ? 1 : 0).toLowerCase();
    out.push(NO_ARGUMENT.has(name) ? { name, negated } : { name, negated, arg: list[++i] });
  }
  return out;
}

/**
 * Whether a Match line holds: `all`, `final` (replisync resolves a host once, as ssh's final
 * pass does), `host`, `originalhost`, `user` and `localuser` are evaluated as ssh does; a line
 * with anything else (`exec`, `canonical`, `localnetwork`, `tagged`) or a criterion without its
 * patterns is taken not to match, so that its options are never applied on a guess.
 */
function matchHolds(criteria: Criterion[], state: MatchState): boolean {
  if (criteria.length === 0) return false;
  for (const c of criteria) {
    let holds: boolean;
    if (c.name === 'all' || c.name === 'final') holds = true;
    else {
      const subjects = new Map([['host', state.hostName], ['originalhost', state.original], ['user', state.user], ['localuser', state.localUser]]);
      const subject = subjects.get(c.name);
      if (subject === undefined || c.arg === undefined) return false;
      holds = hostMatches(c.arg.split(','), subject);
    }
    if (holds === c.negated) return false;
  }
  return true;
}

/** The files an Include names: ~ expanded, relative to `base`, wildcards in the last part expanded. */
function includedFiles(spec: string, base: string): string[] {
  const path = spec.replace(/^~(?=\/|$)/, os.homedir());
  const abs = nodePath.isAbsolute(path) ? path : nodePath.join(base, path);
  const name = nodePath.basename(abs);
  if (!/[*?]/.test(name)) return [abs];
  const dir = nodePath.dirname(abs);
  try {
    return readdirSync(dir)
      .filter((n) => hostMatches([name], n) && !n.startsWith('.'))
      .sort()
      .map((n) => nodePath.join(dir, n));
  } catch {
    return [];
  }
}

/** A TCP port as ssh takes one: a whole number from 1 to 65535. */
export function isPort(text: string): boolean {
  return /^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 65535;
}

/** A config's Port, else ssh refuses the config (it would otherwise reach another port). */
function portNumber(value: string, where: string): number {
  if (isPort(value)) return Number(value);
  throw new SshConfigError(`${where}: bad Port "${value}" (a number from 1 to 65535)`);
}

/** The tokens ssh expands in IdentityFile and UserKnownHostsFile, read left to right ("%%h" is "%h"). */
function expand(path: string, t: { alias: string; host: string; user: string | undefined; port: number | undefined }): string {
  const home = os.homedir();
  const tokens: Record<string, string> = {
    '%': '%',
    d: home,
    h: t.host,
    n: t.alias,
    p: String(t.port ?? 22),
    r: t.user ?? os.userInfo().username,
    u: os.userInfo().username,
    l: os.hostname(),
  };
  return path.replace(/^~(?=\/|$)/, home).replace(/%(.)/g, (whole, c: string) => tokens[c] ?? whole);
}

/** A list of files as UserKnownHostsFile gives them; `none` is no file. */
function fileList(value: string, tokens: Parameters<typeof expand>[1]): string[] {
  return value
    .split(/\s+/)
    .filter((f) => f.toLowerCase() !== 'none')
    .map((f) => expand(f, tokens));
}

/** IdentityAgent's value: `SSH_AUTH_SOCK` is the environment's socket, `$NAME` another variable's, else a path. */
function agentSocket(value: string | undefined, tokens: Parameters<typeof expand>[1]): string | undefined {
  if (value === undefined || value === 'SSH_AUTH_SOCK') return undefined;
  if (value.toLowerCase() === 'none') return 'none';
  if (value.startsWith('$')) return process.env[value.slice(1)] || 'none';
  return expand(value, tokens);
}

/** OpenSSH's default UserKnownHostsFile. */
function defaultKnownHosts(): string[] {
  return [nodePath.join(os.homedir(), '.ssh', 'known_hosts'), nodePath.join(os.homedir(), '.ssh', 'known_hosts2')];
}

export const SYSTEM_CONFIG = '/etc/ssh/ssh_config';

/** The files ssh reads, in its order: the user's, then the system's. */
export function defaultConfigFiles(): string[] {
  return [nodePath.join(os.homedir(), '.ssh', 'config'), SYSTEM_CONFIG];
}

function sectionsOf(file: string): Section[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return []; // no config: defaults
  }
  return parse(text, file, file === SYSTEM_CONFIG ? nodePath.dirname(SYSTEM_CONFIG) : nodePath.join(os.homedir(), '.ssh'));
}

/**
 * Resolves a host the way ssh does: the files in order, and for each option the first value found
 * in a matching section wins. `user` is the one the endpoint names, which ssh sets before it
 * reads the config.
 */
export function resolveHost(alias: string, files: string | string[] = defaultConfigFiles(), user?: string, endpointPort?: number): HostConfig {
  const first = new Map<string, string>();
  const origin = new Map<string, string>();
  const identityFiles: string[] = [];
  let proxy: [string, string] | undefined;
  const localUser = os.userInfo().username;
  const hostNameOf = (): string => (first.get('hostname') ?? alias).replace(/%h/g, alias);
  for (const s of [files].flat().flatMap(sectionsOf)) {
    const applies =
      'host' in s.when
        ? hostMatches(s.when.host, alias)
        : matchHolds(s.when.match, { original: alias, hostName: hostNameOf(), user: user ?? first.get('user') ?? localUser, localUser });
    if (!applies) continue;
    for (const [k, v, where] of s.options) {
      if (k === 'identityfile') identityFiles.push(v);
      else if (k === 'proxyjump' || k === 'proxycommand') proxy ??= [k, v];
      else if (!first.has(k)) {
        first.set(k, v);
        origin.set(k, where);
      }
    }
  }
  const hostName = hostNameOf();
  const configUser = first.get('user');
  const port = first.has('port') ? portNumber(first.get('port')!, origin.get('port')!) : undefined;
  const [proxyKind, proxyValue] = proxy && proxy[1].toLowerCase() !== 'none' ? proxy : [];
  const known = first.get('userknownhostsfile');
  const globalKnown = first.get('globalknownhostsfile');
  const strict = (first.get('stricthostkeychecking') ?? 'ask').toLowerCase();
  const count = (key: string, min: number): number | undefined => {
    const v = first.has(key) ? Number(first.get(key)) : Number.NaN;
    return Number.isInteger(v) && v >= min ? v : undefined;
  };
  const tokens = { alias, host: hostName, user: user ?? configUser, port: endpointPort ?? port };
  return {
    hostName,
    user: configUser,
    port,
    identityFiles: identityFiles.map((f) => expand(f, tokens)),
    proxyJump: proxyKind === 'proxyjump' ? proxyValue : undefined,
    proxyCommand: proxyKind === 'proxycommand' ? expand(proxyValue!, tokens) : undefined,
    userKnownHostsFiles: known ? fileList(known, tokens) : defaultKnownHosts(),
    globalKnownHostsFiles: globalKnown ? fileList(globalKnown, tokens) : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
    acceptNewHostKey: ['accept-new', 'no', 'off'].includes(strict),
    hashKnownHosts: (first.get('hashknownhosts') ?? 'no').toLowerCase() === 'yes',
    hostKeyAlias: first.get('hostkeyalias'),
    compression: (first.get('compression') ?? 'no').toLowerCase() === 'yes',
    identityAgent: agentSocket(first.get('identityagent'), tokens),
    connectTimeout: count('connecttimeout', 1),
    serverAliveInterval: count('serveraliveinterval', 0),
    serverAliveCountMax: count('serveralivecountmax', 1),
    identitiesOnly: (first.get('identitiesonly') ?? 'no').toLowerCase() === 'yes',
  };
}
