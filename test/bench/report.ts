/** The printed table and the JSON record of a bench run. */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchmarkResult } from './benchmark.ts';

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export function formatTable(results: readonly BenchmarkResult[]): string {
  const rows: string[][] = [['benchmark / variant', 'median', 'per unit', 'min–max', 'peak RSS']];
  const verdicts: string[] = [];
  for (const result of results) {
    rows.push([result.title, '', '', '', '']);
    for (const variant of result.variants) {
      const times = variant.trials.map((trial) => trial.ms);
      rows.push([
        `  ${variant.name}`,
        `${variant.medianMs.toFixed(0)} ms`,
        result.unit && Number.isFinite(result.unit.per(variant)) ? `${result.unit.per(variant).toFixed(1)} ${result.unit.label}` : '',
        `${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} ms`,
        megabytes(variant.peakRss),
      ]);
    }
    const { label, value, target, met, shown = `${value.toFixed(2)}×` } = result.ratio;
    rows.push([`  ${label}`, shown, `target ${target}`, met ? 'PASS' : 'WARN', '']);
    verdicts.push(`${met ? 'PASS' : 'WARN'} ${result.name}: ${label} ${shown} (target ${target})`);
    for (const note of result.notes ?? []) verdicts.push(`     note: ${note}`);
  }
  // Title rows span the table, so only measurement rows set the column widths.
  const isTitle = (row: readonly string[]) => !row.slice(1).some(Boolean);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.filter((row) => !isTitle(row)).map((row) => row[column]!.length)));
  const lines = rows.map((row) =>
    isTitle(row)
      ? row[0]!
      : row
          .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
          .join('  ')
          .trimEnd(),
  );
  return [...lines, '', ...verdicts].join('\n');
}

/** Writes `.gild/bench/<timestamp>.json` under the repository and returns its path. */
export async function writeResults(repoRoot: string, startedAt: Date, results: readonly BenchmarkResult[]): Promise<string> {
  const folder = path.join(repoRoot, '.gild', 'bench');
  await mkdir(folder, { recursive: true });
  const file = path.join(folder, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const record = {
    startedAt: startedAt.toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverage: os.loadavg(),
    benchmarks: results.map((result) => ({
      ...result,
      unit: result.unit?.label,
      variants: result.variants.map((variant) => ({ ...variant, ...(result.unit ? { perUnit: result.unit.per(variant) } : {}) })),
    })),
  };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
