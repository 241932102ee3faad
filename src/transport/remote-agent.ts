import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError } from '../endpoint/errors.js';
import { RemoteEndpoint, type RemoteOpenOptions } from '../endpoint/remote-endpoint.js';
import { AgentClient } from '../protocol/client.js';
import { agentFile } from './agent-file.js';
import type { HostCommand, HostShell } from './host-shell.js';

const NO_NODE = 126;
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
 * The commands run on the host hold no user input but --remote-node, quoted: the agent's content
 * id is hex, and paths travel inside the protocol. `sh -c` gives the same syntax whatever the
 * login shell.
 */
function startCommand(id: string, node: string | undefined): string {
  const file = `"$HOME/.cache/replisync/agent-${id}.cjs"`;
  const found = node ? `[ -x ${shellWord(node)} ]` : 'command -v node >/dev/null 2>&1';
  // A node too old for the agent says its version, rather than fail to parse the agent.
  const guard = `if(+process.versions.node.split(".")[0]<${MIN_NODE_MAJOR}){process.stderr.write(process.version);process.exit(${OLD_NODE})}require(process.argv[1])`;
  const run = `exec ${node ? shellWord(node) : 'node'} -e ${shellWord(guard)} ${file}`;
  return `sh -c ${shellWord(`${found} || exit ${NO_NODE}; [ -f ${file} ] || exit ${NO_AGENT}; ${run}`)}`;
}

function uploadCommand(id: string): string {
  const dir = '"$HOME/.cache/replisync"';
  return `sh -c 'umask 077 && mkdir -p ${dir} && t=${dir}/.agent-${id}.$$.tmp && cat > "$t" && mv -f "$t" ${dir}/agent-${id}.cjs'`;
}

/** Keeps the end of what a command says on stderr, for the error when it fails. */
function stderrTail(cmd: HostCommand): () => string {
  let said = '';
  cmd.stderr.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
  return () => said.trim();
}

/** Writes the agent file under ~/.cache/replisync on the host, atomically (temp name, then rename). */
async function upload(shell: HostShell, where: string): Promise<void> {
  const { id, content } = agentFile();
  const cmd = await shell.run(uploadCommand(id));
  const said = stderrTail(cmd);
  cmd.stdout.resume();
  cmd.stdin.end(content());
  const code = await cmd.exit;
  if (code !== 0) throw new EndpointError(`cannot install the agent under ~/.cache/replisync: ${said() || `exit ${code}`}`, where);
}

type Started = { agent: AgentClient; cmd: HostCommand } | { code: number; said: string };

async function tryStart(shell: HostShell, label: string, node: string | undefined): Promise<Started> {
  const cmd = await shell.run(startCommand(agentFile().id, node));
  const said = stderrTail(cmd);
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

/**
 * Starts the agent on a host; when it is missing (or of another version, which has another name),
 * uploads it and starts it again. A host without node is a clear error.
 */
export async function openHostAgent(
  shell: HostShell,
  label: string,
  options: RemoteOpenOptions,
  how: { node?: string; verbose?: (m: string) => void } = {},
): Promise<Endpoint> {
  let started = await tryStart(shell, label, how.node);
  if ('code' in started && started.code === NO_AGENT) {
    how.verbose?.(`${label}: installing the agent (${agentFile().id})`);
    await upload(shell, label);
    started = await tryStart(shell, label, how.node);
  }
  if ('code' in started) {
    const { code, said } = started;
    if (how.node && code === NO_NODE) throw new EndpointError(`--remote-node ${how.node}: no executable file there on the host`, label);
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
