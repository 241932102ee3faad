import { readFileSync } from 'node:fs';

/** What procfs says of a process: its state letter and its start time (clock ticks since boot). */
function procStat(pid: number): { state: string; start: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name, in parentheses, may hold any byte: the fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', start: fields[19] ?? '' };
}

let bootId: string | undefined | null = null;

function currentBoot(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

/**
 * Names one process among all that have had its pid on this host, across reboots (Linux: the boot
 * and its start time); undefined where procfs cannot tell. Kept in lock records, so that a stale
 * lock whose pid was given to another process since (after a reboot, say) is still seen as stale.
 */
export function processInstance(pid = process.pid): string | undefined {
  return instanceOf(procStat(pid));
}

function instanceOf(stat: { start: string } | undefined): string | undefined {
  const boot = currentBoot();
  return boot && stat?.start ? `${boot}/${stat.start}` : undefined;
}

/** What a lock record says of the process that holds it. */
export function thisProcess(): { pid: number; instance?: string } {
  const instance = processInstance();
  return instance ? { pid: process.pid, instance } : { pid: process.pid };
}

/**
 * Whether the process that wrote a lock record of this host still runs. A killed process stays a
 * zombie until its parent reaps it, and `kill(pid, 0)` still finds it: a run started right after a
 * `kill -9` of the last one must not wait on it. `instance` (from the record, when it has one)
 * tells the holder from a later process with its pid.
 */
export function processAlive(pid: number, instance?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
  const stat = procStat(pid);
  if (stat === undefined) return true; // no procfs here: kill() is all there is
  if (stat.state === 'Z' || stat.state === 'X') return false;
  // The stat just read tells its instance too: /proc is read once.
  const now = instanceOf(stat);
  return instance === undefined || now === undefined || now === instance;
}
