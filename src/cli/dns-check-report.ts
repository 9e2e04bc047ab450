import type { CheckStatus, DomainCheck, Finding, Fix } from '../dns/check/index.js';
import { formatTime } from './output.js';

export interface ReportStyle {
  /** ANSI colours: only for a terminal, and not when NO_COLOR is set (no-color.org). */
  color: boolean;
}

/** Colour when stdout is a terminal and NO_COLOR is unset or empty. */
export function terminalStyle(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): ReportStyle {
  return { color: stream.isTTY === true && !env.NO_COLOR };
}

const COLOURS: Record<CheckStatus | 'bold', string> = { pass: '32', warn: '33', fail: '31', bold: '1' };

/**
 * The check as a table, one row per finding, each fix under its row with the records in
 * zone-file form (`name  TYPE  value`), then the direct-delivery verdict.
 */
export function renderDomainCheck(check: DomainCheck, style: ReportStyle): string {
  const paint = (code: keyof typeof COLOURS, text: string) => (style.color ? `\x1b[${COLOURS[code]}m${text}\x1b[0m` : text);
  const columns = ['check', 'status', 'name', 'result'] as const;
  const cells = (f: Finding) => [f.check, f.status, f.subject, f.summary];
  const widths = columns.map((c, i) => Math.max(c.length, ...check.findings.map((f) => (cells(f)[i] ?? '').length)));
  const indent = ' '.repeat((widths[0] ?? 0) + 2);
  const row = (values: string[], status?: CheckStatus) =>
    values
      .map((value, i) => {
        const padded = i === values.length - 1 ? value : value.padEnd(widths[i] ?? 0);
        return i === 1 && status ? paint(status, padded) : padded;
      })
      .join('  ');
  const lines = [`DNS check of ${check.domain}, ${formatTime(check.checkedAt)}`, '', row(columns.map((c) => c.toUpperCase()))];
  for (const f of check.findings) {
    lines.push(row(cells(f), f.status));
    if (f.fix) lines.push(...fixLines(f.fix).map((line) => indent + line));
  }
  const verdict = check.directDelivery;
  lines.push(
    '',
    `Inbound direct delivery: ${paint(verdict.level === 'not-possible' ? 'fail' : 'pass', verdict.level === 'not-possible' ? 'not possible' : verdict.text)}`,
  );
  lines.push(...verdict.reasons.map((reason) => `  - ${reason}`));
  return `${lines.join('\n')}\n`;
}

function fixLines(fix: Fix): string[] {
  const lines = [`fix (${fix.action}): ${fix.how}`];
  for (const record of fix.records) lines.push(`  ${record.name}  ${record.type}  ${record.value}`);
  if (fix.file)
    lines.push(
      `  ${fix.file.url} (${fix.file.contentType}):`,
      ...fix.file.content
        .split(/\r?\n/)
        .filter(Boolean)
        .map((line) => `    ${line}`),
    );
  return lines;
}
