import type { ReportView } from './model.js';

/** One JSON line per run for `--log`: what cron users grep and graph. */
export function logLine(report: ReportView, job: string, exitCode: number, startedAt: Date): string {
  return `${JSON.stringify({
    time: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    job,
    master: report.master,
    dryRun: report.dryRun,
    exitCode,
    error: report.error,
    remotes: report.remotes.map((r) => ({
      endpoint: r.endpoint,
      ...r.summary,
      passes: r.passes,
      inconsistent: r.inconsistent.length,
      error: r.error,
    })),
  })}\n`;
}
