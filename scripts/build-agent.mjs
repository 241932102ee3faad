// Bundles the agent into one self-contained CommonJS file that any Node >= 18 runs, named on the
// hosts by its content hash (so a changed agent is uploaded again, and versions never mix).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const PLACEHOLDER = '__REPLISYNC_AGENT_ID__';
const out = await build({
  entryPoints: ['src/agent/agent-main.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  write: false,
  legalComments: 'none',
  define: { REPLISYNC_AGENT_ID: JSON.stringify(PLACEHOLDER) },
});
const code = out.outputFiles[0].text;
const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
mkdirSync('dist/agent', { recursive: true });
writeFileSync('dist/agent/replisync-agent.cjs', code.replaceAll(PLACEHOLDER, id));
writeFileSync('dist/agent/replisync-agent.json', `${JSON.stringify({ id })}\n`);
