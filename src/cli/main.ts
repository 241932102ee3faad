import { randomBytes } from 'node:crypto';
import { accessSync, appendFileSync, closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import * as nodePath from 'node:path';
import { formatAddress } from '../endpoint/address.js';
import { ReplisyncError, UsageError, describe, errnoCode, reasonOf } from '../endpoint/errors.js';
import { type OpenedEndpoints, openEndpoints } from '../endpoint/open.js';
import { runJob } from '../execute/run-job.js';
import type { RunResult } from '../execute/types.js';
import { JobBusy, acquireJobLock } from '../execute/job-lock.js';
import { htmlReport } from '../report/html.js';
import { jsonReport } from '../report/json.js';
import { markdownReport } from '../report/markdown.js';
import { type ReportView, viewReport } from '../report/model.js';
import { type Pieces, batches, writePieces } from '../report/pieces.js';
import { logLine } from '../report/run-log.js';
import { textReport } from '../report/text.js';
import { runAgent } from '../agent/agent.js';
import { askedForJson, parseArgs } from './args.js';
import { EXIT_ERROR, exitCodeOf } from './exit-code.js';
import { type Settings, resolveSettings } from './settings.js';
import { checkOpenedOverlap } from './overlap.js';
import { makeDirs } from '../make-dirs.js';

function say(message: string): void {
  process.stderr.write(`replisync: ${message}\n`);
}

function fileReport(view: ReportView, kind: 'json' | 'md' | 'html'): Pieces {
  return kind === 'json' ? jsonReport(view) : kind === 'md' ? markdownReport(view) : htmlReport(view);
}

function toStdout(pieces: Pieces): Promise<void> {
  return writePieces(process.stdout, pieces);
}

function toFile(file: string, pieces: Pieces): void {
  const fd = openSync(file, 'w');
  try {
    for (const chunk of batches(pieces)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

async function emit(settings: Settings, run: RunResult, code: number, startedAt: Date): Promise<void> {
  const view = viewReport(run);
  if (settings.format === 'json') await toStdout(jsonReport(view));
  else if (!(settings.quiet && code === 0)) await toStdout(textReport(view));
  // One message once, however many remotes met it (a master lost mid-run fails the run and every remote's copies).
  const said = new Set<string>();
  const sayOnce = (message: string): void => {
    if (!said.has(message)) say(message);
    said.add(message);
  };
  if (view.error) sayOnce(view.error);
  for (const r of run.remotes) {
    if (settings.verbose) for (const b of r.blocks) say(`${r.endpoint}: block ${b.name} (pass ${b.pass}): ${b.actions} change(s)`);
    for (const e of r.errors) sayOnce(e);
    if (!run.dryRun && r.inconsistent.length > 0) {
      const shown = r.inconsistent.slice(0, 10).join(', ');
      say(`${r.endpoint}: ${r.inconsistent.length} path(s) still inconsistent after ${r.passes} pass(es): ${shown}${r.inconsistent.length > 10 ? ', ...' : ''}`);
    }
  }
  // Checked before the run; what fails now (a full disk) is said, naming the file.
  const write = (option: string, file: string, put: () => void): void => {
    try {
      put();
    } catch (err) {
      throw new UsageError(`${option} ${file}: cannot write: ${reasonOf(err)}`);
    }
  };
  const { report, log } = settings;
  if (report) write('--report', report.file, () => toFile(report.file, fileReport(view, report.kind)));
  if (log) write('--log', log, () => appendFileSync(log, logLine(view, settings.job, code, startedAt)));
}

/**
 * The report's and the log's directories exist and take files, checked before anything changes:
 * a run must not end unable to say what it did.
 */
function prepareOutputs(settings: Settings): void {
  for (const [option, file] of [['--report', settings.report?.file], ['--log', settings.log]] as const) {
    if (file === undefined) continue;
    const dir = nodePath.dirname(nodePath.resolve(file));
    try {
      makeDirs(dir);
      accessSync(dir, constants.W_OK);
      const existing = statSync(file, { throwIfNoEntry: false });
      if (existing?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      if (existing) accessSync(file, constants.W_OK);
    } catch (err) {
      throw new UsageError(`${option} ${file}: cannot write there: ${reasonOf(err)}`);
    }
  }
}

/** A stopped run still gives scripts their one JSON object (with --format json) and cron its --log line. */
async function tellStop(settings: Settings, signal: NodeJS.Signals, out: { reported: boolean }, startedAt: Date): Promise<void> {
  if (out.reported) return; // the run had ended: its report and log line are out
  out.reported = true;
  const view: ReportView = { master: formatAddress(settings.master), dryRun: settings.dryRun, error: `stopped by ${signal}`, remotes: [] };
  if (settings.format === 'json') await toStdout(jsonReport(view));
  if (settings.log) appendFileSync(settings.log, logLine(view, settings.job, EXIT_ERROR, startedAt));
}

/** `out.reported` is set once the report is on stdout: an error after it must not add a second object. */
async function runSync(settings: Settings, out: { reported: boolean }): Promise<number> {
  prepareOutputs(settings);
  const startedAt = new Date();
  const runId = randomBytes(8).toString('hex');
  const verbose = settings.verbose ? (m: string) => say(m) : undefined;
  const stop = new AbortController();
  // Signals are heard from here on: a run waiting for another one (--wait) stops as cleanly.
  const jobLock = settings.dryRun ? Promise.resolve(undefined) : acquireJobLock(settings.job, runId, settings.wait, settings.quiet ? undefined : say, stop.signal);
  let endpoints: OpenedEndpoints | undefined;
  // Once: a signal during the closing of a finished run waits for the same closing.
  let closing: Promise<void> | undefined;
  // A stop does not wait for hosts still being reached: their connections end with the process.
  const closeAll = (stopping = false): Promise<void> =>
    (closing ??= (async () => {
      if (endpoints) {
        const remotes = stopping ? endpoints.remotes.flatMap((p) => (p.settled ? [p.settled] : [])) : await Promise.all(endpoints.remotes.map((p) => p.opened));
        await Promise.all([endpoints.master, ...remotes].map((e) => e.close().catch(() => undefined)));
        await endpoints.release();
      }
      await (await jobLock.catch(() => undefined))?.release();
    })());
  let stopped = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    stopped = true;
    stop.abort();
    say(`${signal}: stopping: removing staged files and releasing locks (what a stop cannot remove, the next run does)`);
    void closeAll(true)
      .finally(() => tellStop(settings, signal, out, startedAt).catch(() => undefined))
      .finally(() => process.exit(EXIT_ERROR));
  };
  // SIGHUP: the terminal the run was started from is gone.
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  try {
    await jobLock;
    // The master is listed while the remotes are reached (agents started, SSH handshakes): it only reads.
    endpoints = await openEndpoints(settings, verbose);
    const master = endpoints.master;
    const masterListing = master.list(settings.classes);
    const run = await runJob({
      master,
      masterListing,
      remotes: endpoints.remotes,
      vetEndpoints: (remotes) => checkOpenedOverlap([{ role: 'master', endpoint: master }, ...remotes.map((endpoint) => ({ role: 'remote' as const, endpoint }))]),
      classes: settings.classes,
      attrs: settings.attrs,
      delete: settings.delete,
      modifyWindowMs: settings.modifyWindowMs,
      maxDelete: settings.maxDelete,
      maxPasses: settings.maxPasses,
      concurrency: settings.concurrency,
      dryRun: settings.dryRun,
      blocks: settings.blocks,
      job: settings.job,
      runId,
      lockTimeoutMs: settings.lockTimeoutMs,
      // Loaded only for a terminal: the bars' library costs every cron run its start-up time otherwise.
      progress: settings.progress ? (await import('../report/progress.js')).stderrProgress() : undefined,
      verbose,
      notice: settings.quiet ? undefined : say,
    });
    // Stopped: what the run met since (hooks ended, agents closed) is the stop's doing, told already.
    if (stopped) return EXIT_ERROR;
    const code = exitCodeOf(run);
    out.reported = true;
    await emit(settings, run, code, startedAt);
    return code;
  } catch (err) {
    if (stopped) return EXIT_ERROR;
    throw err;
  } finally {
    // Still listening while closing: a signal that came as the run ended (its agents stopped by
    // the same Ctrl-C, say) is told, and the run ends with exit 2 as it should.
    await closeAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/**
 * A reader that stops early (`replisync diff ... | head`) closes the pipe: the rest of the report
 * has nowhere to go, which is no error of the run (its exit status stands).
 */
function ignoreClosedReaders(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (errnoCode(err) !== 'EPIPE') throw err;
    });
  }
}

/** What went wrong, for stderr and the JSON object; `expected` is false for a bug (stderr gets its stack). */
function failureOf(err: unknown): { message: string; expected: boolean } {
  if (err instanceof UsageError || err instanceof JobBusy) return { message: err.message, expected: true };
  if (err instanceof ReplisyncError) return { message: describe(err), expected: true };
  return { message: err instanceof Error ? err.message : String(err), expected: false };
}

/** The whole command line; returns the exit status (only bin/ calls process.exit). */
export async function main(argv: string[]): Promise<number> {
  let settings: Settings | undefined;
  const out = { reported: false };
  try {
    const args = await parseArgs(argv);
    if (!args) return 0;
    if (args.command === 'agent') return await runAgent();
    ignoreClosedReaders();
    settings = resolveSettings(args, process.stderr.isTTY === true);
    return await runSync(settings, out);
  } catch (err) {
    const { message, expected } = failureOf(err);
    say(expected ? message : `unexpected error: ${(err as Error)?.stack ?? message}`);
    // Scripts reading --format json get their one JSON object even when the run could not start.
    const asked = settings ? { json: settings.format === 'json', dryRun: settings.dryRun } : askedForJson(argv);
    if (asked.json && !out.reported) {
      const master = settings ? formatAddress(settings.master) : null;
      await toStdout(jsonReport({ master, dryRun: asked.dryRun, error: message, remotes: [] }));
    }
    return EXIT_ERROR;
  }
}
