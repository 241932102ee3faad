// npm run bench: replisync against rsync, side by side in the same run, on generated trees.
// BENCH_DIR picks the place (default /dev/shm when present); BENCH_ONLY=mixed|small limits the trees;
// BENCH_SSH=0 skips the SSH cases, BENCH_LOCAL=0 the local ones. "MB sent" is loopback traffic during
// the run: for the SSH cases, what crossed the (encrypted) connections, both ways.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { SshLab } from '../test/helpers/sshd.js';
import { BIN } from '../test/helpers/tree.js';

const REMOTES = 4;
const base = mkdtempSync(nodePath.join(process.env.BENCH_DIR || (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()), 'replisync-bench-'));
// The checksum caches of the bench's trees live and go with them.
process.env.XDG_CACHE_HOME = nodePath.join(base, 'cache');
const hasRsync = (() => {
  try {
    execFileSync('rsync', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A deterministic pseudo-random sequence, so every run benchmarks the same trees. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Files filled from one pseudo-random block at varying offsets: distinct contents, cheap to make. */
function writeTree(root: string, files: { path: string; size: number }[]): void {
  const rand = rng(42);
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((rand() * 2 ** 32) >>> 0, i);
  files.forEach((f, n) => {
    const abs = nodePath.join(root, f.path);
    mkdirSync(nodePath.dirname(abs), { recursive: true });
    const out = Buffer.allocUnsafe(f.size);
    for (let off = 0; off < f.size; ) {
      const start = (n * 7919 + off) % (block.length - 1);
      off += block.copy(out, off, start, Math.min(block.length, start + f.size - off));
    }
    writeFileSync(abs, out);
  });
}

function mixedTree(): { path: string; size: number }[] {
  const rand = rng(7);
  const files: { path: string; size: number }[] = [];
  for (let i = 0; i < 2000; i++) {
    const r = rand();
    // ~52 MB: five 3 MiB files, 5% of 100-400 KB, the rest 0.5-12 KB.
    const size = i < 5 ? 3 * 1024 * 1024 : r < 0.05 ? Math.floor(100_000 + rand() * 300_000) : Math.floor(500 + rand() * 12_000);
    files.push({ path: `dir${i % 20}/sub${i % 7}/file${i}.bin`, size });
  }
  return files;
}

function smallTree(): { path: string; size: number }[] {
  const rand = rng(9);
  return Array.from({ length: 50_000 }, (_, i) => ({ path: `d${i % 100}/s${Math.floor(i / 100) % 10}/f${i}.txt`, size: Math.floor(100 + rand() * 3000) }));
}

/** Bytes sent on the loopback interface so far (what SSH to 127.0.0.1 carries, encrypted, both ways). */
function loopbackBytes(): number {
  try {
    const line = readFileSync('/proc/net/dev', 'utf8').split('\n').find((l) => l.trim().startsWith('lo:'));
    // "lo: rx-bytes rx-packets ... tx-bytes": numbers may touch the colon, so split there first.
    return line ? Number(line.split(':')[1]!.trim().split(/\s+/)[8]) : 0;
  } catch {
    return 0;
  }
}

interface Timing {
  seconds: number;
  peakMb: number;
  codes: number[];
  /** Loopback bytes during the run: the SSH traffic of the SSH cases. */
  wireBytes: number;
}

/** Runs commands at once and times them; samples each one's peak resident memory (VmHWM). */
async function timed(cmds: { cmd: string; args: string[]; env?: NodeJS.ProcessEnv }[]): Promise<Timing> {
  const wireBefore = loopbackBytes();
  const start = process.hrtime.bigint();
  let peak = 0;
  const children: ChildProcess[] = cmds.map((c) => spawn(c.cmd, c.args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...c.env } }));
  const sample = setInterval(() => {
    for (const ch of children) {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${ch.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // exited
      }
    }
  }, 20);
  const codes = await Promise.all(children.map((ch) => new Promise<number>((resolve) => ch.on('exit', (code) => resolve(code ?? -1)))));
  clearInterval(sample);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, peakMb: Math.round(peak), codes, wireBytes: loopbackBytes() - wireBefore };
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

const rows: string[][] = [];
function row(label: string, ours: Timing, theirs?: Timing, theirLabel = ''): void {
  const ratio = theirs ? (ours.seconds / theirs.seconds).toFixed(2) : '-';
  // Bytes on the wire only mean something where the run crossed SSH.
  const wire = ours.wireBytes > 1e6 || (theirs?.wireBytes ?? 0) > 1e6 ? `${mb(ours.wireBytes)} / ${theirs ? mb(theirs.wireBytes) : '-'}` : '-';
  rows.push([label, ours.seconds.toFixed(2), theirs ? theirs.seconds.toFixed(2) : '-', ratio, String(ours.peakMb), wire, theirLabel, ours.codes.join(',')]);
  console.log(
    `${label.padEnd(44)} replisync ${ours.seconds.toFixed(2)}s  ${theirLabel} ${theirs ? `${theirs.seconds.toFixed(2)}s` : '-'}  ratio ${ratio}  peak ${ours.peakMb} MiB${wire === '-' ? '' : `  MB sent ${wire}`}  exit ${ours.codes.join(',')}`,
  );
}

function touchOnePercent(root: string, files: { path: string; size: number }[]): void {
  const rand = rng(1234);
  for (let i = 0; i < files.length; i += 100) {
    const abs = nodePath.join(root, files[i]!.path);
    const buf = readFileSync(abs);
    if (buf.length > 0) buf[Math.floor(rand() * buf.length)] ^= 0xff;
    writeFileSync(abs, buf);
    utimesSync(abs, new Date(), new Date(Date.now() + 5000));
  }
}

async function localCases(name: string, files: { path: string; size: number }[]): Promise<void> {
  const dir = nodePath.join(base, name);
  const master = nodePath.join(dir, 'master');
  writeTree(master, files);
  const ours = Array.from({ length: REMOTES }, (_, i) => nodePath.join(dir, `r${i}`));
  const theirs = Array.from({ length: REMOTES }, (_, i) => nodePath.join(dir, `s${i}`));
  const rep = (extra: string[] = []) => [{ cmd: process.execPath, args: [BIN, 'sync', '-q', '--no-progress', master, ...ours, ...extra] }];
  const rs = (flags: string) => theirs.map((s) => ({ cmd: 'rsync', args: [flags, '--delete', `${master}/`, `${s}/`] }));
  const label = `${name} (${files.length} files) local x${REMOTES}`;
  row(`${label}: initial sync`, await timed(rep()), hasRsync ? await timed(rs('-aH')) : undefined, 'rsync -aH');
  row(`${label}: no-op, CRC of every file`, await timed(rep(['--no-cache'])), hasRsync ? await timed(rs('-aHc')) : undefined, 'rsync -aHc');
  row(`${label}: no-op, checksum cache`, await timed(rep()), hasRsync ? await timed(rs('-aH')) : undefined, 'rsync -aH');
  touchOnePercent(master, files);
  row(`${label}: 1% changed`, await timed(rep()), hasRsync ? await timed(rs('-aH')) : undefined, 'rsync -aH');
  // The cost of blocks: the default (one block per top-level directory, each locked, staged,
  // flushed and committed on its own) against the same sync as one single block.
  const oneBlock = nodePath.join(dir, 'one-block.json');
  writeFileSync(oneBlock, JSON.stringify({ jobs: { b: { master, remotes: [nodePath.join(dir, 'one')], blocks: [{ name: 'all', include: ['**'] }] } } }));
  const single = await timed([{ cmd: process.execPath, args: [BIN, 'sync', '-q', '--config', oneBlock] }]);
  const perDir = await timed([{ cmd: process.execPath, args: [BIN, 'sync', '-q', master, nodePath.join(dir, 'per-dir')] }]);
  console.log(`${label}: blocks per top-level directory ${perDir.seconds.toFixed(2)}s vs one block ${single.seconds.toFixed(2)}s: ratio ${(perDir.seconds / single.seconds).toFixed(2)}`);
  // The cost of verification: the share of a first sync spent listing and checksumming again.
  const verbose = spawnSync(process.execPath, [BIN, 'sync', '-q', '-v', master, nodePath.join(dir, 'verified')], { encoding: 'utf8' }).stderr;
  const applied = Number(/pass 1 applied at ([\d.]+)s/.exec(verbose)?.[1]);
  const verified = Number(/pass 1 verified at ([\d.]+)s/.exec(verbose)?.[1]);
  console.log(`${label}: verification pass ${(verified - applied).toFixed(2)}s of ${verified.toFixed(2)}s (${Math.round(((verified - applied) / verified) * 100)}%)`);
  rmSync(dir, { recursive: true, force: true });
}

async function sshCases(name: string, files: { path: string; size: number }[]): Promise<void> {
  const dir = nodePath.join(base, `ssh-${name}`);
  const lab = new SshLab(nodePath.join(dir, 'lab'));
  try {
    for (let i = 0; i < REMOTES; i++) await lab.start(`h${i}`);
    lab.writeClientFiles();
    const master = nodePath.join(dir, 'master');
    writeTree(master, files);
    const ours = Array.from({ length: REMOTES }, (_, i) => `h${i}:${nodePath.join(dir, `r${i}`)}`);
    const env = lab.env();
    const rep = (extra: string[] = []) => [{ cmd: process.execPath, args: [BIN, 'sync', '-q', '--no-progress', master, ...ours, ...extra], env }];
    const sshCmd = `ssh -F ${lab.clientHome}/.ssh/config -o UserKnownHostsFile=${lab.knownHosts} -o BatchMode=yes`;
    const rs = (flags: string) => Array.from({ length: REMOTES }, (_, i) => ({ cmd: 'rsync', args: [flags, '--delete', '-e', sshCmd, `${master}/`, `h${i}:${nodePath.join(dir, `s${i}`)}/`] }));
    const label = `${name} (${files.length} files) ssh x${REMOTES}`;
    const seq = async (flags: string) => {
      let total = 0;
      for (const c of rs(flags)) total += (await timed([c])).seconds;
      return { seconds: total };
    };
    row(`${label}: initial sync`, await timed(rep()), hasRsync ? await timed(rs('-aH')) : undefined, 'rsync -aH -e ssh (4 at once)');
    if (hasRsync) {
      for (let i = 0; i < REMOTES; i++) rmSync(nodePath.join(dir, `s${i}`), { recursive: true, force: true });
      const s = await seq('-aH');
      console.log(`${label}: rsync one after the other: ${s.seconds.toFixed(2)}s`);
    }
    row(`${label}: no-op, CRC of every file`, await timed(rep(['--no-cache'])), hasRsync ? await timed(rs('-aHc')) : undefined, 'rsync -aHc -e ssh');
    row(`${label}: no-op, checksum cache`, await timed(rep()), hasRsync ? await timed(rs('-aH')) : undefined, 'rsync -aH -e ssh');
    touchOnePercent(master, files);
    row(`${label}: 1% changed`, await timed(rep()), hasRsync ? await timed(rs('-aH')) : undefined, 'rsync -aH -e ssh');
    // Delta transfer at work: content shifted by an insertion is found where it moved.
    const large = files.filter((f) => f.size >= 1024 * 1024);
    if (large.length > 0) {
      for (const f of large) {
        const abs = nodePath.join(master, f.path);
        writeFileSync(abs, Buffer.concat([Buffer.from('inserted '.repeat(11)), readFileSync(abs)]));
      }
      row(`${label}: 99 B inserted at the start of its ${large.length} files of 1 MiB and more`, await timed(rep()), hasRsync ? await timed(rs('-aH')) : undefined, 'rsync -aH -e ssh');
    }
  } finally {
    lab.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

const only = process.env.BENCH_ONLY;
console.log(`bench in ${base}; rsync ${hasRsync ? 'found' : 'not installed: replisync alone'}; node ${process.version}; ${os.cpus().length} cores`);
try {
  if (process.env.BENCH_LOCAL !== '0') {
    if (!only || only === 'mixed') await localCases('mixed', mixedTree());
    if (!only || only === 'small') await localCases('small', smallTree());
  }
  if (process.env.BENCH_SSH !== '0' && existsSync('/usr/sbin/sshd')) {
    if (!only || only === 'mixed') await sshCases('mixed', mixedTree());
    if (!only || only === 'small') await sshCases('small', smallTree());
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
console.log('\n| case | replisync s | rsync s | ratio | peak MiB | MB sent (replisync / rsync) | rsync command | exit |\n| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
