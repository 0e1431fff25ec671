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
import { applyRun, takeTrip } from '../apply/run-trip.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import type { Inventory } from '../observe/inventory.ts';
import { imageState, type ImageState } from '../plan/image-state.ts';
import { restorableAmis, type BinLookup } from '../plan/plan-restore.ts';
import { listBinnedImages, listBinnedSnapshotsOf } from '../adapters/ec2-image-lifecycle.ts';
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
  /** `--dry-run`: the trip shows the plan and stops (src/apply/run-trip.ts `takeTrip`). */
  readonly dryRun: boolean;
}

/**
 * `images`: every image loaded with it. A revoke observes them all (the descendants it marks may be published in
 * regions of their own) and `--cascade` revokes those among them built on the revoked version.
 */
export async function changePointerCommand(
  context: Context,
  image: ResolvedImage,
  change: PointerChange,
  signal: AbortSignal,
  io: ChangePointerIo,
  images: readonly ResolvedImage[] = [image],
): Promise<number> {
  const startedAt = context.now();
  const observed = change.kind === 'revoke' ? [image, ...images.filter((other) => other.name !== image.name)] : [image];
  const inventory = await observeInventory(context, observed, { baseOverrides: context.options.baseOverrides, retentionRules: false });
  const bin = change.kind === 'restore' ? await lookInRecycleBin(context, image, imageState(inventory, image.name, image.regions), change.version) : undefined;
  const planned = planPointerChange({
    runId: context.runId,
    now: context.now(),
    image,
    inventory,
    channels: context.settings.channels,
    by: `${safeUser()}@${context.processInfo.host}`,
    change,
    images: observed,
    notify: context.settings.notify,
    ...(bin ? { bin } : {}),
  });
  if ('refused' in planned) throw catalogue.EUSAGE(`${change.kind} ${image.name}: ${planned.refused}.`);
  return takeTrip({
    heading: `Plan ${planned.plan.runId}`,
    plan: planned.plan,
    dryRun: io.dryRun,
    say: io.stdout,
    apply: (plan) => applyChange(context, image, plan, inventory, observed, change, signal, io, startedAt),
  });
}

async function applyChange(
  context: Context,
  image: ResolvedImage,
  plan: RunPlan,
  inventory: Inventory,
  observed: readonly ResolvedImage[],
  change: PointerChange,
  signal: AbortSignal,
  io: ChangePointerIo,
  startedAt: Date,
): Promise<number> {
  const changed = observed.filter((candidate) => plan.images.some((decision) => decision.image === candidate.name));
  const { applied, outcomes } = await applyRun(context, plan, changed, { stages: createLifecycle(context), signal, onProgress: io.progress });
  const publishedOf = (name: string) => {
    const of = changed.find((candidate) => candidate.name === name);
    return of ? imageState(inventory, of.name, of.regions).versions : [];
  };
  const { writeRunReport } = await import('../report/write-run-report.ts');
  const written = await writeRunReport({
    applied,
    outcomes,
    command: commandLine(io.argv),
    commandName: change.kind,
    // It plans afresh from what AWS holds, so the same command again is how a failure is retried (or seen, with --dry-run).
    reproduce: () => `npx ${commandLine(io.argv.filter((argument) => argument !== '--json'))}`,
    versionOfAmi: (name, region, amiId) => publishedOf(name).find((candidate) => candidate.amis[region] === amiId)?.version,
    startedAt,
    finishedAt: context.now(),
    cwd: context.cwd,
    env: context.env,
  });
  let succeeded = outcomes.length > 0;
  for (const name of changed.map((candidate) => candidate.name)) {
    const outcome = outcomes.find((candidate) => candidate.image === name);
    if (outcome?.result !== 'unchanged') succeeded = false;
    if (!outcome || outcome.result === 'failed')
      io.stdout(`✖ ${name}: ${outcome?.result === 'failed' ? `${outcome.reason}${outcome.details.map((detail) => `\n    - ${detail}`).join('')}` : 'not applied'}\n`);
    else if (outcome.result !== 'unchanged') io.stdout(`# ${name}: ${'reason' in outcome ? outcome.reason : outcome.result}\n`);
    else io.stdout(`✔ ${name}:\n${outcome.summary.map((line) => `    ${line}\n`).join('')}`);
  }
  io.stdout(`Report: ${path.relative(context.cwd, written.markdownFile)} (JSON: ${path.relative(context.cwd, written.jsonFile)})\n`);
  io.printReport?.(`${JSON.stringify(written.report, null, 2)}\n`);
  if (!succeeded) throw catalogue.EPIPELINE([image.name]);
  return 0;
}

/**
 * Where a restored version's AMI is gone, what that region's Recycle Bin holds of it (by AMI name: the bin keeps no
 * tags) and of its snapshots. Asked only then, and only where the target has a Recycle Bin; a refusal to answer is
 * said, not thrown: the plan brings back from the bin only what it found there, and refuses with the reason otherwise.
 */
async function lookInRecycleBin(context: Context, image: ResolvedImage, state: ImageState, version: string): Promise<Record<string, BinLookup> | undefined> {
  const { gone } = restorableAmis(state, image, version);
  if (gone.length === 0) return undefined;
  const lookups = await Promise.all(
    gone.map(async (region): Promise<[string, BinLookup]> => {
      if (!context.target.recycleBin) return [region, { unknown: 'this target has no Recycle Bin (ListImagesInRecycleBin), so whether a retention rule kept the AMI is not known' }];
      try {
        const ec2 = context.clients.ec2(region);
        const images = await listBinnedImages(ec2, `${image.name}-${version}-`);
        // The bin links no snapshot to its AMI: EC2's descriptions of the snapshots it made for it name it.
        const snapshots = await listBinnedSnapshotsOf(
          ec2,
          images.map((found) => found.amiId),
        );
        const found = images.map((binned) => ({
          amiId: binned.amiId,
          name: binned.name,
          leavesBinAt: binned.leavesBinAt,
          snapshotIds: snapshots.filter((snapshot) => new RegExp(`\\b${binned.amiId}\\b`).test(snapshot.description)).map((snapshot) => snapshot.snapshotId),
        }));
        return [region, { found }];
      } catch (error) {
        return [region, { unknown: `the Recycle Bin could not be asked: ${error instanceof Error ? error.message : String(error)}` }];
      }
    }),
  );
  return Object.fromEntries(lookups);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
