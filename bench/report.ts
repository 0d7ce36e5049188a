// The results table: one row per figure, with its target and whether it was met. A part that could
// not be measured is a row saying why, never a crash of the run.

export type Verdict = 'ok' | 'MISS' | 'WRONG' | '' | 'n/a';

export interface ReportRow {
  section: string;
  figure: string;
  value: string;
  target: string;
  verdict: Verdict;
  note?: string;
}

export class Report {
  readonly rows: ReportRow[] = [];

  add(section: string, figure: string, value: string, target = '', verdict: Verdict = '', note?: string): void {
    this.rows.push({ section, figure, value, target, verdict, ...(note === undefined ? {} : { note }) });
  }

  /** A figure whose target is a lower bound (bigger is better). */
  atLeast(section: string, figure: string, value: number, unit: string, minimum: number, note?: string): void {
    this.add(section, figure, `${formatNumber(value)} ${unit}`, `≥ ${formatNumber(minimum)} ${unit}`, value >= minimum ? 'ok' : 'MISS', note);
  }

  /** A figure whose target is an upper bound (smaller is better). */
  atMost(section: string, figure: string, value: number, unit: string, maximum: number, note?: string): void {
    this.add(section, figure, `${formatNumber(value)} ${unit}`, `≤ ${formatNumber(maximum)} ${unit}`, value <= maximum ? 'ok' : 'MISS', note);
  }

  notAvailable(section: string, figure: string, reason: string): void {
    this.add(section, figure, 'not available', '', 'n/a', firstLine(reason));
  }

  format(): string {
    const headers = ['section', 'figure', 'value', 'target', 'status'];
    const cells = this.rows.map((row) => [row.section, row.figure, row.value, row.target, row.verdict]);
    const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => displayWidth(row[column]!))));
    const line = (values: string[]): string => values.map((value, column) => value + ' '.repeat(widths[column]! - displayWidth(value))).join('  ').trimEnd();
    const out = [line(headers), widths.map((width) => '-'.repeat(width)).join('  ')];
    let section = '';
    for (const [index, row] of this.rows.entries()) {
      const values = cells[index]!;
      if (row.section === section) values[0] = '';
      section = row.section;
      out.push(line(values));
      if (row.note !== undefined) out.push(' '.repeat(widths[0]! + 2) + `  ↳ ${row.note}`);
    }
    return out.join('\n');
  }
}

function displayWidth(text: string): number {
  return [...text].length;
}

function firstLine(text: string): string {
  const line = text.split('\n').find((part) => part.trim() !== '') ?? text;
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

/** Three significant digits, without exponent notation for everyday magnitudes. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude === 0) return '0';
  return value.toPrecision(2);
}

/** Whole counts with thousands separators. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${formatNumber(value)} ${units[unit]}`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
