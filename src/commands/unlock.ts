/**
 * `gild unlock <image> --yes`: remove an image's lock by hand, only when its owner is gone (or with --force). The
 * same trip as every command that changes AWS: observe the lock, plan purely (src/plan/plan-unlock.ts: take the
 * lease over, re-checked against the live lock right before, then give it back), show the plan (`--dry-run` stops
 * there), apply it through the runner, and leave a report (report.json, report.md, the step summary).
 */
import path from 'node:path';
import { applyRun, takeTrip } from '../apply/run-trip.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { observeLock } from '../observe/observe-lease.ts';
import type { StepOutputs } from '../apply/step-stage.ts';
import { stepTable } from '../apply/step-table.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { lockParameterName } from '../plan/parameter-names.ts';
import { planUnlock } from '../plan/plan-unlock.ts';
import { commandLine } from '../report/build-run-report.ts';
import { createLifecycle } from '../stages/lifecycle.ts';

export interface UnlockOptions {
  readonly yes: boolean;
  readonly force: boolean;
}

export interface UnlockIo {
  /** What people read (stderr under `--json`). */
  readonly stdout: (text: string) => void;
  readonly progress: (image: string | undefined, line: string) => void;
  /** The arguments as typed after `gild`, for the report. */
  readonly argv: readonly string[];
  /** `--json`: receives the report as JSON, for stdout. */
  readonly printReport?: ((json: string) => void) | undefined;
  /** `--dry-run`: the trip shows the plan and stops (src/apply/run-trip.ts `takeTrip`); `--yes` is not needed for it. */
  readonly dryRun: boolean;
}

export async function unlockCommand(context: Context, image: ResolvedImage, options: UnlockOptions, signal: AbortSignal, io: UnlockIo): Promise<number> {
  const startedAt = context.now();
  const observed = await observeLock(context, image);
  const planned = planUnlock({ runId: context.runId, now: context.now(), image, ssmPrefix: context.settings.ssmPrefix, ...observed, force: options.force });
  if ('free' in planned) {
    io.stdout(`${planned.free}\n`);
    return 0;
  }
  if ('refused' in planned) throw catalogue.EUSAGE(planned.refused);
  return takeTrip({
    heading: `Unlock plan ${planned.plan.runId}`,
    plan: planned.plan,
    dryRun: io.dryRun,
    say: io.stdout,
    // NOTE: removing a lock is never done unasked; the plan is shown first, so the operator sees what --yes confirms.
    refuse: () => {
      if (!io.dryRun && !options.yes) throw catalogue.EUSAGE(planned.confirm);
    },
    apply: (plan) => applyUnlock(context, image, plan, signal, io, startedAt),
  });
}

async function applyUnlock(context: Context, image: ResolvedImage, plan: RunPlan, signal: AbortSignal, io: UnlockIo, startedAt: Date): Promise<number> {
  const { applied, outcomes } = await applyRun(context, plan, [image], { stages: createLifecycle(context), signal, onProgress: io.progress });
  const { writeRunReport } = await import('../report/write-run-report.ts');
  const written = await writeRunReport({
    applied,
    outcomes,
    command: commandLine(io.argv),
    commandName: 'unlock',
    // It plans afresh from the lock as it is then: the same command again is how a failure is retried (or seen, with --dry-run).
    reproduce: () => `npx ${commandLine(io.argv.filter((argument) => argument !== '--json'))}`,
    startedAt,
    finishedAt: context.now(),
    cwd: context.cwd,
    env: context.env,
  });
  const outcome = outcomes.find((candidate) => candidate.image === image.name);
  // The step that gives the lease back, found by its row like the runner finds it: giving it back is what removes it.
  const release = plan.steps.find((step) => stepTable[step.kind].lease === 'gives-back');
  const released = release ? applied.results.get(release.id) : undefined;
  const removed = outcome?.result === 'unchanged' && released?.status === 'done' && (released.output as StepOutputs['release']).released;
  if (removed) io.stdout(`✔ removed ${lockParameterName(context.settings.ssmPrefix, image.name)} in ${image.buildRegion}.\n`);
  else if (outcome?.result === 'failed') io.stdout(`✖ ${image.name}: ${outcome.reason}${outcome.details.map((detail) => `\n    - ${detail}`).join('')}\n`);
  else if (outcome?.result === 'unchanged')
    // NOTE: the lease taken over is this run's: left behind, it is stale as soon as this process ends, and the next run takes it over.
    io.stdout(
      `✖ ${image.name}: the lock was taken over but not given back (${released?.status === 'done' ? 'it was no longer ours' : (released?.reason ?? 'not run')}); run \`gild unlock ${image.name} --yes\` again.\n`,
    );
  else io.stdout(`# ${image.name}: ${outcome && 'reason' in outcome ? outcome.reason : 'not applied'}. Nothing was removed; look again.\n`);
  io.stdout(`Report: ${path.relative(context.cwd, written.markdownFile)} (JSON: ${path.relative(context.cwd, written.jsonFile)})\n`);
  io.printReport?.(`${JSON.stringify(written.report, null, 2)}\n`);
  if (!removed) throw catalogue.EPIPELINE([image.name]);
  return 0;
}
