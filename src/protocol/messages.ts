import type { ProtocolError } from './frames.js';

/** Requests the agent serves: one per Endpoint method, plus `open` (which root) and the hello. */
export type Method =
  | 'open'
  | 'list'
  | 'stat'
  | 'checksums'
  | 'blockSignatures'
  | 'read'
  | 'readFiles'
  | 'put'
  | 'stageFiles'
  | 'flush'
  | 'commit'
  | 'lock'
  | 'unlock'
  | 'removeLeftovers'
  | 'runHook'
  | 'close';

export const METHODS: readonly Method[] = ['open', 'list', 'stat', 'checksums', 'blockSignatures', 'read', 'readFiles', 'put', 'stageFiles', 'flush', 'commit', 'lock', 'unlock', 'removeLeftovers', 'runHook', 'close'];

export interface RequestMessage {
  method: Method;
  params: Record<string, unknown>;
}

/** An error carried back from the agent: what kind, where, which path, which errno code. */
export interface WireError {
  kind: 'path' | 'endpoint' | 'internal';
  message: string;
  path?: string;
  code?: string;
}

export interface ResponseMessage {
  result?: unknown;
  error?: WireError;
}

export interface HelloMessage {
  version: number;
  agent: string;
  host: string;
  pid: number;
  node: string;
}

type Fail = (message: string) => ProtocolError;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateRequest(v: unknown, fail: Fail): RequestMessage {
  if (!isObject(v) || typeof v.method !== 'string' || !(METHODS as readonly string[]).includes(v.method)) {
    throw fail(`unknown request ${JSON.stringify(isObject(v) ? v.method : v)}`);
  }
  if (!isObject(v.params)) throw fail(`request ${v.method} has no params object`);
  return { method: v.method as Method, params: v.params };
}

export function validateResponse(v: unknown, fail: Fail): ResponseMessage {
  if (!isObject(v) || (!('result' in v) && !('error' in v))) throw fail('response without result or error');
  if (v.error !== undefined) {
    const e = v.error;
    if (!isObject(e) || typeof e.message !== 'string' || !['path', 'endpoint', 'internal'].includes(String(e.kind))) {
      throw fail('malformed error in response');
    }
  }
  return v as ResponseMessage;
}

export function validateHello(v: unknown, fail: Fail): HelloMessage {
  if (!isObject(v) || typeof v.version !== 'number' || typeof v.agent !== 'string' || typeof v.pid !== 'number') {
    throw fail('malformed hello from the agent');
  }
  return v as unknown as HelloMessage;
}

/** Typed parameter access for the server: a wrong type is a protocol error, not a crash. */
export function param<T extends 'string' | 'number' | 'boolean' | 'object' | 'array'>(
  params: Record<string, unknown>,
  name: string,
  type: T,
  fail: Fail,
): T extends 'string' ? string : T extends 'number' ? number : T extends 'boolean' ? boolean : T extends 'array' ? unknown[] : Record<string, unknown> {
  const v = params[name];
  const ok = type === 'array' ? Array.isArray(v) : type === 'object' ? isObject(v) : typeof v === type;
  if (!ok) throw fail(`parameter ${name} must be ${type === 'array' ? 'an array' : `a ${type}`}`);
  return v as never;
}
