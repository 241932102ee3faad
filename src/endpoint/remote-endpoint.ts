import type { ClassSpec } from '../engine/classification.js';
import type { Entry, Listing, RootAttrs } from '../engine/entry.js';
import type { AgentClient } from '../protocol/client.js';
import { RateLimit } from '../protocol/rate-limit.js';
import { copyFrame, literalFrame } from '../protocol/delta-frames.js';
import { EndpointError } from './errors.js';
import { type Location, locationFrom } from './location.js';
import { packStep, unpackChecksums, unpackEntries, unpackOutcomes, unpackReads, unpackRootAttrs, unpackStepResults } from '../protocol/wire-codec.js';
import { SIGNATURE_BYTES } from './block-signature.js';
import type { CommitStep, Endpoint, FileReader, FileWriter, HookEnv, HookResult, LockOwner, ReadOutcome, ReadStat, StageOutcome, StagedFile, StepResult, WholeFile } from './endpoint.js';

/** Options the agent opens its local endpoint with. */
export interface RemoteOpenOptions {
  root: string;
  cache: boolean;
  saveCache: boolean;
  /** --bwlimit: bytes a second of file contents sent to this endpoint (kept here, not sent to the agent). */
  bwlimit?: number;
  /** Whether changed files are sent as their changed blocks (kept here): see Endpoint.deltaTransfer. */
  deltaTransfer?: boolean;
  /** Whether long messages (listings, checksum requests, commit steps) travel deflated, both ways: across a network. */
  deflate?: boolean;
}

/**
 * An endpoint served by an agent (over SSH, or a local child process): every call becomes a
 * request; file contents travel as streamed frames.
 */
export class RemoteEndpoint implements Endpoint {
  private constructor(
    private readonly client: AgentClient,
    readonly label: string,
    private readonly onClose: () => Promise<void>,
    readonly location: Location | undefined,
    readonly deltaTransfer: boolean,
  ) {}

  static async open(client: AgentClient, label: string, options: RemoteOpenOptions, onClose: () => Promise<void>): Promise<RemoteEndpoint> {
    await client.hello;
    const { bwlimit, deltaTransfer, ...params } = options;
    if (bwlimit !== undefined) client.limitUploads(new RateLimit(bwlimit));
    if (options.deflate === true) client.deflateRequests();
    const opened = (await client.request('open', params)) as { location?: unknown } | null;
    return new RemoteEndpoint(client, label, onClose, locationFrom(opened?.location), deltaTransfer === true);
  }

  async list(classes: ClassSpec[]): Promise<Listing> {
    const listing = (await this.client.request('list', { classes })) as Listing;
    const badNames: unknown = listing.badNames;
    if (badNames !== undefined && !(Array.isArray(badNames) && badNames.every((p) => typeof p === 'string'))) {
      throw new EndpointError('protocol error: badNames is not a list of paths', this.label);
    }
    const step: unknown = listing.mtimeStepMs;
    if (step !== undefined && !(Number.isSafeInteger(step) && (step as number) >= 1)) {
      throw new EndpointError('protocol error: mtimeStepMs is not a whole number of milliseconds', this.label);
    }
    if (listing.staleLock !== undefined && typeof listing.staleLock !== 'boolean') throw new EndpointError('protocol error: staleLock is not a boolean', this.label);
    const root = listing.root === undefined ? undefined : (this.decoded(() => unpackRootAttrs(listing.root, false)) as RootAttrs);
    return { ...listing, root, entries: this.decoded(() => unpackEntries(listing.entries)) };
  }

  async stat(paths: string[]): Promise<Entry[]> {
    const packed = await this.client.request('stat', { paths });
    return this.decoded(() => unpackEntries(packed));
  }

  /** Decodes what the agent sent; a malformed message fails this endpoint, named. */
  private decoded<T>(decode: () => T): T {
    try {
      return decode();
    } catch (err) {
      throw new EndpointError(`protocol error: ${(err as Error).message}`, this.label);
    }
  }

  async checksums(paths: string[]): Promise<Map<string, number>> {
    const packed = await this.client.request('checksums', { paths });
    return this.decoded(() => unpackChecksums(packed, paths));
  }

  async readFiles(files: { path: string; size: number }[]): Promise<ReadOutcome[]> {
    const d = this.client.download('readFiles', { files: files.map((f) => [f.path, f.size]) });
    const parts: Buffer[] = [];
    for await (const chunk of d.chunks()) parts.push(chunk);
    const packed = await d.result;
    return this.decoded(() => unpackReads(packed, files.length, Buffer.concat(parts)));
  }

  async openRead(path: string): Promise<FileReader> {
    const d = this.client.download('read', { path });
    await d.started; // an unreadable file fails here, as it does for a local endpoint
    return {
      chunks: () => d.chunks(),
      result: () => d.result as Promise<ReadStat>,
      cancel: async () => d.cancel(),
    };
  }

  async blockSignatures(path: string, blockSize: number): Promise<Buffer> {
    const encoded = await this.client.request('blockSignatures', { path, blockSize });
    return this.decoded(() => {
      const signatures = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : undefined;
      if (!signatures || signatures.length % SIGNATURE_BYTES !== 0) throw new Error('blockSignatures did not give whole signatures');
      return signatures;
    });
  }

  async openWrite(path: string, size: number, basis?: { blockSize: number }): Promise<FileWriter> {
    const u = this.client.upload('put', basis ? { path, size, basisBlockSize: basis.blockSize } : { path, size });
    return {
      write: (chunk) => u.write(basis ? literalFrame(chunk) : chunk),
      copyBasis: basis ? (first, count) => u.write(copyFrame(first, count)) : undefined,
      finish: () => u.end() as Promise<StagedFile>,
      abort: () => u.abort(),
    };
  }

  async stageFiles(files: WholeFile[]): Promise<StageOutcome[]> {
    const u = this.client.upload('stageFiles', { files: files.map((f) => [f.path, f.content.length, f.attrs?.mode ?? null, f.attrs?.mtimeMs ?? null]) });
    // All contents in one data frame: the request, its data and its end leave in one write.
    await u.write(files.map((f) => f.content));
    const outcomes = await u.end();
    return this.decoded(() => unpackOutcomes(outcomes, files.length));
  }

  async flush(): Promise<void> {
    await this.client.request('flush');
  }

  async commit(steps: CommitStep[], options: { flush?: boolean } = {}): Promise<StepResult[]> {
    const results = await this.client.request('commit', { steps: steps.map(packStep), flush: options.flush === true });
    return this.decoded(() => unpackStepResults(results, steps));
  }

  async lock(owner: LockOwner, timeoutMs: number): Promise<void> {
    await this.client.request('lock', { owner: { ...owner }, timeoutMs });
  }

  async unlock(root?: Partial<RootAttrs>): Promise<void> {
    await this.client.request('unlock', root ? { root: { ...root } } : {});
  }

  async removeLeftovers(paths: string[]): Promise<void> {
    await this.client.request('removeLeftovers', { paths });
  }

  runHook(command: string, env: HookEnv): Promise<HookResult> {
    return this.client.request('runHook', { command, env }) as Promise<HookResult>;
  }

  async close(): Promise<void> {
    await this.client.request('close').catch(() => undefined);
    await this.onClose();
  }
}
