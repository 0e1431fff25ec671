/**
 * `gild retire [images]`: the same trip as `gild run` with only the steps
 * retirement needs (lock, clean up what will never be published, retire,
 * release). Nothing is built, so a lowered `retention.keep` or an image that
 * has not changed in months is retired today, not after its next build.
 * Like every command that changes AWS, it leaves a report (report.json,
 * report.md, the step summary).
 */
import path from 'node:path';
import { applyRun, planRun, takeTrip, type ImageOutcome } from '../apply/run-trip.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { commandLine } from '../report/build-run-report.ts';
import { createLifecycle } from '../stages/lifecycle.ts';

export interface RetireIo {
  /** What people read (stderr under `--json`). */
  readonly stdout: (text: string) => void;
  readonly progress: (image: string | undefined, line: string) => void;
  /** The arguments as typed after `gild`, for the report. */
  readonly argv: readonly string[];
  /** `--json`: receives the report as JSON, for stdout. */
  readonly printReport?: ((json: string) => void) | undefined;
  /** `--dry-run`: the trip shows the plan and stops (src/apply/run-trip.ts `takeTrip`). */
  readonly dryRun: boolean;
}

export async function retireCommand(context: Context, images: readonly ResolvedImage[], signal: AbortSignal, io: RetireIo): Promise<number> {
  const startedAt = context.now();
  const { plan } = await planRun(context, images, { force: false, baseOverrides: {}, mode: 'retire' });
  return takeTrip({ heading: `Retirement plan ${plan.runId}`, plan, dryRun: io.dryRun, say: io.stdout, apply: () => applyRetirement(context, plan, images, signal, io, startedAt) });
}

async function applyRetirement(context: Context, plan: RunPlan, images: readonly ResolvedImage[], signal: AbortSignal, io: RetireIo, startedAt: Date): Promise<number> {
  // NOTE: an empty plan is still applied (it does nothing) so that a nightly `gild retire` always leaves a report.
  if (plan.steps.length === 0) io.stdout('Nothing to retire.\n');
  const { applied, outcomes } = await applyRun(context, plan, images, { stages: createLifecycle(context), signal, onProgress: io.progress });
  if (plan.steps.length > 0) io.stdout(`${formatRetired(outcomes)}\n`);
  const { writeRunReport } = await import('../report/write-run-report.ts');
  const written = await writeRunReport({
    applied,
    outcomes,
    command: commandLine(io.argv),
    commandName: 'retire',
    // Retirement re-plans from what AWS holds: the same command again is the way to retry it.
    reproduce: (image) => `npx ${commandLine(['retire', image])}`,
    startedAt,
    finishedAt: context.now(),
    cwd: context.cwd,
    env: context.env,
  });
  io.stdout(`Report: ${path.relative(context.cwd, written.markdownFile)} (JSON: ${path.relative(context.cwd, written.jsonFile)})\n`);
  io.printReport?.(`${JSON.stringify(written.report, null, 2)}\n`);
  const failed = outcomes.filter((outcome) => outcome.result === 'failed').map((outcome) => outcome.image);
  if (failed.length > 0) throw catalogue.EPIPELINE(failed);
  return 0;
}

function formatRetired(outcomes: readonly ImageOutcome[]): string {
  const lines: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.result === 'failed') lines.push(`  ✖ ${outcome.image} failed in ${outcome.stage}: ${outcome.reason}`, ...outcome.details.map((detail) => `      - ${detail}`));
    else if (outcome.result === 'yielded') lines.push(`  # ${outcome.image} left alone: ${outcome.reason}`);
    else if (outcome.result === 'skipped') lines.push(`  - ${outcome.image} skipped: ${outcome.reason}`);
    else lines.push(`  ✔ ${outcome.image}${outcome.summary.length === 0 ? ': nothing to retire' : ''}`);
    if (outcome.result !== 'skipped') for (const line of outcome.summary) lines.push(`      ${line}`);
  }
  return lines.join('\n');
}
