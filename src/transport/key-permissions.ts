import { statSync } from 'node:fs';

/**
 * Why ssh would not use a private key file, as OpenSSH judges it: one of ours that others may read
 * (group or world bits) is taken as leaked and ignored. Undefined when it is fine, or not ours.
 */
export function tooOpen(file: string): string | undefined {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st || st.uid !== process.getuid?.() || (st.mode & 0o077) === 0) return undefined;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  return `${file}: permissions ${mode} are too open, so ssh ignores the key: chmod 600 ${file}`;
}
