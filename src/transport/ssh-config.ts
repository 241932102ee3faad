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
  userKnownHostsFiles: string[];
  identitiesOnly: boolean;
}

interface Section {
  patterns: string[];
  options: [string, string][];
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
 * names are under ~/.ssh, `*` and `?` in the file name are expanded (sorted), and the lines after
 * it belong to the section it stood in again, whatever Host lines the included files had.
 */
function parse(text: string, depth = 0, context: string[] = ['*']): Section[] {
  const sections: Section[] = [{ patterns: context, options: [] }];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().replace(/^"(.*)"$/, '$1');
    const current = sections[sections.length - 1]!;
    if (key === 'host') sections.push({ patterns: value.split(/\s+/), options: [] });
    else if (key === 'match') sections.push({ patterns: [], options: [] }); // Match blocks are not supported: skipped
    else if (key === 'include') {
      if (depth >= MAX_INCLUDE_DEPTH) continue;
      for (const file of value.split(/\s+/).flatMap(includedFiles)) {
        let included = '';
        try {
          included = readFileSync(file, 'utf8');
        } catch {
          continue; // as ssh: a missing file is no error
        }
        sections.push(...parse(included, depth + 1, current.patterns));
      }
      sections.push({ patterns: current.patterns, options: [] });
    } else current.options.push([key, value]);
  }
  return sections;
}

/** The files an Include names: ~ expanded, relative to ~/.ssh, wildcards in the last part expanded. */
function includedFiles(spec: string): string[] {
  const home = os.homedir();
  const path = spec.replace(/^~(?=\/|$)/, home);
  const abs = nodePath.isAbsolute(path) ? path : nodePath.join(home, '.ssh', path);
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

function expand(path: string, host: string, user: string | undefined): string {
  const home = os.homedir();
  return path
    .replace(/^~(?=\/|$)/, home)
    .replace(/%d/g, home)
    .replace(/%h/g, host)
    .replace(/%r/g, user ?? os.userInfo().username)
    .replace(/%%/g, '%');
}

export function defaultConfigFile(): string {
  return nodePath.join(os.homedir(), '.ssh', 'config');
}

/** Resolves a host the way ssh does: for each option the first value found in a matching section wins. */
export function resolveHost(alias: string, file = defaultConfigFile()): HostConfig {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no config: defaults
  }
  const first = new Map<string, string>();
  const identityFiles: string[] = [];
  for (const s of parse(text)) {
    if (!hostMatches(s.patterns, alias)) continue;
    for (const [k, v] of s.options) {
      if (k === 'identityfile') identityFiles.push(v);
      else if (!first.has(k)) first.set(k, v);
    }
  }
  const hostName = (first.get('hostname') ?? alias).replace(/%h/g, alias);
  const user = first.get('user');
  const port = first.has('port') ? Number(first.get('port')) : undefined;
  const proxyJump = first.get('proxyjump');
  const known = first.get('userknownhostsfile');
  return {
    hostName,
    user,
    port: port !== undefined && Number.isInteger(port) && port > 0 ? port : undefined,
    identityFiles: identityFiles.map((f) => expand(f, hostName, user)),
    proxyJump: proxyJump && proxyJump.toLowerCase() !== 'none' ? proxyJump : undefined,
    userKnownHostsFiles: known ? known.split(/\s+/).map((f) => expand(f, hostName, user)) : [],
    identitiesOnly: (first.get('identitiesonly') ?? 'no').toLowerCase() === 'yes',
  };
}
