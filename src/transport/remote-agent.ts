import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError } from '../endpoint/errors.js';
import { RemoteEndpoint, type RemoteOpenOptions } from '../endpoint/remote-endpoint.js';
import { AgentClient } from '../protocol/client.js';
import { agentFile } from './agent-file.js';
import type { HostCommand, HostShell } from './host-shell.js';

const NO_NODE = 126;
/** The agent's code did not arrive whole (the connection closed before). */
const NO_AGENT = 125;
/** The host's node is older than the agent needs (it would not even parse it). */
const OLD_NODE = 124;
/** What a shell says when even `sh` or `node` cannot be found. */
const COMMAND_NOT_FOUND = 127;
const MIN_NODE_MAJOR = 18;
const HELLO_TIMEOUT_MS = 30_000;

/** A word for sh, single-quoted so that nothing in it is expanded; a leading ~/ is the host's $HOME. */
function shellWord(s: string): string {
  const quoted = (t: string): string => `'${t.replace(/'/g, `'\\''`)}'`;
  return s.startsWith('~/') ? `"$HOME"/${quoted(s.slice(2))}` : quoted(s);
}

/**
 * What node runs on the host: it reads the agent's gzipped code (`size` bytes) from stdin, exactly
 * that much so that the protocol that follows is untouched, and runs it as a CommonJS module.
 * So nothing is written on the host, and the agent always matches this replisync.
 */
function bootstrap(size: number): string {
  return [
    'if(+process.versions.node.split(".")[0]<' + MIN_NODE_MAJOR + '){process.stderr.write(process.version);process.exit(' + OLD_NODE + ')}',
    'const fs=require("fs"),M=require("module"),b=Buffer.alloc(' + size + ');',
    'for(let o=0;o<b.length;){let r=-1;',
    'try{r=fs.readSync(0,b,o,b.length-o,null)}catch(e){if(e.code!=="EAGAIN")throw e;Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,5)}',
    'if(r===0)process.exit(' + NO_AGENT + ');if(r>0)o+=r}',
    'const m=new M("replisync-agent");m.filename="/replisync-agent.cjs";',
    'm._compile(require("zlib").gunzipSync(b).toString(),m.filename)',
  ].join('');
}

/**
 * The command run on the host holds no user input but --remote-node, quoted: paths travel inside
 * the protocol. `sh -c` gives the same syntax whatever the login shell; the agent's arguments
 * (the home it runs in) only tell agents apart in a process list.
 */
function startCommand(size: number, node: string | undefined): string {
  const found = node ? `[ -x ${shellWord(node)} ]` : 'command -v node >/dev/null 2>&1';
  const run = `exec ${node ? shellWord(node) : 'node'} -e ${shellWord(bootstrap(size))} replisync-agent "$HOME"`;
  return `sh -c ${shellWord(`${found} || exit ${NO_NODE}; ${run}`)}`;
}

/** Keeps the end of what a command says on stderr, for the error when it fails. */
function stderrTail(cmd: HostCommand): () => string {
  let said = '';
  cmd.stderr.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
  return () => said.trim();
}

type Started = { agent: AgentClient; cmd: HostCommand } | { code: number; said: string };

async function tryStart(shell: HostShell, label: string, node: string | undefined): Promise<Started> {
  const code = agentFile().gzipped();
  const cmd = await shell.run(startCommand(code.length, node));
  const said = stderrTail(cmd);
  cmd.stdin.write(code);
  const agent = new AgentClient(cmd.stdout, cmd.stdin, label, cmd.stderr);
  const exitCode = cmd.exit.then((c) => c ?? -1);
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EndpointError(`the agent did not greet within ${HELLO_TIMEOUT_MS / 1000}s${agent.banner ? `; the host said: ${agent.banner.slice(0, 300)}` : ''}`, label)), HELLO_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([agent.hello.then(() => 'ready' as const).catch(async () => exitCode), exitCode, tooLong]);
    if (outcome === 'ready') return { agent, cmd };
    return { code: outcome, said: said() };
  } catch (err) {
    cmd.kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the agent on a host, sending its code along. A host without node is a clear error. */
export async function openHostAgent(
  shell: HostShell,
  label: string,
  options: RemoteOpenOptions,
  how: { node?: string; verbose?: (m: string) => void } = {},
): Promise<Endpoint> {
  how.verbose?.(`${label}: starting the agent (${agentFile().id})`);
  const started = await tryStart(shell, label, how.node);
  if ('code' in started) {
    const { code, said } = started;
    if (how.node && code === NO_NODE) throw new EndpointError(`--remote-node ${how.node}: no executable file there on the host`, label);
    if (code === NO_AGENT) throw new EndpointError('the connection closed before the agent had its code', label);
    if (code === OLD_NODE) throw new EndpointError(`the host runs node ${said}; replisync needs ${MIN_NODE_MAJOR} or later`, label);
    if (code === NO_NODE || code === COMMAND_NOT_FOUND) {
      throw new EndpointError(`node is not on the PATH of the host: install Node.js ${MIN_NODE_MAJOR} or later there, or name it with --remote-node (exit ${code})`, label);
    }
    // Through --rsh, ssh's own failures (exit 255: connection, login, host key) are told here.
    throw new EndpointError(`the agent did not start (exit ${code})${said ? `: ${said.split('\n').slice(-3).join(' / ')}` : ''}`, label);
  }
  const { agent, cmd } = started;
  const hello = await agent.hello;
  const major = Number(/^v(\d+)/.exec(hello.node)?.[1] ?? 0);
  if (major < MIN_NODE_MAJOR) {
    cmd.kill();
    throw new EndpointError(`the host runs node ${hello.node}; replisync needs ${MIN_NODE_MAJOR} or later`, label);
  }
  return RemoteEndpoint.open(agent, label, options, async () => {
    cmd.stdin.end();
    await Promise.race([cmd.exit, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
  });
}
