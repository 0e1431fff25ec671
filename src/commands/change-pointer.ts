/**
 * `gild promote`, `gild rollback` and `gild release`: observe the image once,
 * plan the pointer change purely (src/plan/plan-pointer-change.ts), print the
 * plan, and unless `--dry-run` apply it through the same runner as `gild run`.
 */
import { userInfo } from 'node:os';
import { applyRun } from '../apply/run-trip.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import { formatRunPlan } from '../plan/format-run-plan.ts';
import { planPointerChange, type PointerChange } from '../plan/plan-pointer-change.ts';
import { createLifecycle } from '../stages/lifecycle.ts';

export interface ChangePointerIo {
  readonly stdout: (text: string) => void;
  readonly progress: (image: string | undefined, line: string) => void;
}

export async function changePointerCommand(context: Context, image: ResolvedImage, change: PointerChange, signal: AbortSignal, io: ChangePointerIo): Promise<number> {
  const inventory = await observeInventory(context, [image], { baseOverrides: context.options.baseOverrides });
  const planned = planPointerChange({ runId: context.runId, now: context.now(), image, inventory, channels: context.settings.channels, by: `${safeUser()}@${context.processInfo.host}`, change });
  if ('refused' in planned) throw catalogue.EUSAGE(`${change.kind} ${image.name}: ${planned.refused}.`);
  io.stdout(`Plan ${planned.plan.runId}:\n${formatRunPlan(planned.plan)}\n\n`);
  if (context.options.dryRun) {
    io.stdout('Dry run: nothing was changed.\n');
    return 0;
  }
  const { outcomes } = await applyRun(context, planned.plan, [image], { stages: createLifecycle(context), signal, onProgress: io.progress });
  const [outcome] = outcomes;
  if (!outcome || outcome.result === 'failed') {
    io.stdout(`✖ ${image.name}: ${outcome?.result === 'failed' ? `${outcome.reason}${outcome.details.map((detail) => `\n    - ${detail}`).join('')}` : 'not applied'}\n`);
    throw catalogue.EPIPELINE([image.name]);
  }
  if (outcome.result !== 'unchanged') {
    io.stdout(`# ${image.name}: ${'reason' in outcome ? outcome.reason : outcome.result}\n`);
    throw catalogue.EPIPELINE([image.name]);
  }
  io.stdout(`✔ ${image.name}:\n${outcome.summary.map((line) => `    ${line}\n`).join('')}`);
  return 0;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
