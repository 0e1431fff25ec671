/**
 * `gild retire [images]`: the same trip as `gild run` with only the steps
 * retirement needs (lock, clean up what will never be published, retire,
 * release). Nothing is built, so a lowered `retention.keep` or an image that
 * has not changed in months is retired today, not after its next build.
 */
import { applyRun, planRun, type ImageOutcome } from '../apply/run-trip.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { formatRunPlan } from '../plan/format-run-plan.ts';
import { createLifecycle } from '../stages/lifecycle.ts';

export interface RetireIo {
  readonly stdout: (text: string) => void;
  readonly progress: (image: string | undefined, line: string) => void;
}

export async function retireCommand(context: Context, images: readonly ResolvedImage[], signal: AbortSignal, io: RetireIo): Promise<number> {
  const { plan } = await planRun(context, images, { force: false, baseOverrides: {}, mode: 'retire' });
  io.stdout(`Retirement plan ${plan.runId}:\n${formatRunPlan(plan)}\n\n`);
  if (context.options.dryRun) {
    io.stdout('Dry run: nothing was changed.\n');
    return 0;
  }
  if (plan.steps.length === 0) {
    io.stdout('Nothing to retire.\n');
    return 0;
  }
  const { outcomes } = await applyRun(context, plan, images, { stages: createLifecycle(context), signal, onProgress: io.progress });
  io.stdout(`${formatRetired(outcomes)}\n`);
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
