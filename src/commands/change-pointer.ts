/**
 * `gild promote`, `gild rollback` and `gild release`: observe the image once,
 * plan the pointer change purely (src/plan/plan-pointer-change.ts), print the
 * plan, and unless `--dry-run` apply it through the same runner as `gild run`,
 * then leave a report (report.json, report.md, the step summary) saying which
 * pointer moved from what to what in each region, which hold or revocation was
 * recorded, and what failed.
 */
import { userInfo } from 'node:os';
import path from 'node:path';
import { applyRun } from '../apply/run-trip.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import { formatRunPlan } from '../plan/format-run-plan.ts';
import { imageState } from '../plan/image-state.ts';
import { planPointerChange, type PointerChange } from '../plan/plan-pointer-change.ts';
import { commandLine } from '../report/build-run-report.ts';
import { createLifecycle } from '../stages/lifecycle.ts';

export interface ChangePointerIo {
  /** What people read (stderr under `--json`). */
  readonly stdout: (text: string) => void;
  readonly progress: (image: string | undefined, line: string) => void;
  /** The arguments as typed after `gild`, for the report and the command that retries a failure. */
  readonly argv: readonly string[];
  /** `--json`: receives the report as JSON, for stdout. */
  readonly printReport?: ((json: string) => void) | undefined;
}

export async function changePointerCommand(context: Context, image: ResolvedImage, change: PointerChange, signal: AbortSignal, io: ChangePointerIo): Promise<number> {
  const startedAt = context.now();
  const inventory = await observeInventory(context, [image], { baseOverrides: context.options.baseOverrides });
  const planned = planPointerChange({ runId: context.runId, now: context.now(), image, inventory, channels: context.settings.channels, by: `${safeUser()}@${context.processInfo.host}`, change });
  if ('refused' in planned) throw catalogue.EUSAGE(`${change.kind} ${image.name}: ${planned.refused}.`);
  io.stdout(`Plan ${planned.plan.runId}:\n${formatRunPlan(planned.plan)}\n\n`);
  if (context.options.dryRun) {
    io.stdout('Dry run: nothing was changed.\n');
    return 0;
  }
  const { applied, outcomes } = await applyRun(context, planned.plan, [image], { stages: createLifecycle(context), signal, onProgress: io.progress });
  const published = imageState(inventory, image.name, image.regions).versions;
  const { writeRunReport } = await import('../report/write-run-report.ts');
  const written = await writeRunReport({
    applied,
    outcomes,
    command: commandLine(io.argv),
    commandName: change.kind,
    // It plans afresh from what AWS holds, so the same command again is how a failure is retried (or seen, with --dry-run).
    reproduce: () => `npx ${commandLine(io.argv.filter((argument) => argument !== '--json'))}`,
    versionOfAmi: (_image, region, amiId) => published.find((candidate) => candidate.amis[region] === amiId)?.version,
    startedAt,
    finishedAt: context.now(),
    cwd: context.cwd,
    env: context.env,
  });
  const [outcome] = outcomes;
  const succeeded = outcome?.result === 'unchanged';
  if (!outcome || outcome.result === 'failed') io.stdout(`✖ ${image.name}: ${outcome?.result === 'failed' ? `${outcome.reason}${outcome.details.map((detail) => `\n    - ${detail}`).join('')}` : 'not applied'}\n`);
  else if (outcome.result !== 'unchanged') io.stdout(`# ${image.name}: ${'reason' in outcome ? outcome.reason : outcome.result}\n`);
  else io.stdout(`✔ ${image.name}:\n${outcome.summary.map((line) => `    ${line}\n`).join('')}`);
  io.stdout(`Report: ${path.relative(context.cwd, written.markdownFile)} (JSON: ${path.relative(context.cwd, written.jsonFile)})\n`);
  io.printReport?.(`${JSON.stringify(written.report, null, 2)}\n`);
  if (!succeeded) throw catalogue.EPIPELINE([image.name]);
  return 0;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
