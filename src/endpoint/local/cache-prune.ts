import { readdir, stat, unlink, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A root not synced for this long has its cache dropped: it is only a shortcut, rebuilt by reading. */
export const UNUSED_CACHE_MS = 60 * DAY_MS;
/** A temp file this old is what a killed run left while it wrote a cache. */
export const STALE_TEMP_MS = DAY_MS;
/** Its mtime is when the directory was last pruned: once a day is enough, not every save of every process. */
const STAMP = '.pruned';

/**
 * Removes from a checksum-cache directory the caches of roots not synced for 60 days (one file
 * per root path ever synced: without this they pile up, a few MB for every large tree) and the
 * temp files of writes that were cut off, at most once a day. `keep` (the cache just written)
 * always stays.
 */
export async function pruneCacheDir(dir: string, keep: string, now = Date.now()): Promise<void> {
  const stamp = nodePath.join(dir, STAMP);
  const last = await stat(stamp).then((st) => st.mtimeMs, () => undefined);
  if (last !== undefined && now - last < DAY_MS) return;
  let names: string[];
  try {
    await writeFile(stamp, '', { mode: 0o600 });
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (name) => {
      const file = nodePath.join(dir, name);
      const maxAge = name.endsWith('.tmp') ? STALE_TEMP_MS : name.endsWith('.json') ? UNUSED_CACHE_MS : undefined;
      if (file === keep || maxAge === undefined) return;
      try {
        if (now - (await stat(file)).mtimeMs > maxAge) await unlink(file);
      } catch {
        // gone already, or not ours to remove: left as it is
      }
    }),
  );
}
