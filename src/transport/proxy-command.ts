import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** A ProxyCommand under way: its stdin and stdout are the connection. */
export interface ProxyProcess {
  sock: Duplex;
  /** Why the connection may have failed, as the command left it: its exit and the end of its stderr. */
  explain(): Promise<string>;
  stop(): void;
}

/**
 * Runs an ssh_config ProxyCommand as ssh does (`exec` by the shell, tokens already expanded). Its
 * stderr is kept, not shown: a proxy that cannot connect says why there, and the error quotes it.
 */
export function startProxyCommand(command: string): ProxyProcess {
  const child = spawn('/bin/sh', ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let exit: string | undefined;
  let spawnError: string | undefined;
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
  const ended = new Promise<void>((done) => {
    child.on('close', (code, signal) => {
      exit = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      done();
    });
    child.on('error', (err) => {
      spawnError = err.message;
      done();
    });
  });
  // The writable side's errors (EPIPE once the proxy is gone) surface as the connection's end.
  child.stdin!.on('error', () => undefined);
  const sock = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  return {
    sock,
    explain: async () => {
      // The connection often fails first: give the command a moment to exit and say why.
      await Promise.race([ended, sleep(1000)]);
      const said = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : '';
      if (spawnError) return ` (ProxyCommand could not start: ${spawnError})`;
      return exit ? ` (ProxyCommand "${command}" ${exit}${said})` : said ? ` (ProxyCommand said${said})` : '';
    },
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}
