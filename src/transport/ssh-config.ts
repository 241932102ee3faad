import { readFileSync } from 'node:fs';
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

function parse(text: string): Section[] {
  const sections: Section[] = [{ patterns: ['*'], options: [] }];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().replace(/^"(.*)"$/, '$1');
    if (key === 'host') sections.push({ patterns: value.split(/\s+/), options: [] });
    else if (key === 'match') sections.push({ patterns: [], options: [] }); // Match blocks are not supported: skipped
    else sections[sections.length - 1]!.options.push([key, value]);
  }
  return sections;
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
