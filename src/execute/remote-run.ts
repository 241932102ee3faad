import { type Action, summarize } from '../engine/action.js';
import type { Entry, Listing } from '../engine/entry.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError, ReplisyncError, describe } from '../endpoint/errors.js';
import type { BlockResult, RemoteResult } from './types.js';

/** Everything the run knows about one remote: its listing, plan, progress and troubles. */
export class RemoteRun {
  listing: Listing | undefined;
  plan: Action[] = [];
  /** Actions done (or, in a dry run, to be done), over all passes. */
  readonly done: Action[] = [];
  readonly blocks: BlockResult[] = [];
  /** This pass's commits: the entries of the files they put in place, by path. */
  readonly placed = new Map<string, Entry>();
  readonly errors: string[] = [];
  private readonly known = new Set<string>();
  inconsistent: string[] = [];
  passes = 0;
  failed = false;
  /** Copies that went as their changed blocks (in every pass): how many, their size, and the content bytes sent. */
  readonly delta = { copies: 0, bytes: 0, sent: 0 };
  /** Files whose delta transfer came out wrong (the remote's file moved under it): sent whole from then on. */
  readonly wholeFile = new Set<string>();
  leftoversRemoved = false;
  /** A directory this pass emptied held more than its listing showed (another process is at work there): the verification lists this remote whole again. */
  relist = false;

  private opened: Endpoint | undefined;

  constructor(
    readonly label: string,
    private readonly opening: Promise<Endpoint>,
  ) {}

  /** Waits for the remote to be reached (never rejects: an unreachable one fails its first call). */
  async open(): Promise<Endpoint> {
    this.opened ??= await this.opening;
    return this.opened;
  }

  /** The endpoint, once opened: the comparison opens every remote before anything else uses it. */
  get endpoint(): Endpoint {
    if (!this.opened) throw new Error(`${this.label}: used before it was reached`);
    return this.opened;
  }

  get alive(): boolean {
    return !this.failed;
  }

  /** Records an error; one that concerns the whole endpoint stops the work on this remote. */
  fail(err: unknown): void {
    this.note(err instanceof ReplisyncError ? describe(err) : `${this.label}: ${(err as Error)?.message ?? String(err)}`);
    if (!(err instanceof ReplisyncError) || err instanceof EndpointError) this.failed = true;
  }

  pathError(where: string, path: string, message: string): void {
    this.note(`${where}: ${path}: ${message}`);
  }

  /** Records an error message once, however many passes meet it. */
  note(text: string): void {
    if (this.known.has(text)) return;
    this.known.add(text);
    this.errors.push(text);
  }

  result(): RemoteResult {
    return {
      endpoint: this.label,
      actions: this.done,
      passes: this.passes,
      inconsistent: this.inconsistent,
      errors: this.errors,
      blocks: this.blocks,
      summary: summarize(this.done),
    };
  }
}
