import type { Endpoint } from '../endpoint/endpoint.js';
import { EndpointError, describe } from '../endpoint/errors.js';
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
 * Where the agent's code comes from: the file uploaded under ~/.cache/replisync, or, on a host
 * where that cannot be written (a read-only home), the code itself sent ahead of the protocol.
 */
type AgentSource = 'cached' | 'inline';

/** A node too old for the agent says its version, rather than fail to parse the agent. */
const VERSION_GUARD = `if(+process.versions.node.split(".")[0]<${MIN_NODE_MAJOR}){process.stderr.write(process.version);process.exit(${OLD_NODE})}`;

/**
 * Reads the agent's gzipped code (`size` bytes) from stdin, exactly that much so that the
 * protocol that follows is untouched, and runs it as a CommonJS module.
 */
function inlineLoader(size: number): string {
  return [
    'const fs=require("fs"),M=require("module"),b=Buffer.alloc(' + size + ');',
    'for(let o=0;o<b.length;){let r=-1;',
    'try{r=fs.readSync(0,b,o,b.length-o,null)}catch(e){if(e.code!=="EAGAIN")throw e;Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,5)}',
    'if(r===0)process.exit(' + NO_AGENT + ');if(r>0)o+=r}',
    'const m=new M("replisync-agent");m.filename="/replisync-agent.cjs";',
    'm._compile(require("zlib").gunzipSync(b).toString(),m.filename)',
  ].join('');
}

/**
 * The commands run on the host hold no user input but --remote-node, quoted: the agent's content
 * id is hex, and paths travel inside the protocol. `sh -c` gives the same syntax whatever the
 * login shell. An inline agent's arguments (the home it runs in) only tell it apart in a process list.
 */
function startCommand(source: AgentSource, node: string | undefined): string {
  const found = node ? `[ -x ${shellWord(node)} ]` : 'command -v node >/dev/null 2>&1';
  const nodeWord = node ? shellWord(node) : 'node';
  if (source === 'inline') {
    const run = `exec ${nodeWord} -e ${shellWord(VERSION_GUARD + inlineLoader(agentFile().gzipped().length))} replisync-agent "$HOME"`;
    return `sh -c ${shellWord(`${found} || exit ${NO_NODE}; ${run}`)}`;
  }
  const file = `"$HOME/.cache/replisync/agent-${agentFile().id}.cjs"`;
  const run = `exec ${nodeWord} -e ${shellWord(`${VERSION_GUARD}require(process.argv[1])`)} ${file}`;
  return `sh -c ${shellWord(`${found} || exit ${NO_NODE}; [ -f ${file} ] || exit ${NO_AGENT}; ${run}`)}`;
}

/**
 * Installs the agent atomically, then clears out what earlier versions left: an upload cut off a
 * day ago or more, and other versions' agents installed 60 days ago or more (a replisync that
 * still uses one installs it again). Never a reason for the install to fail.
 */
function uploadCommand(id: string): string {
  const dir = '"$HOME/.cache/replisync"';
  const stale = `find ${dir} -maxdepth 1 \\( -name ".agent-*.tmp" -mmin +1440 -o -name "agent-*.cjs" ! -name agent-${id}.cjs -mtime +60 \\) -exec rm -f {} +`;
  return `sh -c 'umask 077 && mkdir -p ${dir} && t=${dir}/.agent-${id}.$$.tmp && cat > "$t" && mv -f "$t" ${dir}/agent-${id}.cjs && { ${stale} 2>/dev/null; true; }'`;
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

async function tryStart(shell: HostShell, label: string, node: string | undefined, source: AgentSource): Promise<Started> {
  const cmd = await shell.run(startCommand(source, node));
  const said = stderrTail(cmd);
  if (source === 'inline') cmd.stdin.write(agentFile().gzipped());
  const agent = new AgentClient(cmd.stdout, cmd.stdin, label, cmd.stderr);
  const exitCode = cmd.exit.then((c) => c ?? -1);
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EndpointError(`the agent did not greet within ${HELLO_TIMEOUT_MS / 1000}s${agent.banner ? `; the host said: ${agent.banner.slice(0, 300)}` : ''}`, label)), HELLO_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([agent.hello.then(() => 'ready' as const).catch(async () => exitCode), exitCode, tooLong]);
    if (outcome === 'ready') return { agent, cmd };
    // What it printed on stdout counts too: a forced command's words come there.
    return { code: outcome, said: said() || agent.banner.trim() };
  } catch (err) {
    cmd.kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The agent's installation on one host, shared by the directories of that host a run opens: the
 * first that finds it missing uploads it, the others wait for that upload (and its outcome).
 */
export interface HostInstalls {
  install?: Promise<void>;
}

function installOnce(installs: HostInstalls | undefined, install: () => Promise<void>): Promise<void> {
  if (!installs) return install();
  return (installs.install ??= install());
}

/**
 * Starts the agent on a host; when it is missing (or of another version, which has another name),
 * uploads it and starts it again, or, where it cannot be uploaded, sends it with the start. A host
 * without node is a clear error. `readOnly` (diff, --dry-run): nothing is written on the host, so
 * a missing agent goes with the connection rather than be uploaded.
 */
export async function openHostAgent(
  shell: HostShell,
  label: string,
  options: RemoteOpenOptions,
  how: { node?: string; readOnly?: boolean; verbose?: (m: string) => void; installs?: HostInstalls } = {},
): Promise<Endpoint> {
  let source: AgentSource = 'cached';
  let started = await tryStart(shell, label, how.node, source);
  if ('code' in started && started.code === NO_AGENT) {
    if (how.readOnly) {
      how.verbose?.(`${label}: the agent goes with the connection (a dry run installs nothing)`);
      source = 'inline';
    } else {
      try {
        await installOnce(how.installs, () => {
          how.verbose?.(`${label}: installing the agent (${agentFile().id})`);
          return upload(shell, label);
        });
      } catch (err) {
        if (!(err instanceof EndpointError)) throw err;
        how.verbose?.(`${describe(err)}; the agent goes with each connection instead`);
        source = 'inline';
      }
    }
    started = await tryStart(shell, label, how.node, source);
  }
  if ('code' in started) {
    const { code, said } = started;
    if (source === 'inline' && code === NO_AGENT) throw new EndpointError('the connection closed before the agent had its code', label);
    if (how.node && code === NO_NODE) throw new EndpointError(`--remote-node ${how.node}: no executable file there on the host`, label);
    if (code === OLD_NODE) throw new EndpointError(`the host runs node ${said}; replisync needs ${MIN_NODE_MAJOR} or later`, label);
    if (code === NO_NODE || code === COMMAND_NOT_FOUND) {
      throw new EndpointError(`node is not on the PATH of the host: install Node.js ${MIN_NODE_MAJOR} or later there, or name it with --remote-node (exit ${code})`, label);
    }
    // Through --rsh, ssh's own failures (exit 255: connection, login, host key) are told here.
    // A command that ends well without a word from the agent is not ours: the host runs another in its place.
    const forced = code === 0 ? ' (the host ran another command in its place: a ForceCommand in sshd_config, or command= in authorized_keys?)' : '';
    throw new EndpointError(`the agent did not start (exit ${code})${forced}${said ? `: ${said.split('\n').slice(-3).join(' / ')}` : ''}`, label);
  }
  // An old node never greets: VERSION_GUARD stopped it before the agent was parsed.
  const { agent, cmd } = started;
  return RemoteEndpoint.open(agent, label, options, async () => {
    cmd.stdin.end();
    await Promise.race([cmd.exit, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
  });
}
