import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real zombie: a process that has exited but whose parent (a `sleep` that never waits) has not
 * reaped it, as a `kill -9`ed run is until its parent gets round to it. `release` ends the parent,
 * and init reaps the zombie.
 */
export async function makeZombie(): Promise<{ pid: number; release: () => void }> {
  // The child ends a while after the shell has become `sleep`: a shell would reap it, a sleep never does.
  const parent = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    parent.once('error', reject);
  });
  const release = (): void => void parent.kill('SIGKILL');
  for (let i = 0; i < 1000; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    if (stat.charAt(stat.lastIndexOf(')') + 2) === 'Z') return { pid, release };
    await sleep(10);
  }
  release();
  throw new Error(`process ${pid} did not become a zombie`);
}
