import { formatBytes } from '../report/model.js';
import { countDeletions } from '../engine/action.js';
import { type Listing, holdsLeftovers } from '../engine/entry.js';
import { type Block, assignBlocks, blockOrder } from '../engine/blocks.js';
import { EndpointError, ReplisyncError, describe } from '../endpoint/errors.js';
import { applyPass } from './apply-blocks.js';
import { compareAll, verifyTouched } from './compare.js';
import { RemoteRun } from './remote-run.js';
import type { RunOptions, RunResult } from './types.js';

/**
 * One run of a job: compare, refuse what --max-delete forbids (before anything is written
 * anywhere), then pass after pass: apply the plan block by block and look again at what the pass
 * acted on; what still differs after the last pass is reported as inconsistent.
 */
export async function runJob(opts: RunOptions): Promise<RunResult> {
  const remotes = opts.remotes.map((p) => new RemoteRun(p.label, p.opened));
  const result = (fatal?: string): RunResult => ({
    master: opts.master.label,
    dryRun: opts.dryRun,
    remotes: remotes.map((r) => r.result()),
    fatal,
  });
  const compareOpts = { classes: opts.classes, attrs: opts.attrs, delete: opts.delete, modifyWindowMs: opts.modifyWindowMs, concurrency: opts.concurrency, onPhase: (text: string) => opts.progress?.relabel(text), verbose: opts.verbose };
  let masterListing: Listing | undefined;
  /** A full comparison first; after each pass, a look at the paths it acted on (the rest stands). */
  const compare = async (which: RemoteRun[]): Promise<string | undefined> => {
    try {
      masterListing = masterListing
        ? await verifyTouched(opts.master, masterListing, which, compareOpts)
        : await compareAll(opts.master, which, compareOpts, opts.masterListing);
      return undefined;
    } catch (err) {
      return err instanceof ReplisyncError ? describe(err) : `${opts.master.label}: ${(err as Error).message}`;
    }
  };

  const t0 = Date.now();
  const since = (): string => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  opts.progress?.start('listing', 0);
  let fatal = await compare(remotes);
  opts.progress?.stop();
  opts.vetEndpoints?.(await Promise.all(remotes.map((r) => r.open())));
  opts.verbose?.(`compared in ${since()}`);
  if (fatal) return result(fatal);
  for (const e of masterListing!.entries) {
    if (e.type === 'special') opts.notice?.(`${opts.master.label}: ${e.path}: not replicated: a FIFO, socket or device file`);
  }

  if (opts.maxDelete !== undefined && refuseDeletions(remotes, opts.maxDelete, 1, opts.dryRun)) return result();

  if (opts.dryRun) {
    for (const r of remotes) {
      if (!r.alive) continue;
      r.done.push(...r.plan);
      // The pass it would take, as a sync's report counts the one it made (the contract's example).
      if (r.plan.length > 0) r.passes = 1;
    }
    return result();
  }

  // Besides a plan, what needs a remote's lock: a missing root is made even when the
  // classification selects nothing to put in it, and what a killed run left (temp files, its lock) is removed.
  const rootMissing = (r: RemoteRun): boolean => r.listing?.exists === false && r.passes === 0;
  const leftovers = (r: RemoteRun): boolean => !r.leftoversRemoved && r.listing !== undefined && holdsLeftovers(r.listing);
  for (let pass = 1; pass <= opts.maxPasses; pass++) {
    const work = remotes.filter((r) => r.alive && (r.plan.length > 0 || rootMissing(r) || leftovers(r)));
    if (work.length === 0) break;
    if (pass > 1 && opts.maxDelete !== undefined && refuseDeletions(work, opts.maxDelete, pass, false)) return result();
    for (const r of work) {
      r.passes = pass;
      r.placed.clear();
    }
    // Declared blocks hold in every pass: their hooks wrap every change of their files, and each
    // commits whole. The default ones (a block per top-level directory) only split the first
    // pass; what is left for a later one goes in one block.
    const blocksOf = new Map<RemoteRun, Block[]>(
      work.map((r) => [r, pass === 1 || opts.blocks.length > 0 ? assignBlocks(r.plan, opts.blocks) : [{ name: `pass ${pass}`, actions: r.plan }]]),
    );
    // Leftovers alone still need the lock once, to be removed; a missing root, to be made.
    for (const blocks of blocksOf.values()) if (blocks.length === 0) blocks.push({ name: 'cleanup', actions: [] });
    await applyPass(blockOrder([...blocksOf.values()], opts.blocks), blocksOf, {
      master: opts.master,
      masterRoot: masterListing?.root,
      attrs: opts.attrs,
      concurrency: opts.concurrency,
      job: opts.job,
      runId: opts.runId,
      pass,
      lastPass: pass === opts.maxPasses,
      lockTimeoutMs: opts.lockTimeoutMs,
      progress: opts.progress,
      verbose: opts.verbose,
    });
    opts.verbose?.(`pass ${pass} applied at ${since()}`);
    // Verify the remotes worked on: whatever still differs is inconsistent.
    fatal = await compare(work);
    opts.verbose?.(`pass ${pass} verified at ${since()}`);
    if (fatal) return result(fatal);
  }
  for (const r of remotes) {
    if (r.alive && r.listing) r.inconsistent = [...new Set(r.plan.map((a) => a.path))];
    const d = r.delta;
    if (d.copies > 0) opts.verbose?.(`${r.label}: ${d.copies === 1 ? '1 copy' : `${d.copies} copies`} (${formatBytes(d.bytes)}) went as ${d.copies === 1 ? 'its' : 'their'} changed blocks: ${formatBytes(d.sent)} of content sent`);
  }
  return result();
}

/**
 * --max-delete: refuses a pass whose deletions would take a remote's past the limit, counting
 * those made in earlier passes. In the first pass that is before anything is written anywhere;
 * in a later one it is a master that lost files while the run read it (emptied by mistake, say),
 * whose loss the next pass would replicate. Either way no remote gets that pass.
 */
function refuseDeletions(remotes: RemoteRun[], maxDelete: number, pass: number, dryRun: boolean): boolean {
  const refused = remotes.filter((r) => r.alive && countDeletions(r.done) + countDeletions(r.plan) > maxDelete);
  if (refused.length === 0) return false;
  const deletions = (n: number): string => (n === 1 ? 'deletion' : 'deletions');
  for (const r of remotes) {
    if (refused.includes(r)) {
      const needed = countDeletions(r.plan);
      const made = countDeletions(r.done);
      const why = pass === 1 ? `${needed} ${deletions(needed)} needed` : `${needed} more ${deletions(needed)} needed in pass ${pass}, ${made} made before`;
      r.fail(new EndpointError(`refused: ${why}, --max-delete is ${maxDelete}; ${pass === 1 ? 'nothing was changed' : 'that pass was not applied'}`, r.label));
    } else if (r.alive) {
      const what = pass === 1 ? 'not changed: --max-delete refused another remote, so nothing was changed anywhere' : `pass ${pass} not applied: --max-delete refused another remote`;
      r.fail(new EndpointError(what, r.label));
    }
    // A dry run still shows what it would have done; a refused sync did nothing, so reports nothing done.
    if (dryRun) r.done.push(...r.plan);
  }
  return true;
}
