import { type Action, type PlanSummary, formatMode, formatOwner } from '../engine/action.js';
import type { RunResult } from '../execute/types.js';

/** One action as scripts see it in the JSON report. */
export interface ActionView {
  op: Action['op'];
  path: string;
  /** One of the contract's: missing, size, checksum, type. */
  reason?: string;
  /** With reason `type`: the remote file is hard-linked where the master's is not (an addition to the contract). */
  linksDiffer?: true;
  from?: string;
  to?: string;
  target?: string;
}

export interface RemoteView {
  endpoint: string;
  actions: ActionView[];
  passes: number;
  inconsistent: string[];
  error: string | null;
  blocks: { name: string; pass: number; actions: number }[];
  summary: PlanSummary;
}

export interface ReportView {
  master: string;
  dryRun: boolean;
  error: string | null;
  remotes: RemoteView[];
}

export function viewAction(a: Action): ActionView {
  const v: ActionView = { op: a.op, path: a.path };
  switch (a.op) {
    case 'copy':
      // A file leaving a hard-link group becomes a file of its own: a change of kind, as tar sees
      // it (a link entry becomes a file), and scripts know only the contract's reasons.
      if (a.reason === 'links') {
        v.reason = 'type';
        v.linksDiffer = true;
      } else {
        v.reason = a.reason;
      }
      break;
    case 'chmod':
      v.from = formatMode(a.remote!.mode);
      v.to = formatMode(a.master!.mode);
      break;
    case 'chown':
      v.from = formatOwner(a.remote!);
      v.to = formatOwner(a.master!);
      break;
    case 'symlink':
      v.target = a.master!.target;
      break;
    case 'hardlink':
      v.target = a.linkTo;
      break;
  }
  return v;
}

export function viewReport(run: RunResult): ReportView {
  return {
    master: run.master,
    dryRun: run.dryRun,
    error: run.fatal ?? null,
    remotes: run.remotes.map((r) => ({
      endpoint: r.endpoint,
      // Made each time it is read, and let go after: a run's views need not all be held at once.
      get actions() {
        return r.actions.map(viewAction);
      },
      passes: r.passes,
      inconsistent: r.inconsistent,
      error: r.errors.length > 0 ? r.errors.join('; ') : null,
      blocks: r.blocks,
      summary: r.summary,
    })),
  };
}

const REASON_TEXT: Record<string, string> = {
  missing: 'missing on remote',
  size: 'size differs',
  checksum: 'checksum differs',
  type: 'type differs',
};

const SYMBOL: Record<Action['op'], string> = {
  copy: '~',
  delete: '-',
  mkdir: 'd',
  rmdir: 'x',
  chmod: 'm',
  chown: 'o',
  touch: 't',
  symlink: 'l',
  hardlink: 'h',
};

export function symbolOf(v: ActionView): string {
  return v.op === 'copy' && v.reason === 'missing' ? '+' : SYMBOL[v.op];
}

/** The right-hand column of the text report: why, or what it becomes. */
export function detailOf(v: ActionView): string {
  switch (v.op) {
    case 'copy':
      return v.linksDiffer ? 'hard links differ' : (REASON_TEXT[v.reason ?? ''] ?? v.reason ?? '');
    case 'chmod':
    case 'chown':
      return `${v.from} -> ${v.to}`;
    case 'touch':
      return 'mtime';
    case 'symlink':
      return `-> ${v.target}`;
    case 'hardlink':
      return `== ${v.target}`;
    default:
      return '';
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * The summary for people counts, as the contract's example does, the symlinks written among the
 * entries copied. `actions`: the remote's views when the caller has them already (they are made on each read).
 */
export function summaryLine(r: RemoteView, actions = r.actions): string {
  const s = r.summary;
  const copied = s.copied + actions.filter((a) => a.op === 'symlink').length;
  return `${copied} copied (${formatBytes(s.bytes)}), ${s.deleted} deleted, ${s.attributes} attributes fixed, ${r.inconsistent.length} inconsistent`;
}

/** What a remote without actions shows: "no differences" only where it was compared to the end. */
export function noActionsText(report: ReportView, r: RemoteView): string {
  return report.error || r.error ? 'No actions: see the error.' : 'No differences.';
}
