/** Where an endpoint is: a local directory, or a directory on a host reached over SSH. */
export type Address =
  | { kind: 'local'; path: string }
  | { kind: 'ssh'; user?: string; host: string; port?: number; path: string };

export class AddressError extends Error {}

/**
 * Parses the endpoint forms of the contract. As with scp, a path is local when a '/' comes before
 * any ':' or there is no ':'. `host:` alone means the login directory, `host:dir` a path relative
 * to it. An IPv6 host is written in brackets: `[::1]:/srv`.
 */
export function parseAddress(text: string): Address {
  if (text === '') throw new AddressError('an endpoint cannot be empty');
  if (text.startsWith('ssh://')) return parseUrl(text);
  const colon = hostColon(text);
  const slash = text.indexOf('/');
  if (colon <= 0 || (slash >= 0 && slash < colon)) return { kind: 'local', path: text };
  const hostPart = text.slice(0, colon);
  const path = text.slice(colon + 1) || '.';
  const at = hostPart.lastIndexOf('@');
  const user = at >= 0 ? hostPart.slice(0, at) : undefined;
  const host = stripBrackets(at >= 0 ? hostPart.slice(at + 1) : hostPart);
  checkHost(host, text);
  if (user === '') throw new AddressError(`empty user name in ${text}`);
  return { kind: 'ssh', user, host, path };
}

/** Where the host part ends: the first ':', or for `[user@][v6]:path` the one after the bracket. */
function hostColon(text: string): number {
  const bracketed = /^(?:[^:/[]*@)?\[[^\]/]*\]:/.exec(text);
  return bracketed ? bracketed[0].length - 1 : text.indexOf(':');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function checkHost(host: string, text: string): void {
  if (host === '') throw new AddressError(`no host name in ${text}`);
  if (/[\s/]/.test(host) || host.startsWith('-')) throw new AddressError(`invalid host name "${host}" in ${text}`);
}

function parseUrl(text: string): Address {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AddressError(`not a valid ssh:// URL: ${text}`);
  }
  const host = stripBrackets(url.hostname);
  checkHost(host, text);
  // As in the ssh/sftp URI draft, "/~/dir" is "dir" in the login's home (expanded where it is used).
  const path = decodeURIComponent(url.pathname).replace(/^\/~(?=\/|$)/, '~');
  if (path === '' || path === '/') {
    if (!text.replace(/^ssh:\/\/[^/]*/, '').startsWith('/')) throw new AddressError(`no path in ${text}`);
  }
  const port = url.port ? Number(url.port) : undefined;
  if (port === 0) throw new AddressError(`port 0 in ${text}: a port is a number from 1 to 65535`);
  if (url.search || url.hash) throw new AddressError(`unexpected ? or # in ${text}`);
  return {
    kind: 'ssh',
    user: url.username ? decodeURIComponent(url.username) : undefined,
    host,
    port,
    path,
  };
}

export function formatAddress(a: Address): string {
  if (a.kind === 'local') return a.path;
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  const user = a.user ? `${a.user}@` : '';
  if (a.port !== undefined) return `ssh://${user}${host}:${a.port}${a.path.startsWith('/') ? '' : '/'}${a.path}`;
  return `${user}${host}:${a.path}`;
}
