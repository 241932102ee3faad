// Entry point of the self-contained agent file that replisync ships to hosts (see scripts/bundle.mjs).
import { runAgent } from './agent.js';

runAgent().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`replisync agent: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(2);
  },
);
