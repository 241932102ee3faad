import type { ReportView } from './model.js';

export function renderJson(report: ReportView): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
