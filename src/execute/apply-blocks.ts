import pLimit from 'p-limit';
import type { Action } from '../engine/action.js';
import type { Block } from '../engine/blocks.js';
import type { AttrName, RootAttrs } from '../engine/entry.js';
import { CHANGED, type CommitStep, type Endpoint } from '../endpoint/endpoint.js';
import { PathError } from '../endpoint/errors.js';
import { lockRemotes } from './remote-locks.js';
import type { RemoteRun } from './remote-run.js';
import { type CopyTarget, type MasterState, stageCopies } from './transfer.js';
import type { Progress } from './types.js';

export interface BlockContext {
  master: Endpoint;
  /** The master root's attributes: each remote root takes them (those --attrs selects) when its lock is released. */
  masterRoot?: RootAttrs;
  attrs: ReadonlySet<AttrName>;
  concurrency: number;
  job: string;
  runId: string;
  pass: number;
  lastPass: boolean;
  lockTimeoutMs: number;
  progress?: Progress;
  verbose?: (message: string) => void;
}

/**
 * Applies a pass, block by block in `order`, each on every remote that has work in it, all remotes
 * in step so that each master file is read once. Every remote is locked before the first block and
 * stays locked until the pass is done, its lock record naming the block at work. Per block: stage the
 * new contents, make them durable, run preBlock, commit (renames in one sweep, then deletes, links
 * and attributes), run postBlock. A failure before the commit leaves the block entirely old on
 * that remote. Without hooks, a block's commit is sent and the next block staged while it runs
 * (the commit takes only what was staged before it).
 */
export async function applyPass(order: string[], blocksOf: Map<RemoteRun, Block[]>, ctx: BlockContext): Promise<void> {
  const limit = pLimit(ctx.concurrency);
  const each = (remotes: Iterable<RemoteRun>, fn: (r: RemoteRun) => Promise<void>): Promise<unknown> =>
    Promise.all(
      [...remotes].map((r) =>
        limit(async () => {
          if (!r.alive) return;
          try {
            await fn(r);
          } catch (err) {
            r.fail(err);
          }
        }),
      ),
    );
  let locked = new Set<RemoteRun>();
  const master: MasterState = {};
  const relabels: Promise<void>[] = [];
  let committing: Promise<unknown> = Promise.resolve();
  // One bar for the pass: its ETA means something, one per block's would not.
  ctx.progress?.start(`pass ${ctx.pass}: transfer`, bytesToRead(blocksOf));
  // Every remote of the pass is locked before its first block: one at a time, two runs could each take one and wait for the other's.
  const firstBlock = new Map<RemoteRun, string>();
  for (const name of order) for (const [r, blocks] of blocksOf) if (!firstBlock.has(r) && r.alive && blocks.some((b) => b.name === name)) firstBlock.set(r, name);
  try {
    locked = await lockRemotes([...firstBlock.keys()], {
      ownerOf: (r) => ({ runId: ctx.runId, job: ctx.job, block: firstBlock.get(r)! }),
      timeoutMs: ctx.lockTimeoutMs,
      each,
      waiting: (r) => {
        ctx.verbose?.(`${r.label}: waiting for its lock, held by another run (up to ${ctx.lockTimeoutMs / 1000}s)`);
        ctx.progress?.relabel(`waiting for the lock on ${r.label}`);
      },
    });
    await each(locked, async (r) => {
      if (r.leftoversRemoved) return;
      await r.endpoint.removeLeftovers(r.listing?.leftovers ?? []);
      r.leftoversRemoved = true;
    });
    for (const name of order) {
      const work = new Map<RemoteRun, Block>();
      for (const [r, blocks] of blocksOf) {
        const b = blocks.find((x) => x.name === name);
        if (b && r.alive) work.set(r, b);
      }
      if (work.size === 0) continue;
      ctx.verbose?.(`pass ${ctx.pass}, block ${name}: ${work.size} remote(s)`);
      const owner = { runId: ctx.runId, job: ctx.job, block: name };
      for (const r of work.keys()) {
        // Renaming the held lock queues behind the previous commit on that host: not waited for here.
        if (r.alive && firstBlock.get(r) !== name) relabels.push(r.endpoint.lock(owner, ctx.lockTimeoutMs).catch((err) => r.fail(err)));
      }

      const targets = await stageBlock(name, work, master, ctx);
      // The master is gone: this block and the ones after it stay as they are on every remote
      // (what it staged is removed at unlock), rather than get their deletes without their copies.
      if (master.lost) break;
      await committing;
      const hooked = [...work.values()].some((b) => b.preBlock || b.postBlock);
      committing = each(work.keys(), (r) => commitBlock(name, r, work.get(r)!, targets.get(r)!, hooked, ctx));
      if (hooked) await committing;
    }
  } finally {
    await committing;
    ctx.progress?.stop();
    await Promise.all(relabels);
    await Promise.all(
      [...locked].map((r) =>
        r.endpoint.unlock(r.alive && !master.lost ? rootAttrsFor(r, ctx) : undefined).catch((err) => {
          r.fail(err);
        }),
      ),
    );
  }
}

/** What of the master root's attributes a remote root takes: those --attrs selects, owners only where the remote may set them. */
function rootAttrsFor(r: RemoteRun, ctx: BlockContext): Partial<RootAttrs> | undefined {
  const m = ctx.masterRoot;
  if (!m) return undefined;
  const out: Partial<RootAttrs> = {};
  if (ctx.attrs.has('mode')) out.mode = m.mode;
  if (ctx.attrs.has('mtime')) out.mtimeMs = m.mtimeMs;
  if (r.listing?.canChown && ctx.attrs.has('owner')) out.uid = m.uid;
  if (r.listing?.canChown && ctx.attrs.has('group')) out.gid = m.gid;
  return out;
}

