import type { Readable, Writable } from 'node:stream';
import type { ClassSpec } from '../engine/classification.js';
import type { Endpoint, FileWriter, HookEnv, LockOwner, StagedAttrs } from '../endpoint/endpoint.js';
import { type DeltaOp, decodeDeltaFrame, validBlockSize } from './delta-frames.js';
import { EndpointError, PathError, errnoCode, reasonOf } from '../endpoint/errors.js';
import { Backlog } from './backlog.js';
import { FrameWriter } from './frame-writer.js';
import { type Frame, FrameDecoder, FrameType, MAGIC, MAX_DATA, ProtocolError, decodeJson, encodeFrame, encodeJson, joinAdjacent } from './frames.js';
import { packChecksums, packEntry, packOutcomes, packReads, packStepResults, unpackRootAttrs, unpackSteps } from './wire-codec.js';
import { type HelloMessage, type RequestMessage, type WireError, param, validateRequest } from './messages.js';

export type EndpointFactory = (params: Record<string, unknown>) => Endpoint & { canChown?: boolean };

function toWire(err: unknown): WireError {
  if (err instanceof PathError) return { kind: 'path', message: err.message, path: err.path, code: err.code };
  if (err instanceof EndpointError) return { kind: 'endpoint', message: err.message, path: err.path, code: err.code };
  if (err instanceof ProtocolError) return { kind: 'endpoint', message: `protocol error: ${err.message}` };
  // A system call's failure that no endpoint method put in words: its reason, not a stack trace.
  const code = errnoCode(err);
  if (code) return { kind: 'endpoint', message: reasonOf(err), code };
  return { kind: 'internal', message: (err as Error)?.stack ?? String(err) };
}

/**
 * The agent's side: greets, then serves one endpoint's requests in the order they arrive (file
 * system work on a host is sequential anyway, and order keeps uploads simple). Input is read a
 * little ahead of the requests served, so that a `close` is heard at once: a run that stops must
 * not wait for a hook or for another run's lock first.
 */
