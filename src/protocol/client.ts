import type { Readable, Writable } from 'node:stream';
import { EndpointError, PathError } from '../endpoint/errors.js';
import { type Frame, FrameDecoder, FrameType, ProtocolError, decodeJson, encodeFrame, encodeJson, frameHeader, joinAdjacent } from './frames.js';
import { FrameWriter, GATHER_BELOW } from './frame-writer.js';
import { InStream } from './in-stream.js';
import type { RateLimit } from './rate-limit.js';
import { type HelloMessage, type Method, type WireError, validateHello, validateResponse } from './messages.js';

/** Downloads buffered beyond this pause the channel until the consumers catch up. */
const HIGH_WATER = 16 * 1024 * 1024;
const LOW_WATER = 4 * 1024 * 1024;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  stream?: InStream;
}

export interface Upload {
  /** Sends one data frame; its payload may come in parts (sent as they are where the stream allows). */
  write(chunk: Buffer | readonly Buffer[]): Promise<void>;
  /** Ends the upload and resolves with the agent's response. */
  end(): Promise<unknown>;
  abort(): Promise<void>;
}

export interface Download {
  /** Resolves when the content starts to arrive; rejects when the agent could not open it. */
  started: Promise<void>;
  chunks(): AsyncIterable<Buffer>;
  result: Promise<unknown>;
  cancel(): void;
}

/**
 * The replisync side of the agent protocol over any byte stream pair (an SSH channel, a child
 * process's pipes, an in-memory pipe). Requests carry ids so that many are in flight at once.
 */
export class AgentClient {
  private readonly decoder = new FrameDecoder(true);
  private readonly pending = new Map<number, Pending>();
  private readonly writer: FrameWriter;
  private nextId = 1;
  private buffered = 0;
  private paused = false;
  private dead: Error | undefined;
  readonly hello: Promise<HelloMessage>;
  private helloWaiter!: { resolve(h: HelloMessage): void; reject(e: Error): void };
  /** The agent's last words on stderr, shown when it fails. */
  private stderrTail = '';
  /** --bwlimit: what file contents sent to the agent may take. */
  private uploadLimit: RateLimit | undefined;
  /** Long requests go deflated (across a network). */
  private deflate = false;

  constructor(
    private readonly input: Readable,
    output: Writable,
    readonly label: string,
    stderr?: Readable,
  ) {
    this.writer = new FrameWriter(output);
    this.hello = new Promise((resolve, reject) => (this.helloWaiter = { resolve, reject }));
    this.hello.catch(() => undefined);
    input.on('data', (chunk: Buffer) => this.onData(chunk));
    input.on('error', (err) => this.failAll(this.lost(err.message)));
    input.on('close', () => this.failAll(this.lost('the agent closed the connection')));
    input.on('end', () => this.failAll(this.lost('the agent closed the connection')));
    output.on('error', (err) => this.failAll(this.lost(err.message)));
    stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
  }

  /** The host's output before the agent's greeting (all of it, while none came). */
  get banner(): string {
    return this.decoder.preamble;
  }

