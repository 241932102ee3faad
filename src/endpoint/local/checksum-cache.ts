import { readFile, rename, utimes, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { makeDirs } from '../../make-dirs.js';
import { pruneCacheDir } from './cache-prune.js';

/**
 * CRC-32 by path, trusted only while the file's dev, inode, size, mtime and ctime are all unchanged
 * (a write that restores size and mtime still moves ctime). Lives for a run in memory; optionally
 * persisted in a per-root file so that a no-op re-check need not read every file again.
 */
export class ChecksumCache {
  private readonly map = new Map<string, { key: string; crc: number }>();
  private dirty = false;
  /** The file was there to read: a run that learns nothing new still marks it as in use. */
  private inUse = false;

  constructor(
    private readonly file?: string,
    private readonly writable = true,
  ) {}

  /** `key` is contentKey() of the file's current stat. */
  get(path: string, key: string): number | undefined {
    const hit = this.map.get(path);
    return hit && hit.key === key ? hit.crc : undefined;
  }

  set(path: string, key: string, crc: number): void {
    this.map.set(path, { key, crc });
    this.dirty = true;
  }

  delete(path: string): void {
    if (this.map.delete(path)) this.dirty = true;
  }

  async load(): Promise<void> {
    if (!this.file) return;
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as { v: number; entries: [string, string, number][] };
      if (data.v !== 1) return;
      this.inUse = true;
      // What this run learnt already is newer than the file.
      for (const [path, key, crc] of data.entries) if (!this.map.has(path)) this.map.set(path, { key, crc });
    } catch {
      // No cache yet, or an unreadable one: checksums are simply computed.
    }
  }

  /**
   * Writes the cache if it learnt anything, else only marks the file as in use (its mtime: caches
   * left unused for long are pruned). Not to be called again before it settles (one temp file per process).
   */
  async save(): Promise<void> {
    if (!this.file || !this.writable) return;
    if (!this.dirty) {
      if (this.inUse) {
        this.inUse = false; // once a run is enough
        const now = new Date();
        await utimes(this.file, now, now).catch(() => undefined);
      }
      return;
    }
    // Taken whole now: what is learnt while the file is written makes it dirty again.
    const json = JSON.stringify({ v: 1, entries: [...this.map].map(([path, { key, crc }]) => [path, key, crc]) });
    this.dirty = false;
    try {
      makeDirs(nodePath.dirname(this.file), 0o700);
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, json, { mode: 0o600 });
      await rename(tmp, this.file);
      this.inUse = false; // as fresh as can be
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    await pruneCacheDir(nodePath.dirname(this.file), this.file);
  }
}
