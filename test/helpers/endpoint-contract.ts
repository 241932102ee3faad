import type { ExecutionContext } from 'ava';
import { mkdirSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync, symlinkSync } from 'node:fs';
import * as nodePath from 'node:path';
import { EMPTY_CLASS } from '../../src/engine/classification.js';
import type { Endpoint } from '../../src/endpoint/endpoint.js';
import { SIGNATURE_BYTES, blockSignature } from '../../src/endpoint/block-signature.js';
import { crc32 } from '../../src/endpoint/local/crc.js';
import { PathError } from '../../src/endpoint/errors.js';

/**
 * One contract every Endpoint implementation must meet (in-process, agent over a pipe, agent over
 * SSH): same listing, same checksums, staged writes that appear only at commit, errors that carry
 * the endpoint and the path.
 */
export type OpenEndpoint = (root: string) => Promise<Endpoint>;

const attrs = { mode: true, mtime: true, owner: false, group: false };

export async function endpointContract(t: ExecutionContext, dir: string, open: OpenEndpoint): Promise<void> {
  const root = nodePath.join(dir, 'tree');
  mkdirSync(nodePath.join(root, 'sub'), { recursive: true });
  writeFileSync(nodePath.join(root, 'sub/a.txt'), 'hello');
  writeFileSync(nodePath.join(root, 'skip.tmp'), 'x');
  symlinkSync('sub/a.txt', nodePath.join(root, 'link'));
  const ep = await open(root);
  try {
    const listing = await ep.list([{ ...EMPTY_CLASS, exclude: ['*.tmp'] }]);
    t.true(listing.exists);
    t.deepEqual(listing.entries.map((e) => `${e.type} ${e.path}${e.target ? ` -> ${e.target}` : ''}`), ['symlink link -> sub/a.txt', 'dir sub', 'file sub/a.txt']);
    t.is(listing.entries.find((e) => e.path === 'sub/a.txt')!.size, 5);

    // A look at given paths gives what the listing gives; a missing path (or one below a file) is left out.
    const looked = await ep.stat(['sub/a.txt', 'link', 'nope', 'sub/a.txt/below', 'sub']);
    t.deepEqual(looked, listing.entries.filter((e) => ['sub/a.txt', 'link', 'sub'].includes(e.path)).sort((a, b) => ['sub/a.txt', 'link', 'sub'].indexOf(a.path) - ['sub/a.txt', 'link', 'sub'].indexOf(b.path)));

    // A file written a moment ago still gets its checksum (only the cache is wary of it).
    writeFileSync(nodePath.join(root, 'sub/fresh.txt'), 'hello');
    await ep.list([EMPTY_CLASS]);
    t.deepEqual([...(await ep.checksums(['sub/fresh.txt']))], [['sub/fresh.txt', 0x3610a686]]);

    const sums = await ep.checksums(['sub/a.txt', 'nope']);
    t.deepEqual([...sums], [['sub/a.txt', 0x3610a686]]); // CRC-32 of "hello"

    const reader = await ep.openRead('sub/a.txt');
    const chunks: Buffer[] = [];
    for await (const c of reader.chunks()) chunks.push(c);
    t.is(Buffer.concat(chunks).toString(), 'hello');
    t.like(await reader.result(), { size: 5, crc: 0x3610a686, consistent: true });

    // Small files read whole, several in one call: each fails or succeeds alone; one that grew past its listed size is inconsistent.
    const whole = await ep.readFiles([
      { path: 'sub/a.txt', size: 5 },
      { path: 'missing-file', size: 3 },
      { path: 'sub/a.txt', size: 3 },
      { path: 'sub/a.txt', size: 9 },
    ]);
    t.like(whole[0], { ok: true, stat: { size: 5, crc: 0x3610a686, consistent: true } });
    t.is(whole[0]!.ok && whole[0]!.content.toString(), 'hello');
    t.like(whole[1], { ok: false, code: 'ENOENT' });
    t.like(whole[2], { ok: true, stat: { consistent: false } });
    t.like(whole[3], { ok: true, stat: { size: 5, consistent: true } }, 'a file that shrank since it was listed is read as it is now');

    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'z');
    const writer = await ep.openWrite('sub/new.bin', big.length);
    for (let off = 0; off < big.length; off += 1024 * 1024) await writer.write(big.subarray(off, off + 1024 * 1024));
    const staged = await writer.finish();
    t.is(staged.size, big.length);
    t.false(readdirSync(nodePath.join(root, 'sub')).includes('new.bin'), 'nothing at the path before commit');
    const master = { path: 'sub/new.bin', type: 'file' as const, size: big.length, mode: 0o640, uid: 0, gid: 0, mtimeMs: 1_600_000_000_123, ino: 1, nlink: 1 };
    const results = await ep.commit([{ action: { op: 'copy', path: 'sub/new.bin', reason: 'missing', master }, temp: staged.temp, attrs }]);
    t.is(results.length, 1);
    t.like(results[0], { path: 'sub/new.bin', ok: true });
    t.true(readFileSync(nodePath.join(root, 'sub/new.bin')).equals(big));
    const after = (await ep.list([EMPTY_CLASS])).entries.find((e) => e.path === 'sub/new.bin')!;
    t.like(after, { mode: 0o640, mtimeMs: 1_600_000_000_123 });
    t.deepEqual(results[0]!.entry, after, 'a copy done gives the entry of the file as it was put in place');

    // What the run committed is vouched for by the checksum cache: the next listing carries its CRC.
    t.is(after.crc, staged.crc);

    // A delta transfer: block signatures of the file there, then a new file built from its blocks and new content.
    const bs = 16 * 1024;
    const signatures = await ep.blockSignatures('sub/new.bin', bs);
    t.is(signatures.length, Math.ceil(big.length / bs) * SIGNATURE_BYTES, 'a signature a block, the last block short');
    t.true(signatures.subarray(0, SIGNATURE_BYTES).equals(blockSignature(big.subarray(0, bs))));
    t.true(signatures.subarray(-SIGNATURE_BYTES).equals(blockSignature(big.subarray(Math.floor(big.length / bs) * bs))));
    const changed = Buffer.concat([big.subarray(0, 5 * bs), Buffer.from('new content'), big.subarray(6 * bs)]);
    const built = await ep.openWrite('sub/new.bin', changed.length, { blockSize: bs });
    await built.copyBasis!(0, 5);
    await built.write(Buffer.from('new content'));
    await built.copyBasis!(6, Math.ceil(big.length / bs) - 6);
    const builtStaged = await built.finish();
    t.like(builtStaged, { size: changed.length, crc: crc32(changed, 0) });
    await ep.commit([{ action: { op: 'copy', path: 'sub/new.bin', reason: 'checksum', master: { ...master, size: changed.length }, remote: after }, temp: builtStaged.temp, attrs }]);
    t.true(readFileSync(nodePath.join(root, 'sub/new.bin')).equals(changed));
    // A basis gone since its signatures were made gives a short file, which its size tells; no error.
    const orphan = await ep.openWrite('sub/new.bin', changed.length, { blockSize: bs });
    unlinkSync(nodePath.join(root, 'sub/new.bin'));
    await orphan.copyBasis!(0, 3);
    await orphan.write(Buffer.from('tail'));
    t.like(await orphan.finish(), { size: 4 });
    await t.throwsAsync(ep.blockSignatures('sub/new.bin', bs), { instanceOf: PathError });
    writeFileSync(nodePath.join(root, 'sub/new.bin'), changed);

    // Small files staged whole, several in one call: each fails or succeeds alone.
    const outcomes = await ep.stageFiles([
      { path: 'sub/one.txt', content: Buffer.from('one') },
      { path: 'no-such-dir/two.txt', content: Buffer.from('two!') },
      { path: '../escape.txt', content: Buffer.from('x') },
      { path: 'empty', content: Buffer.alloc(0) },
    ]);
    t.like(outcomes[0], { ok: true, staged: { size: 3, crc: 0x7a6c86f1 } });
    t.like(outcomes[1], { ok: true, staged: { size: 4 } }); // waits in the root until its directory exists
    t.like(outcomes[2], { ok: false });
    t.like(outcomes[3], { ok: true, staged: { size: 0, crc: 0 } });
    t.false(readdirSync(nodePath.join(root, 'sub')).includes('one.txt'), 'nothing at the path before commit');
    const one = outcomes[0]!.ok ? outcomes[0]!.staged.temp : '';
    const oneMaster = { ...master, path: 'sub/one.txt', size: 3, mode: 0o600 };
    t.like(await ep.commit([{ action: { op: 'copy', path: 'sub/one.txt', reason: 'missing', master: oneMaster }, temp: one, attrs }]), [
      { path: 'sub/one.txt', ok: true, entry: { path: 'sub/one.txt', size: 3, mode: 0o600, crc: outcomes[0]!.ok ? outcomes[0]!.staged.crc : -1 } },
    ]);
    t.is(readFileSync(nodePath.join(root, 'sub/one.txt'), 'utf8'), 'one');
    t.deepEqual(
      readdirSync(root).filter((n) => n.startsWith('.replisync-')),
      [],
      'staged files that were not committed are removed by the commit',
    );

    // A commit takes what was staged before it; what is staged while it runs waits for the next one.
    const [early] = await ep.stageFiles([{ path: 'sub/early.txt', content: Buffer.from('early') }]);
    const committing = ep.commit([], { flush: true });
    const [late] = await ep.stageFiles([{ path: 'sub/late.txt', content: Buffer.from('late') }]);
    await committing;
    t.true(early!.ok && late!.ok);
    const lateMaster = { ...master, path: 'sub/late.txt', size: 4 };
    const earlyMaster = { ...master, path: 'sub/early.txt', size: 5 };
    const again = await ep.commit([
      { action: { op: 'copy', path: 'sub/late.txt', reason: 'missing', master: lateMaster }, temp: late!.ok ? late!.staged.temp : '', attrs },
      { action: { op: 'copy', path: 'sub/early.txt', reason: 'missing', master: earlyMaster }, temp: early!.ok ? early!.staged.temp : '', attrs },
    ]);
    t.like(again, [{ ok: true }, { ok: false }], 'the late file was kept for this commit; the early one was removed by the first');
    t.is(readFileSync(nodePath.join(root, 'sub/late.txt'), 'utf8'), 'late');

    // A new file is staged beside its target: its missing directories are made for it, private,
    // and the commit's mkdir gives them their mode and time; never is anything staged through a
    // symlinked directory.
    symlinkSync('sub', nodePath.join(root, 'dirlink'));
    const [deep, plain, viaLink] = await ep.stageFiles([
      { path: 'new/deeper/x.txt', content: Buffer.from('x') },
      { path: 'plain/z.txt', content: Buffer.from('z') },
      { path: 'dirlink/deeper/y.txt', content: Buffer.from('y') },
    ]);
    const tempOf = (o: (typeof deep) | undefined): string => (o?.ok ? o.staged.temp : '');
    t.regex(tempOf(deep), /^new\/deeper\/\.replisync-/);
    t.is(statSync(nodePath.join(root, 'new/deeper')).mode & 0o777, 0o700);
    t.false(tempOf(viaLink).includes('/'), 'not staged through a symlinked directory');
    t.deepEqual(readdirSync(nodePath.join(root, 'sub')).filter((n) => n.startsWith('.replisync-') || n === 'deeper'), []);
    const dirMaster = (path: string, mode: number) => ({ ...master, path, type: 'dir' as const, size: 0, mode, mtimeMs: 1_500_000_000_000 });
    const fileMaster = (path: string) => ({ ...master, path, size: 1 });
    const made = await ep.commit([
      { action: { op: 'mkdir', path: 'new', master: dirMaster('new', 0o751) }, attrs },
      { action: { op: 'mkdir', path: 'new/deeper', master: dirMaster('new/deeper', 0o755) }, attrs },
      { action: { op: 'copy', path: 'new/deeper/x.txt', reason: 'missing', master: fileMaster('new/deeper/x.txt') }, temp: tempOf(deep), attrs },
      { action: { op: 'mkdir', path: 'plain', master: dirMaster('plain', 0o700) }, attrs: { ...attrs, mode: false, mtime: false } },
      { action: { op: 'copy', path: 'plain/z.txt', reason: 'missing', master: fileMaster('plain/z.txt') }, temp: tempOf(plain), attrs },
    ]);
    t.like(made, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    t.like(statSync(nodePath.join(root, 'new')), { mode: 0o40751, mtimeMs: 1_500_000_000_000 });
    t.like(statSync(nodePath.join(root, 'new/deeper')), { mode: 0o40755, mtimeMs: 1_500_000_000_000 });
    t.is(statSync(nodePath.join(root, 'plain')).mode & 0o777, 0o777 & ~process.umask(), 'a directory made for staging gets the mode a new one would');
    t.is(readFileSync(nodePath.join(root, 'new/deeper/x.txt'), 'utf8'), 'x');

    // A step whose expectation no longer holds is refused as data, not thrown.
    const stale = await ep.commit([{ action: { op: 'delete', path: 'sub/a.txt', remote: { ...master, path: 'sub/a.txt', size: 99 } }, attrs }]);
    t.like(stale[0], { ok: false, code: 'ECHANGED' });
    t.is(readFileSync(nodePath.join(root, 'sub/a.txt'), 'utf8'), 'hello');

    // A path escaping the root is refused.
    const escape = await ep.commit([{ action: { op: 'mkdir', path: '../outside', master: { ...master, type: 'dir', mode: 0o755 } }, attrs }]);
    t.false(escape[0]!.ok);

    const err = await t.throwsAsync(ep.openRead('missing-file'));
    t.true(err instanceof PathError, String(err));
    t.is((err as PathError).path, 'missing-file');
    t.is((err as PathError).code, 'ENOENT');

    const hook = await ep.runHook('echo out; echo err >&2; exit 4', {});
    t.is(hook.code, 4);
    t.regex(hook.output, /out[\s\S]*err/);
    // Told what it runs for; its standard input is empty, not a pipe that never ends.
    const told = await ep.runHook('cat; echo "$REPLISYNC_BLOCK/$REPLISYNC_HOOK in $(pwd)"', { REPLISYNC_BLOCK: 'b 1', REPLISYNC_HOOK: 'preBlock' });
    t.deepEqual(told, { code: 0, output: `b 1/preBlock in ${root}` });
    // However much it prints, it runs to its end; what is kept of it is the end.
    const chatty = await ep.runHook("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo the end >&2", {});
    t.is(chatty.code, 0);
    t.true(chatty.output.startsWith('[...] xxx') && chatty.output.endsWith('the end') && chatty.output.length < 200 * 1024, chatty.output.slice(0, 20));
    t.is((await ep.runHook('kill -TERM $$', {})).code, 128 + 15, 'killed by a signal: 128 + its number, as a shell says');

    const beforeLock = (await ep.list([EMPTY_CLASS])).root;
    await ep.lock({ runId: '0123456789abcdef', job: 'contract', block: 'b' }, 1000);
    const record = JSON.parse(readFileSync(nodePath.join(root, '.replisync.lock'), 'utf8'));
    t.like(record, { job: 'contract', block: 'b', runId: '0123456789abcdef' });
    // Held across blocks: taking it again only names the new block.
    await ep.lock({ runId: '0123456789abcdef', job: 'contract', block: 'c' }, 1000);
    t.like(JSON.parse(readFileSync(nodePath.join(root, '.replisync.lock'), 'utf8')), { block: 'c', since: record.since, pid: record.pid });
    t.deepEqual(readdirSync(root).filter((n) => n.startsWith('.replisync-')), [], 'no temp file of the lock is left');
    await ep.unlock();
    t.false(readdirSync(root).includes('.replisync.lock'));

    // The root's own attributes come with the listing; it takes the ones given when a held lock is released.
    const rootStat = statSync(root);
    t.deepEqual(beforeLock, { mode: rootStat.mode & 0o7777, uid: rootStat.uid, gid: rootStat.gid, mtimeMs: Number(statSync(root, { bigint: true }).mtimeNs / 1000n) / 1000 });
    await ep.lock({ runId: '0123456789abcdef', job: 'contract', block: 'd' }, 1000);
    await ep.unlock({ mode: 0o750, mtimeMs: 1_600_000_000_123 });
    t.is(statSync(root).mode & 0o7777, 0o750);
    t.is(Math.round(statSync(root).mtimeMs), 1_600_000_000_123);
    await ep.unlock({ mode: 0o700 });
    t.is(statSync(root).mode & 0o7777, 0o750, 'not held: the root is left alone');
  } finally {
    await ep.close();
  }
  const missing = await open(nodePath.join(dir, 'does-not-exist'));
  const none = await missing.list([EMPTY_CLASS]);
  t.false(none.exists);
  t.is(none.root, undefined);
  await missing.close();

  // A name that is not valid UTF-8 is not listed but named, with \xHH for its bad byte.
  const odd = nodePath.join(dir, 'odd');
  mkdirSync(nodePath.join(odd, 'sub'), { recursive: true });
  writeFileSync(nodePath.join(odd, 'sub/plain'), '');
  writeFileSync(Buffer.concat([Buffer.from(`${odd}/sub/caf`), Buffer.from([0xe9])]), 'latin-1');
  const oddEp = await open(odd);
  const oddListing = await oddEp.list([EMPTY_CLASS]);
  t.deepEqual(oddListing.entries.map((e) => e.path), ['sub', 'sub/plain']);
  t.deepEqual(oddListing.badNames, ['sub/caf\\xe9']);
  await oddEp.close();
}
