import * as fs from 'node:fs';
import * as nodePath from 'node:path';

/** statfs f_type of FAT (vfat, msdos): file times in steps of two seconds. */
const MSDOS_SUPER_MAGIC = 0x4d44;

/**
 * The step, in milliseconds, in which the file system holding `dir` keeps file times: 2000 on FAT,
 * 1000 where it keeps whole seconds (ext3, ext4 with small inodes, HFS+), 10 on exFAT, else 1
 * (the millisecond mtimes are compared to). A replica there can only be given the master's mtime
 * rounded down to that step: compared more finely, it would never match.
 *
 * Read off the directory's ctime, which only the kernel sets, at the file system's step: on a
 * finer one it is a whole second about once in a billion. `dir` that does not exist yet (a remote
 * to be created) is judged by its nearest existing parent, where it will be made. `stat`: the
 * directory's, where the caller has it already.
 */
export function timeGranularityMs(dir: string, stat?: fs.BigIntStats): number {
  const st = stat ? { path: dir, stat } : existingAncestorStat(dir);
  return st ? timeStepOf(st.stat.ctimeNs, fileSystemType(st.path)) : 1;
}

/** The step of a file system whose statfs type is `fsType`, from a ctime it gave. */
export function timeStepOf(ctimeNs: bigint, fsType: number | undefined): number {
  if (fsType === MSDOS_SUPER_MAGIC) return 2000;
  const ns = ctimeNs % 1_000_000_000n;
  if (ns === 0n) return 1000;
  if (ns % 10_000_000n === 0n) return 10;
  return 1;
}

function existingAncestorStat(dir: string): { path: string; stat: fs.BigIntStats } | undefined {
  for (let path = nodePath.resolve(dir); ; path = nodePath.dirname(path)) {
    let stat: fs.BigIntStats | undefined;
    try {
      stat = fs.statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      // Not a directory, or not to be looked into: the listing says so; this only judges times.
    }
    if (stat) return { path, stat };
    if (path === nodePath.dirname(path)) return undefined;
  }
}

/** statfs is node 18.15 and later: an agent on an older node does without it. */
function fileSystemType(path: string): number | undefined {
  const statfs = (fs as { statfsSync?: (p: string) => { type: number } }).statfsSync;
  try {
    return statfs?.(path).type;
  } catch {
    return undefined;
  }
}
