import anyTest, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { cleanup, makeTree, tempDir } from './tree.js';
import { SSHD, SshLab } from './sshd.js';

export interface SshContext {
  lab: SshLab;
  dir: string;
}

/**
 * Hosts a test file may ask for; "nonode" is a host whose PATH has a shell but no node,
 * "narrow" one whose sshd lets a connection carry 2 sessions at once, "nosession" none;
 * "bastion" takes one login at a time (MaxStartups 1: a second while one is under way is dropped);
 * "forced" runs a command of its own whatever is asked (ForceCommand, as for a key kept for backups);
 * "nofwd" forwards no connection (DisableForwarding: no use as a ProxyJump).
 */
export type LabHost = 'web1' | 'web2' | 'web3' | 'bastion' | 'nonode' | 'narrow' | 'nosession' | 'forced' | 'nofwd';

const HOST_OPTIONS: Partial<Record<LabHost, { sshdConfig: string[] }>> = {
  narrow: { sshdConfig: ['MaxSessions 2'] },
  nosession: { sshdConfig: ['MaxSessions 0'] },
  bastion: { sshdConfig: ['MaxStartups 1'] },
  forced: { sshdConfig: ['ForceCommand echo this key only runs backups'] },
  nofwd: { sshdConfig: ['DisableForwarding yes'] },
};

/**
 * The ava test function of a file whose tests run against real sshd "hosts" on 127.0.0.1: they
 * are started before the file's first test and stopped after its last.
 */
export function sshTest(hosts: readonly LabHost[]): TestFn<SshContext> {
  const test = anyTest as TestFn<SshContext>;
  test.before(async (t) => {
    if (!SSHD) throw new Error('OpenSSH sshd is not installed (apt-get install openssh-server)');
    const dir = tempDir('replisync-ssh-');
    const lab = new SshLab(dir);
    for (const host of hosts) await lab.start(host, host === 'nonode' ? { path: pathWithoutNode(dir) } : (HOST_OPTIONS[host] ?? {}));
    t.context = { lab, dir };
  });
  test.after.always((t) => {
    t.context.lab?.stopAll();
    void cleanup(t.context.dir);
  });
  return test;
}

/** A PATH with a shell and the tools the agent's upload uses, but no node. */
function pathWithoutNode(dir: string): string {
  const bin = nodePath.join(dir, 'nonode-bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'mkdir', 'cat', 'mv']) execFileSync('ln', ['-s', execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), nodePath.join(bin, tool)]);
  return bin;
}

let n = 0;
/** A new directory under the lab's, for one case. */
export function freshDir(t: { context: { dir: string } }, prefix: string): string {
  const dir = nodePath.join(t.context.dir, `${prefix}${n++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A fresh case directory with a master made from `spec`; `at` names siblings of the master. */
export async function trees(t: { context: { dir: string } }, spec: Record<string, string>) {
  const base = freshDir(t, 'case');
  const master = nodePath.join(base, 'master');
  await makeTree(master, spec);
  return { base, master, at: (name: string) => nodePath.join(base, name) };
}

export const SAMPLE = { 'bin/app': 'app v1', 'bin/run.sh': '#!/bin/sh\n', 'lib/core.so': 'core', 'etc/app.conf': 'x=1\n', current: '-> bin', 'empty/': '' };
