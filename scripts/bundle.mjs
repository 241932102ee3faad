// Bundles what runs outside the test suite (after tsc has checked the types):
// - the agent: one self-contained CommonJS file that any Node >= 18 runs, named on the hosts by
//   its content hash (so a changed agent is uploaded again, and versions never mix);
// - the CLI: one ES module and a few chunks loaded only when needed (SSH, progress bars). Node
//   reads and links one file instead of some 150 (ours and yargs'): a run starts ~0.15 s sooner.
//   ssh2 stays outside: it loads optional native bindings from its own folder.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const PLACEHOLDER = '__REPLISYNC_AGENT_ID__';
const agent = await build({
  entryPoints: ['src/agent/agent-main.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  write: false,
  legalComments: 'none',
  define: { REPLISYNC_AGENT_ID: JSON.stringify(PLACEHOLDER) },
});
const code = agent.outputFiles[0].text;
const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
mkdirSync('dist/agent', { recursive: true });
writeFileSync('dist/agent/replisync-agent.cjs', code.replaceAll(PLACEHOLDER, id));
writeFileSync('dist/agent/replisync-agent.json', `${JSON.stringify({ id })}\n`);

rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: { replisync: 'src/cli/main.ts' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['ssh2'],
  legalComments: 'none',
  // CommonJS dependencies (picomatch) call require() for Node's own modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
