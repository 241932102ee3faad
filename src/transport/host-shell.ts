import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { reasonOf } from '../endpoint/errors.js';
import type { HostConnections } from './connection-pool.js';

/** A command under way on a host: its stdio, and how it ends. */
export interface HostCommand {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** The exit code (null when it ended without one). */
  exit: Promise<number | null>;
  /** Ends it at once. */
  kill(): void;
}

/** What runs commands on a host: one SSH connection (ssh2), or the ssh program itself (--rsh). */
export interface HostShell {
  run(command: string): Promise<HostCommand>;
}

/** Commands as session channels of the SSH connections to a host (ssh2). */
export function connectionShell(connections: HostConnections): HostShell {
  return {
    run: (command) =>
      connections.exec(command, (channel) => {
        const exit = new Promise<number | null>((done) => {
          channel.once('exit', (code: number | null) => done(typeof code === 'number' ? code : null));
          channel.once('close', () => done(null));
        });
        return { stdin: channel, stdout: channel, stderr: channel.stderr, exit, kill: () => channel.close() };
      }),
  };
}

/**
 * Commands through the ssh program, as rsync's -e runs it: `rsh... [-p port] [-l user] host command`.
 * Everything ssh supports then works (certificates, FIDO keys, ControlMaster, Kerberos), at the
 * cost of one ssh process, and so one connection, per command.
 */
export function rshShell(rsh: string[], host: string, user: string | undefined, port: number | undefined): HostShell {
  const args = [...rsh.slice(1), ...(port !== undefined ? ['-p', String(port)] : []), ...(user ? ['-l', user] : []), '--', host];
  return {
    run: async (command) => {
      const child = spawn(rsh[0]!, [...args, command], { stdio: ['pipe', 'pipe', 'pipe'] });
      const exit = new Promise<number | null>((done) => {
        child.once('close', (code) => done(code));
        child.once('error', () => done(null));
      });
      // Writing to an ssh that has gone ends as its exit, not as an uncaught EPIPE.
      child.stdin.on('error', () => undefined);
      try {
        await once(child, 'spawn');
      } catch (err) {
        throw new Error(`--rsh: cannot run ${rsh[0]}: ${reasonOf(err)}`);
      }
      return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exit, kill: () => child.kill() };
    },
  };
}

/** Splits an --rsh command as rsync splits -e: on blanks, with '...' and "..." quoting. */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unbalanced ${quote} in "${text}"`);
  if (word !== undefined) words.push(word);
  return words;
}
