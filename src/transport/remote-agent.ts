import type { Client as SshClient, ClientChannel } from 'ssh2';
import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError } from '../endpoint/errors.js';
import { RemoteEndpoint, type RemoteOpenOptions } from '../endpoint/remote-endpoint.js';
import { AgentClient } from '../protocol/client.js';
import { agentFile } from './agent-file.js';

const NO_NODE = 126;
const NO_AGENT = 125;
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
  return `sh -c ${shellWord(`${found} || exit ${NO_NODE}; [ -f ${file} ] || exit ${NO_AGENT}; exec ${node ? shellWord(node) : 'node'} ${file}`)}`;
}

function uploadCommand(id: string): string {
  const dir = '"$HOME/.cache/replisync"';
  return `sh -c 'umask 077 && mkdir -p ${dir} && t=${dir}/.agent-${id}.$$.tmp && cat > "$t" && mv -f "$t" ${dir}/agent-${id}.cjs'`;
}

interface Exec {
  channel: ClientChannel;
  /** The command's exit code (null when the channel closed without one). */
  exit: Promise<number | null>;
}

/** Runs a command; the exit listener is attached at once, since a quick command's exit can arrive with the channel. */
function exec(client: SshClient, command: string): Promise<Exec> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      const exit = new Promise<number | null>((done) => {
        channel.once('exit', (code: number | null) => done(typeof code === 'number' ? code : null));
        channel.once('close', () => done(null));
      });
      resolve({ channel, exit });
    });
  });
}

/** Writes the agent file under ~/.cache/replisync on the host, atomically (temp name, then rename). */
async function upload(client: SshClient, where: string): Promise<void> {
  const { id, content } = agentFile();
  const { channel, exit } = await exec(client, uploadCommand(id));
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  channel.resume();
  channel.end(content());
  const code = await exit;
  if (code !== 0) throw new EndpointError(`cannot install the agent under ~/.cache/replisync: ${stderr.trim() || `exit ${code}`}`, where);
}

async function tryStart(client: SshClient, label: string, node: string | undefined): Promise<{ agent: AgentClient; channel: ClientChannel } | number> {
  const { channel, exit } = await exec(client, startCommand(agentFile().id, node));
  const agent = new AgentClient(channel, channel, label, channel.stderr);
  const exitCode = exit.then((c) => c ?? -1);
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EndpointError(`the agent did not greet within ${HELLO_TIMEOUT_MS / 1000}s${agent.banner ? `; the host said: ${agent.banner.slice(0, 300)}` : ''}`, label)), HELLO_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([agent.hello.then(() => 'ready' as const).catch(async () => exitCode), exitCode, tooLong]);
    if (outcome === 'ready') return { agent, channel };
    return outcome;
  } catch (err) {
    channel.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the agent on a host over an exec channel; when it is missing (or of another version, which
 * has another name), uploads it and starts it again. A host without node is a clear error.
 */
export async function openSshAgent(
  client: SshClient,
  label: string,
  options: RemoteOpenOptions,
  how: { node?: string; verbose?: (m: string) => void } = {},
): Promise<Endpoint> {
  let started = await tryStart(client, label, how.node);
  if (started === NO_AGENT) {
    how.verbose?.(`${label}: installing the agent (${agentFile().id})`);
    await upload(client, label);
    started = await tryStart(client, label, how.node);
  }
  if (how.node && started === NO_NODE) throw new EndpointError(`--remote-node ${how.node}: no executable file there on the host`, label);
  if (started === NO_NODE || started === COMMAND_NOT_FOUND) {
    throw new EndpointError(`node is not on the PATH of the host: install Node.js ${MIN_NODE_MAJOR} or later there, or name it with --remote-node (exit ${started})`, label);
  }
  if (typeof started === 'number') throw new EndpointError(`the agent did not start (exit ${started})`, label);
  const { agent, channel } = started;
  const hello = await agent.hello;
  const major = Number(/^v(\d+)/.exec(hello.node)?.[1] ?? 0);
  if (major < MIN_NODE_MAJOR) {
    channel.close();
    throw new EndpointError(`the host runs node ${hello.node}; replisync needs ${MIN_NODE_MAJOR} or later`, label);
  }
  return RemoteEndpoint.open(agent, label, options, async () => {
    channel.end();
    await new Promise<void>((resolve) => {
      channel.once('close', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
  });
}
