import { assertSameTree, runCli } from '../helpers/tree.js';
import { SAMPLE, sshTest, trees } from '../helpers/ssh-fixture.js';

// "narrow": an sshd with MaxSessions 2; "nosession": MaxSessions 0 (no sessions at all).
const test = sshTest(['narrow', 'nosession']);

test.serial('more directories on one host than its sshd lets a connection carry (MaxSessions) go over more connections', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  // Five agents held open at once, on a host that allows two sessions a connection, and the
  // agent not installed yet: its uploads need sessions of their own meanwhile.
  const remotes = [1, 2, 3, 4, 5].map((i) => at(`r${i}`));
  const sync = await runCli(['sync', master, ...remotes.map((r) => `narrow:${r}`), '--concurrency', '5'], { env: lab.env() });
  t.is(sync.code, 0, sync.stderr);
  for (const r of remotes) assertSameTree(t, r, master);
  // The master on that host too, and a check that finds nothing to do.
  const diff = await runCli(['diff', `narrow:${master}`, ...remotes.map((r) => `narrow:${r}`), '--format', 'json'], { env: lab.env() });
  t.is(diff.code, 0, diff.stderr);
  const report = JSON.parse(diff.stdout) as { remotes: { error: string | null; actions: unknown[] }[] };
  t.is(report.remotes.length, 5);
  for (const r of report.remotes) t.deepEqual([r.error, r.actions], [null, []]);
});

test.serial('a host whose sshd opens no sessions at all is an error that names it (exit 2), not a search for a connection that would', async (t) => {
  const { lab } = t.context;
  lab.writeClientFiles();
  const { master, at } = await trees(t, SAMPLE);
  const res = await runCli(['sync', master, `nosession:${at('r1')}`, `nosession:${at('r2')}`], { env: lab.env(), timeoutMs: 60_000 });
  t.is(res.code, 2, res.stderr);
  t.regex(res.stderr, /nosession:\S+r1: the SSH server refused to open a session \(open failed\)/);
  t.regex(res.stderr, /nosession:\S+r2: the SSH server refused to open a session \(open failed\)/);
});
