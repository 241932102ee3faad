#!/usr/bin/env node
// Checked before anything is loaded: on an older node a library fails with a stack trace and
// exit 1, which to a script means "differences remain".
if (Number(process.versions.node.split('.')[0]) < 20) {
  process.stderr.write(`replisync: needs Node.js 20.19 or later on this machine (this is ${process.version}); the hosts it syncs need only node 18\n`);
  process.exit(2);
}
// A directory removed since the shell entered it (a release rotated out, say): relative paths mean
// nothing there, and the argument parser asks for it as it loads.
try {
  process.cwd();
} catch (err) {
  const what = err.code === 'ENOENT' ? 'the current directory is gone' : 'cannot tell the current directory';
  process.stderr.write(`replisync: ${what} (${err.code}): run it from a directory that exists\n`);
  process.exit(2);
}
const { main } = await import('../dist/cli/replisync.js');
process.exitCode = await main(process.argv.slice(2));