export class AgentServer {
  private endpoint: Endpoint | undefined;
  private readonly uploads = new Map<number, UploadSink | Error>();
  private closing: Promise<void> = Promise.resolve();
  private readonly fail = (m: string) => new ProtocolError(m);
  private readonly writer: FrameWriter;
  /** Long responses go deflated: asked for by `open` (across a network). */
  private deflate = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly hello: HelloMessage,
    private readonly open: EndpointFactory,
  ) {
    this.writer = new FrameWriter(output);
  }

  private send(frame: Buffer): Promise<void> {
    return this.writer.write(frame);
  }

  private respond(id: number, body: { result?: unknown; error?: WireError }): Promise<void> {
    return this.send(encodeJson(FrameType.Response, id, body.error ? { error: body.error } : { result: body.result ?? null }, this.deflate));
  }

  async run(): Promise<void> {
    this.output.write(MAGIC);
    await this.send(encodeJson(FrameType.Hello, 0, this.hello));
    const decoder = new FrameDecoder(false);
    const backlog = new Backlog();
    const serving = this.serve(backlog).catch((err: unknown) => {
      // A protocol violation ends the agent: reading stops too.
      this.input.destroy(err as Error);
      throw err;
    });
    try {
      for await (const chunk of this.input) {
        for (const frame of decoder.push(chunk as Buffer)) {
          const request = frame.type === FrameType.Request ? validateRequest(decodeJson(frame), this.fail) : undefined;
          // A close behind work under way (a stop) is done at once; otherwise in its turn, as any request.
          if (request?.method === 'close' && backlog.busy) void this.closeNow(frame.id);
          else backlog.push({ frame, request });
        }
        await backlog.room();
      }
    } finally {
      backlog.end();
      await serving.finally(() => this.closeEndpoint());
    }
  }

  /** Serves the frames read, one after the other. */
  private async serve(backlog: Backlog): Promise<void> {
    for (let item = await backlog.next(); item; item = await backlog.next()) {
      if (item.request?.method === 'close') await this.closeNow(item.frame.id);
      else await this.handle(item.frame, item.request);
    }
  }

  /** Closes the endpoint while the request being served goes on (it then fails, or ends as it was). */
  private async closeNow(id: number): Promise<void> {
    try {
      await this.closeEndpoint();
      await this.respond(id, { result: null });
    } catch {
      // Nobody reads any more: the close happened all the same.
    }
  }

  /**
   * Closes the endpoint (staged files removed, lock released), also while a request is under way
   * (for a signal). Every caller, the end of input included, waits for the same close: the agent
   * must not exit with it half done.
   */
  closeEndpoint(): Promise<void> {
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    if (endpoint) this.closing = Promise.all([this.closing, endpoint.close().catch(() => undefined)]).then(() => undefined);
    return this.closing;
  }

  private async handle(f: Frame, request: RequestMessage | undefined): Promise<void> {
    switch (f.type) {
      case FrameType.Request: {
        const req = request!;
        try {
          const result = await this.call(f.id, req);
          if (result !== NO_RESPONSE_YET) await this.respond(f.id, { result });
        } catch (err) {
          if (req.method === 'put' || req.method === 'stageFiles') this.uploads.set(f.id, err as Error);
          await this.respond(f.id, { error: toWire(err) });
        }
        return;
      }
      case FrameType.Data: {
        const w = this.uploads.get(f.id);
        if (w === undefined) throw new ProtocolError(`data for request ${f.id}, which is not an upload`);
        if (w instanceof Error) return; // already answered with the error
        try {
          // The decoder never writes into what it handed out: the payload is used in place, not copied.
          await w.write(f.payload);
        } catch (err) {
          this.uploads.set(f.id, err as Error);
          await w.abort().catch(() => undefined);
          await this.respond(f.id, { error: toWire(err) });
        }
        return;
      }
      case FrameType.End:
      case FrameType.Abort: {
        const w = this.uploads.get(f.id);
        this.uploads.delete(f.id);
        if (w === undefined) throw new ProtocolError(`end of request ${f.id}, which is not an upload`);
        if (w instanceof Error) return;
        try {
          if (f.type === FrameType.Abort) {
            await w.abort();
            await this.respond(f.id, { result: null });
          } else await this.respond(f.id, { result: await w.finish() });
        } catch (err) {
          await this.respond(f.id, { error: toWire(err) });
        }
        return;
      }
      default:
        throw new ProtocolError(`unexpected frame type ${f.type}`);
    }
  }

  private ep(): Endpoint {
    if (!this.endpoint) throw new ProtocolError('no endpoint opened yet');
    return this.endpoint;
  }

  private async call(id: number, { method, params }: RequestMessage): Promise<unknown> {
    const p = <T extends 'string' | 'number' | 'boolean' | 'object' | 'array'>(name: string, type: T) => param(params, name, type, this.fail);
    switch (method) {
      case 'open':
        this.deflate = params.deflate !== undefined && p('deflate', 'boolean');
        this.endpoint = this.open(params);
        return { canChown: (this.endpoint as { canChown?: boolean }).canChown ?? false, location: this.endpoint.location ?? null };
      case 'list': {
        const listing = await this.ep().list(p('classes', 'array') as ClassSpec[]);
        return { ...listing, entries: listing.entries.map(packEntry) };
      }
      case 'stat':
        return (await this.ep().stat(p('paths', 'array') as string[])).map(packEntry);
      case 'checksums': {
        const paths = p('paths', 'array') as string[];
        return packChecksums(paths, await this.ep().checksums(paths));
      }
      case 'read': {
        const reader = await this.ep().openRead(p('path', 'string'));
        for await (const chunk of reader.chunks()) await this.send(encodeFrame(FrameType.Data, id, chunk));
        await this.send(encodeFrame(FrameType.End, id));
        return reader.result();
      }
      case 'readFiles': {
        const outcomes = await this.ep().readFiles(this.sizedFiles(p('files', 'array'), 'readFiles'));
        // All contents as one byte stream, cut in frames; the outcomes say where each file ends.
        // Contents read side by side in one buffer go as the views they are, not joined by a copy.
        for (const part of joinAdjacent(outcomes.flatMap((o) => (o.ok ? [o.content] : [])))) {
          for (let at = 0; at < part.length; at += READ_FRAME) await this.send(encodeFrame(FrameType.Data, id, part.subarray(at, at + READ_FRAME)));
        }
        await this.send(encodeFrame(FrameType.End, id));
        return packReads(outcomes);
      }
      case 'blockSignatures':
        return (await this.ep().blockSignatures(p('path', 'string'), this.blockSize(method, params, 'blockSize')!)).toString('base64');
      case 'put': {
        const blockSize = this.blockSize(method, params, 'basisBlockSize');
        const writer = await this.ep().openWrite(p('path', 'string'), p('size', 'number'), blockSize === undefined ? undefined : { blockSize });
        this.uploads.set(id, blockSize === undefined ? writer : this.deltaSink(writer));
        return NO_RESPONSE_YET;
      }
      case 'stageFiles':
        this.uploads.set(id, this.collectFiles(p('files', 'array')));
        return NO_RESPONSE_YET;
      case 'flush':
        return this.ep().flush();
      case 'commit':
        return packStepResults(await this.ep().commit(unpackSteps(p('steps', 'array')), { flush: params.flush === true }));
      case 'lock':
        return this.ep().lock(p('owner', 'object') as unknown as LockOwner, p('timeoutMs', 'number'));
      case 'unlock':
        return this.ep().unlock(params.root === undefined ? undefined : unpackRootAttrs(params.root, true));
      case 'removeLeftovers':
        return this.ep().removeLeftovers(p('paths', 'array') as string[]);
      case 'runHook':
        return this.ep().runHook(p('command', 'string'), this.hookEnv(p('env', 'object')));
    }
  }

  /** A hook's environment: names of ours, string values. */
  private hookEnv(env: Record<string, unknown>): HookEnv {
    for (const [name, value] of Object.entries(env)) {
      if (!/^REPLISYNC_[A-Z_]+$/.test(name) || typeof value !== 'string') throw this.fail(`runHook env: ${name} is not a REPLISYNC_ variable with a string value`);
    }
    return env as HookEnv;
  }

  /** A block size of a delta transfer, checked; `basisBlockSize` of a put may be left out (a plain upload). */
  private blockSize(method: string, params: Record<string, unknown>, name: 'blockSize' | 'basisBlockSize'): number | undefined {
    const v = params[name];
    if (v === undefined && name === 'basisBlockSize') return undefined;
    if (!validBlockSize(v)) throw this.fail(`${method} wants a ${name} that is a power of two from 4 KiB to 16 MiB`);
    return v;
  }

  /** Where the frames of an upload built on a basis go: each is content or a copy of basis blocks. */
  private deltaSink(writer: FileWriter): UploadSink {
    return {
      write: async (frame) => {
        let op: DeltaOp;
        try {
          op = decodeDeltaFrame(frame);
        } catch (err) {
          throw this.fail((err as Error).message);
        }
        if ('literal' in op) await writer.write(op.literal);
        else await writer.copyBasis!(op.first, op.count);
      },
      finish: () => writer.finish(),
      abort: () => writer.abort(),
    };
  }

  /** Files of [path, size] whose sizes add up to at most MAX_DATA (what one request may move whole). */
  private sizedFiles(list: unknown[], method: string): { path: string; size: number }[] {
    const files = list.map((v) => {
      const [path, size] = Array.isArray(v) ? (v as unknown[]) : [];
      if (typeof path !== 'string' || typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
        throw this.fail(`${method} wants files of [path, size]`);
      }
      return { path, size };
    });
    const total = files.reduce((n, f) => n + f.size, 0);
    if (total > MAX_DATA) throw this.fail(`${method} of ${total} bytes exceeds the limit of ${MAX_DATA}`);
    return files;
  }

  /** The attributes a file of stageFiles is to get as it is written: [path, size, mode | null, mtimeMs | null]. */
  private stagedAttrs(file: unknown): StagedAttrs {
    const [, , mode, mtimeMs] = file as unknown[];
    const modeOk = mode == null || (typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777);
    if (!modeOk || !(mtimeMs == null || (typeof mtimeMs === 'number' && Number.isFinite(mtimeMs)))) {
      throw this.fail('stageFiles wants files of [path, size, mode | null, mtimeMs | null]');
    }
    return { mode: mode ?? undefined, mtimeMs: mtimeMs ?? undefined };
  }

  /** Gathers the contents of a stageFiles request (announced sizes, checked) and stages them at its end. */
  private collectFiles(list: unknown[]): UploadSink {
    const files = this.sizedFiles(list, 'stageFiles');
    const attrs = list.map((file) => this.stagedAttrs(file));
    const total = files.reduce((n, f) => n + f.size, 0);
    const endpoint = this.ep();
    const parts: Buffer[] = [];
    let got = 0;
    return {
      write: async (chunk) => {
        got += chunk.length;
        if (got > total) throw this.fail(`stageFiles sent more than the ${total} bytes announced`);
        parts.push(chunk);
      },
      finish: async () => {
        if (got !== total) throw this.fail(`stageFiles sent ${got} of the ${total} bytes announced`);
        // Mostly one data frame carries all of it (see RemoteEndpoint.stageFiles): no copy then.
        const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
        let at = 0;
        return packOutcomes(await endpoint.stageFiles(files.map((f, i) => ({ path: f.path, content: all.subarray(at, (at += f.size)), attrs: attrs[i] }))));
      },
      abort: async () => undefined,
    };
  }
}

/** Where the data frames of an upload go: a staged file, or the files of a stageFiles request. */
interface UploadSink {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<unknown>;
  abort(): Promise<void>;
}

const NO_RESPONSE_YET = Symbol('answered when the upload ends');
/** Contents of readFiles go out in frames of at most this size. */
const READ_FRAME = 256 * 1024;
