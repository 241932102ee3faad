import type { Action, PlanSummary } from '../engine/action.js';
import type { BlockSpec } from '../engine/blocks.js';
import type { ClassSpec } from '../engine/classification.js';
import type { AttrName, Listing } from '../engine/entry.js';
import type { Endpoint, PendingEndpoint } from '../endpoint/endpoint.js';

export interface RunOptions {
  master: Endpoint;
  /** The master's listing by `classes`, when it was begun early (while the remotes were reached). */
  masterListing?: Promise<Listing>;
  /** Being reached: each is worked on as soon as it is open. */
  remotes: PendingEndpoint[];
  /** Told of every endpoint once all are open, before anything is changed; throws to refuse the run. */
  vetEndpoints?: (remotes: Endpoint[]) => void;
  classes: ClassSpec[];
  attrs: ReadonlySet<AttrName>;
  delete: boolean;
  /** --modify-window, in milliseconds. */
  modifyWindowMs: number;
  maxDelete?: number;
  maxPasses: number;
  concurrency: number;
  dryRun: boolean;
  blocks: BlockSpec[];
  job: string;
  runId: string;
  lockTimeoutMs: number;
  progress?: Progress;
  verbose?: (message: string) => void;
  /** Told what is worth knowing but no error (not shown with --quiet). */
  notice?: (message: string) => void;
}

export interface BlockResult {
  name: string;
  pass: number;
  actions: number;
}

export interface RemoteResult {
  endpoint: string;
  actions: Action[];
  passes: number;
  inconsistent: string[];
  errors: string[];
  blocks: BlockResult[];
  summary: PlanSummary;
}

export interface RunResult {
  master: string;
  dryRun: boolean;
  remotes: RemoteResult[];
  /** An error that stopped the whole run (the master could not be listed, say). */
  fatal?: string;
}

/** Where the executor reports how far it got; the CLI draws bars from it on a TTY. */
export interface Progress {
  /** A bar of `bytes` to go; with 0, a line that only says what is going on. */
  start(phase: string, bytes: number): void;
  /** Names what the current bar is at now (a block, say) without starting it over. */
  relabel(phase: string): void;
  advance(amount: number): void;
  stop(): void;
}
