import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The wire format between replisync and its agent. After the agent's greeting line (MAGIC), both
 * directions carry frames: a 9-byte header (payload length u32, type u8, request id u32) and the
 * payload. JSON frames carry requests and responses; DATA/END/ABORT carry file contents of the
 * request with the same id. A JSON frame whose type has the DEFLATED bit carries its JSON
 * deflated (raw deflate).
 */
export const PROTOCOL_VERSION = 2;
export const MAGIC = `REPLISYNC-AGENT ${PROTOCOL_VERSION}\n`;
const MAGIC_PREFIX = 'REPLISYNC-AGENT ';

export const enum FrameType {
  Hello = 1,
  Request = 2,
  Response = 3,
  Data = 4,
  End = 5,
  Abort = 6,
}

/** The type bit of a JSON frame whose payload is deflated. */
const DEFLATED = 0x80;
/** JSON this long or longer is deflated where the connection asks for it; shorter gains too little. */
const DEFLATE_FROM = 4096;

const HEADER = 9;
/** Large enough for the listing of a million files; a bigger length means a corrupt stream. */
export const MAX_JSON = 512 * 1024 * 1024;
export const MAX_DATA = 4 * 1024 * 1024;

export interface Frame {
  type: FrameType;
  id: number;
  payload: Buffer;
  /** A JSON frame's payload is deflated. */
  deflated: boolean;
}

export class ProtocolError extends Error {}

export function frameHeader(type: FrameType, id: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32BE(length, 0);
  header.writeUInt8(type, 4);
  header.writeUInt32BE(id >>> 0, 5);
  return header;
}

export function encodeFrame(type: FrameType, id: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const header = frameHeader(type, id, payload.length);
  return payload.length === 0 ? header : Buffer.concat([header, payload]);
}

/** Views that lie side by side in memory, joined into one view (nothing is copied). */
export function joinAdjacent(parts: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (p.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
      out[out.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + p.length);
    } else out.push(p);
  }
  return out;
}

/**
 * A JSON frame. With `deflate` (across a network), long JSON goes deflated at level 1: listings,
 * checksum requests and commit steps are sorted paths and alike fields, 5 to 7 times smaller for
 * a few ms of CPU per megabyte.
 */
export function encodeJson(type: FrameType, id: number, value: unknown, deflate = false): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (deflate && json.length >= DEFLATE_FROM) {
    const packed = deflateRawSync(json, { level: 1 });
    if (packed.length < json.length) return encodeFrame(type | DEFLATED, id, packed);
  }
  return encodeFrame(type, id, json);
}

/** `limit`: what a deflated payload may inflate to (a small frame must not become gigabytes). */
export function decodeJson(frame: Frame, limit = MAX_JSON): unknown {
  let json = frame.payload;
  if (frame.deflated) {
    try {
      json = inflateRawSync(frame.payload, { maxOutputLength: limit });
    } catch (err) {
      const why = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than ${limit} bytes` : 'is not valid deflate data';
      throw new ProtocolError(`frame ${frame.type} for request ${frame.id} ${why}`);
    }
  }
  try {
    return JSON.parse(json.toString('utf8'));
  } catch {
    throw new ProtocolError(`frame ${frame.type} for request ${frame.id} is not valid JSON`);
  }
}

/**
 * Cuts a byte stream into frames. With `expectMagic`, everything before the greeting line is
 * collected as `banner` (a login message, say) instead of being taken for frames. A payload is a
 * view of the input as received (or of a join of it), which nothing writes to again: it may be
 * kept and used in place.
 */
export class FrameDecoder {
  /** Unconsumed input, kept as received: joined only once a whole frame is there (no quadratic copying). */
  private chunks: Buffer[] = [];
  private length = 0;
  private greeted: boolean;
  banner = '';

  constructor(expectMagic: boolean) {
    this.greeted = !expectMagic;
  }

  /** What came before the greeting: the banner once it came, and until then all output so far. */
  get preamble(): string {
    return this.greeted ? this.banner : Buffer.concat(this.chunks, this.length).toString('utf8');
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const head = this.peek(n);
    const out = head.subarray(0, n);
    if (head.length === n) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.length -= n;
    return out;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (!this.greeted && !this.findMagic()) return [];
    const out: Frame[] = [];
    while (this.length >= HEADER) {
      const head = this.peek(HEADER);
      const length = head.readUInt32BE(0);
      const typeByte = head.readUInt8(4);
      const deflated = (typeByte & DEFLATED) !== 0;
      const type = (typeByte & ~DEFLATED) as FrameType;
      if (type < FrameType.Hello || type > FrameType.Abort) throw new ProtocolError(`unknown frame type ${type}`);
      if (deflated && type !== FrameType.Request && type !== FrameType.Response) throw new ProtocolError(`frame type ${type} cannot be deflated`);
      const limit = type === FrameType.Data ? MAX_DATA : MAX_JSON;
      if (length > limit) throw new ProtocolError(`frame of ${length} bytes exceeds the limit of ${limit}`);
      if (this.length < HEADER + length) break;
      const id = head.readUInt32BE(5);
      this.take(HEADER);
      const payload = length === 0 ? Buffer.alloc(0) : this.take(length);
      out.push({ type, id, payload, deflated });
    }
    return out;
  }

  private findMagic(): boolean {
    const all = this.peek(this.length);
    const text = all.toString('latin1');
    const at = text.indexOf(MAGIC);
    if (at < 0) {
      const other = text.indexOf(MAGIC_PREFIX);
      if (other >= 0 && text.indexOf('\n', other) > 0) {
        const line = text.slice(other, text.indexOf('\n', other));
        throw new ProtocolError(`the agent speaks "${line}", this replisync speaks "${MAGIC.trim()}"`);
      }
      if (this.length > 64 * 1024) throw new ProtocolError(`no agent greeting in the first 64 KiB of output: ${text.slice(0, 200)}`);
      return false;
    }
    this.banner += text.slice(0, at);
    this.take(at + MAGIC.length);
    this.greeted = true;
    return true;
  }
}