  private lost(why: string): EndpointError {
    const said = this.stderrTail.trim();
    return new EndpointError(`connection to the agent lost: ${why}${said ? `; agent said: ${said}` : ''}`, this.label);
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const banner = this.decoder.banner.trim();
      this.failAll(new EndpointError(`protocol error: ${(err as Error).message}${banner ? `; output before it: ${banner.slice(0, 500)}` : ''}`, this.label));
      this.input.destroy();
      return;
    }
    for (const f of frames) {
      try {
        this.dispatch(f);
      } catch (err) {
        this.failAll(new EndpointError(`protocol error: ${(err as Error).message}`, this.label));
        this.input.destroy();
        return;
      }
    }
  }

  private dispatch(f: Frame): void {
    const fail = (m: string) => new ProtocolError(m);
    if (f.type === FrameType.Hello) {
      this.helloWaiter.resolve(validateHello(decodeJson(f), fail));
      return;
    }
    const p = this.pending.get(f.id);
    if (!p) throw new ProtocolError(`frame ${f.type} for unknown request ${f.id}`);
    switch (f.type) {
      case FrameType.Data:
        if (!p.stream) throw new ProtocolError(`data for request ${f.id}, which is not a download`);
        this.buffered += f.payload.length;
        if (!this.paused && this.buffered > HIGH_WATER) {
          this.paused = true;
          this.input.pause();
        }
        p.stream.push(f.payload);
        return;
      case FrameType.End:
        p.stream?.end();
        return;
      case FrameType.Response: {
        const msg = validateResponse(decodeJson(f), fail);
        this.pending.delete(f.id);
        if (msg.error) {
          const err = this.toError(msg.error);
          p.stream?.fail(err);
          p.reject(err);
        } else {
          p.stream?.end();
          p.resolve(msg.result);
        }
        return;
      }
      default:
        throw new ProtocolError(`unexpected frame type ${f.type} from the agent`);
    }
  }

  private consumed(bytes: number): void {
    this.buffered -= bytes;
    if (this.paused && this.buffered < LOW_WATER) {
      this.paused = false;
      this.input.resume();
    }
  }

  private toError(e: WireError): Error {
    if (e.kind === 'path') return new PathError(e.message, this.label, e.path, e.code);
    const prefix = e.kind === 'internal' ? 'agent failed: ' : '';
    return new EndpointError(`${prefix}${e.message}`, this.label, e.path, e.code);
  }

  failAll(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    this.helloWaiter.reject(err);
    for (const p of this.pending.values()) {
      p.stream?.fail(err);
      p.reject(err);
    }
    this.pending.clear();
    this.writer.release();
  }

  /** Sends a frame (whole, or its header and payload in parts); rejects once the connection is lost. */
  private async send(frame: Buffer | Buffer[]): Promise<void> {
    if (this.dead) throw this.dead;
    await this.writer.write(frame);
    if (this.dead) throw this.dead;
  }

  private start(method: Method, params: Record<string, unknown>, stream?: InStream): { id: number; done: Promise<unknown> } {
    if (this.dead) {
      // Lost already: the request fails at once, its download too (else its reader would wait forever).
      stream?.fail(this.dead);
      const done = Promise.reject(this.dead);
      done.catch(() => undefined);
      return { id: 0, done };
    }
    const id = this.nextId++;
    const done = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject, stream }));
    done.catch(() => undefined);
    this.send(encodeJson(FrameType.Request, id, { method, params }, this.deflate)).catch((err) => this.failAll(err));
    return { id, done };
  }

  request(method: Method, params: Record<string, unknown> = {}): Promise<unknown> {
    return this.start(method, params).done;
  }

  download(method: Method, params: Record<string, unknown>): Download {
    const stream = new InStream((n) => this.consumed(n));
    const { done } = this.start(method, params, stream);
    return { started: stream.started, chunks: () => stream.chunks(), result: done, cancel: () => stream.cancel() };
  }

  /** Sends long requests deflated from now on (the agent is told to answer alike by `open`'s `deflate`). */
  deflateRequests(): void {
    this.deflate = true;
  }

  /** Holds the file contents sent to the agent to a rate (bytes a second). */
  limitUploads(limit: RateLimit): void {
    this.uploadLimit = limit;
  }

  upload(method: Method, params: Record<string, unknown>): Upload {
    const { id, done } = this.start(method, params);
    return {
      write: async (chunk) => {
        const parts = Buffer.isBuffer(chunk) ? [chunk] : joinAdjacent(chunk);
        const size = parts.reduce((n, p) => n + p.length, 0);
        if (this.uploadLimit) await this.uploadLimit.take(size);
        // A small one is gathered with others; a large one goes as header and payload, which a pipe takes without a copy.
        if (parts.length === 1 && size < GATHER_BELOW) return this.send(encodeFrame(FrameType.Data, id, parts[0]!));
        return this.send([frameHeader(FrameType.Data, id, size), ...parts]);
      },
      end: async () => {
        await this.send(encodeFrame(FrameType.End, id));
        return done;
      },
      abort: async () => {
        await this.send(encodeFrame(FrameType.Abort, id)).catch(() => undefined);
        await done.catch(() => undefined);
      },
    };
  }
}
