import { readdirSync } from 'node:fs';

/**
 * A file name that is not valid UTF-8 comes from node with U+FFFD in place of its bad bytes: a
 * name that no later call can reach, nor the other side write. Such entries are left out of the
 * listing and reported (with \xHH for the bad bytes) instead of being silently missed.
 */
export function garbled(names: Iterable<{ name: string }>): boolean {
  for (const d of names) if (d.name.includes('\uFFFD')) return true;
  return false;
}

/** The names of directory `abs` that are not valid UTF-8: as node gives them, and as they are shown. */
export function undecodableNames(abs: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of readdirSync(abs, { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(raw)) out.set(name, showBytes(raw));
  }
  return out;
}

/** Valid UTF-8 as it is, every other byte as \xHH. */
export function showBytes(raw: Buffer): string {
  let out = '';
  for (let i = 0; i < raw.length; ) {
    const b = raw[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    const seq = len > 0 && i + len <= raw.length ? raw.subarray(i, i + len) : undefined;
    if (seq && Buffer.from(seq.toString('utf8'), 'utf8').equals(seq)) {
      out += seq.toString('utf8');
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}
