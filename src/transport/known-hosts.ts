import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { hostMatches } from './ssh-config.js';
import { makeDirs } from '../make-dirs.js';

/** How known_hosts names a host: plain for port 22, "[host]:port" otherwise. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}


/** The key type named inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

interface KnownKey {
  file: string;
  line: number;
  type: string;
  blob: Buffer;
  revoked: boolean;
}

function matchesHost(field: string, token: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64') === hash;
  }
  return hostMatches(field.split(','), token);
}

function keysFor(file: string, token: string): KnownKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: KnownKey[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let parts = line.split(/\s+/);
    let revoked = false;
    if (parts[0]!.startsWith('@')) {
      if (parts[0] === '@revoked') revoked = true;
      else return; // @cert-authority: certificates are not used here
      parts = parts.slice(1);
    }
    const [hosts, type, key] = parts;
    if (!hosts || !type || !key || !matchesHost(hosts, token)) return;
    out.push({ file, line: i + 1, type, blob: Buffer.from(key, 'base64'), revoked });
  });
  return out;
}

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown' }
  | { kind: 'mismatch'; file: string; line: number }
  | { kind: 'revoked'; file: string; line: number };

/** Checks a presented host key against the known_hosts files, as OpenSSH's StrictHostKeyChecking does. */
export function checkHostKey(files: readonly string[], token: string, blob: Buffer): HostKeyVerdict {
  const known = files.flatMap((f) => keysFor(f, token));
  const revoked = known.find((k) => k.revoked && k.blob.equals(blob));
  if (revoked) return { kind: 'revoked', file: revoked.file, line: revoked.line };
  if (known.some((k) => !k.revoked && k.blob.equals(blob))) return { kind: 'known' };
  const other = known.find((k) => !k.revoked);
  if (other) return { kind: 'mismatch', file: other.file, line: other.line };
  return { kind: 'unknown' };
}

/** Host key algorithms to ask for, known types first, so that the server shows a key we can check. */
export function preferredAlgorithms(files: readonly string[], token: string): string[] {
  const types = new Set(files.flatMap((f) => keysFor(f, token)).map((k) => k.type));
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const known = all.filter((a) => types.has(a) || (a.startsWith('rsa-sha2') && types.has('ssh-rsa')));
  return [...known, ...all.filter((a) => !known.includes(a))];
}

/** The host field of a known_hosts line, hashed as HashKnownHosts writes it (`|1|salt|HMAC-SHA1`) when asked. */
function hostField(token: string, hashed: boolean): string {
  if (!hashed) return token;
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(token).digest('base64')}`;
}

/** Appends a newly accepted key (OpenSSH's accept-new), creating ~/.ssh with mode 0700 if needed. */
export function addHostKey(file: string, token: string, blob: Buffer, hashed = false): void {
  makeDirs(nodePath.dirname(file), 0o700);
  const needsNewline = existsSync(file) && !readFileSync(file, 'utf8').endsWith('\n') && readFileSync(file).length > 0;
  appendFileSync(file, `${needsNewline ? '\n' : ''}${hostField(token, hashed)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
