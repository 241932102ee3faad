import { readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../package-root.js';

/** The bundled agent (built by scripts/bundle.mjs) and its content id. */
export interface AgentFile {
  path: string;
  id: string;
  content(): Buffer;
  /** The content gzipped, as it travels to a host that cannot keep it. */
  gzipped(): Buffer;
}

let cached: AgentFile | undefined;

export function agentFile(): AgentFile {
  if (cached) return cached;
  const dir = nodePath.join(packageRoot().dir, 'dist/agent');
  const path = nodePath.join(dir, 'replisync-agent.cjs');
  let id: string;
  try {
    id = (JSON.parse(readFileSync(nodePath.join(dir, 'replisync-agent.json'), 'utf8')) as { id: string }).id;
  } catch {
    throw new Error(`the agent bundle is missing (${path}): run "npm run build"`);
  }
  let gz: Buffer | undefined;
  const content = (): Buffer => readFileSync(path);
  cached = { path, id, content, gzipped: () => (gz ??= gzipSync(content(), { level: 9 })) };
  return cached;
}