/** Stages the copies of a block on every remote; per remote, the copy target of each copy action. */
async function stageBlock(name: string, work: Map<RemoteRun, Block>, master: MasterState, ctx: BlockContext): Promise<Map<RemoteRun, Map<Action, CopyTarget>>> {
  const copies = new Map<string, CopyTarget[]>();
  const targets = new Map<RemoteRun, Map<Action, CopyTarget>>();
  for (const [r, b] of work) {
    const mine = new Map<Action, CopyTarget>();
    targets.set(r, mine);
    if (!r.alive) continue;
    for (const a of b.actions) {
      if (a.op !== 'copy') continue;
      const t: CopyTarget = { remote: r, action: a };
      mine.set(a, t);
      const list = copies.get(a.path);
      if (list) list.push(t);
      else copies.set(a.path, [t]);
    }
  }
  ctx.progress?.relabel(`pass ${ctx.pass}: transfer, block ${name}`);
  await stageCopies(ctx.master, copies, master, ctx.attrs, ctx.progress);
  return targets;
}

/** What the master sends in a pass: each file to copy once, however many remotes need it. */
function bytesToRead(blocksOf: Map<RemoteRun, Block[]>): number {
  const sizes = new Map<string, number>();
  for (const blocks of blocksOf.values()) {
    for (const b of blocks) for (const a of b.actions) if (a.op === 'copy') sizes.set(a.path, a.master?.size ?? 0);
  }
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}

async function commitBlock(name: string, r: RemoteRun, b: Block, copies: Map<Action, CopyTarget>, hooked: boolean, ctx: BlockContext): Promise<void> {
  const unstaged = [...copies.values()].filter((t) => t.failed).length;
  if (unstaged > 0) {
    // A block changes whole or not at all: what the remote could not take keeps all of it old there.
    await r.endpoint.commit([]);
    r.note(`${r.label}: block ${name} left as it was: ${unstaged} of its file(s) could not be staged there`);
    r.blocks.push({ name, pass: ctx.pass, actions: 0 });
    return;
  }
  const steps = toSteps(b.actions, copies, ctx.attrs);
  let results;
  if (hooked) {
    await r.endpoint.flush();
    await hook(r, name, b.preBlock, 'preBlock', ctx);
    results = await r.endpoint.commit(steps);
  } else {
    results = await r.endpoint.commit(steps, { flush: true });
  }
  results.forEach((res, i) => {
    if (res.entry) r.placed.set(res.path, res.entry);
    if (res.code === 'ENOTEMPTY') r.relist = true;
    if (res.ok) r.done.push(steps[i]!.action);
    else if (res.code !== CHANGED && !(inTheWay(res.code) && !ctx.lastPass)) r.pathError(r.label, res.path, res.error ?? 'failed');
    else ctx.verbose?.(`${r.label}: ${res.path}: ${res.error}`);
  });
  r.blocks.push({ name, pass: ctx.pass, actions: results.filter((x) => x.ok).length });
  if (hooked) await hook(r, name, b.postBlock, 'postBlock', ctx);
}

/**
 * Something in the way: a directory not empty when removed, or an entry where one is made. It may
 * have been put there by another process since the listing, which the next pass sees and deals
 * with; or it is kept (outside the classification, or by --no-delete), and every pass meets it
 * again. So it is an error only when the last pass meets it.
 */
function inTheWay(code: string | undefined): boolean {
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

/** Runs a hook, telling it which; its output is shown with --verbose, and in the error when it fails. */
async function hook(r: RemoteRun, block: string, command: string | undefined, which: 'preBlock' | 'postBlock', ctx: BlockContext): Promise<void> {
  if (!command) return;
  const res = await r.endpoint.runHook(command, { REPLISYNC_JOB: ctx.job, REPLISYNC_BLOCK: block, REPLISYNC_HOOK: which, REPLISYNC_PASS: String(ctx.pass) });
  if (res.code === 0 && res.output) ctx.verbose?.(`${r.label}: ${which} ${command}: ${res.output}`);
  if (res.code !== 0) {
    r.failed = true;
    throw new PathError(`${which} command failed with exit ${res.code}${res.output ? `: ${res.output}` : ' (no output)'}`, r.label, command);
  }
}

/** Commit steps for a block; a copy whose content could not be staged is left out (retried next pass). */
function toSteps(actions: Action[], copies: Map<Action, CopyTarget>, attrs: ReadonlySet<AttrName>): CommitStep[] {
  const set = { mode: attrs.has('mode'), mtime: attrs.has('mtime'), owner: attrs.has('owner'), group: attrs.has('group') };
  const out: CommitStep[] = [];
  const skipped = new Set<string>();
  for (const a of actions) {
    if (a.op === 'copy') {
      const t = copies.get(a)!;
      if (!t.temp) {
        skipped.add(a.path);
        continue;
      }
      out.push({ action: t.action, temp: t.temp, attrs: set });
    } else if (a.op === 'hardlink' && skipped.has(a.linkTo!)) {
      continue; // its leader is not in place: linking now would join the old content
    } else {
      out.push({ action: a, attrs: set });
    }
  }
  return out;
}
