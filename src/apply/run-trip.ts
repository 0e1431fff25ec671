/**
 * The one trip every changing command takes: observe the world once, assemble
 * the plan purely, show it, and (unless it is a dry run: `takeTrip`, the one
 * place that is decided) apply exactly it, then say per image what happened.
 * `gild plan` stops after `planRun`; `gild run` applies; `gild run --plan file`
 * applies a saved plan after checking that the world has not moved since it
 * was made.
 */
import type { CleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import type { Inventory } from '../observe/inventory.ts';
import { fingerprintImages } from '../observe/local-inputs.ts';
import { observeAllReferences, observeInventory, withReferences } from '../observe/observe-inventory.ts';
import { observeRetirementSight, withRetirementSight } from '../observe/observe-retirement-sight.ts';
import { assemblePlan, deletionCandidates, imageDigest } from '../plan/assemble-plan.ts';
import { compareSavedPlan } from '../plan/compare-saved-plan.ts';
import { withInventoryIndex } from '../plan/inventory-slices.ts';
import type { ImageDecision, RunPlan } from '../plan/run-plan.ts';
import { parseRunPlan } from '../plan/run-plan-schema.ts';
import { revokedDecidedElsewhere } from '../plan/trust-base-version.ts';
import { formatRunPlan } from '../plan/format-run-plan.ts';
import { stepTable } from './step-table.ts';
import { applyPlan, detailsOf, settleStepId, type AppliedPlan, type ApplyOptions } from './apply-plan.ts';
import type { StageTable, StepOutputs, StepResult } from './step-stage.ts';

export interface PlanRunOptions {
  readonly force: boolean;
  readonly baseOverrides: Readonly<Record<string, string>>;
  /** `retire`: plan only lock, cleanup, retire and release (`gild retire`). */
  readonly mode?: 'run' | 'retire';
  /** The time the plan is made as of (a saved plan's, to check it); now when left out. */
  readonly asOf?: Date;
  /** What a shared plan decided for the images other CI jobs apply (see `AssembleInput.decidedElsewhere`). */
  readonly decidedElsewhere?: readonly ImageDecision[];
}

export interface PlannedRun {
  readonly plan: RunPlan;
  readonly inventory: Inventory;
  /** What each image's build would be made of now (`gild:fingerprint`). */
  readonly fingerprints: Readonly<Record<string, string>>;
}

/** Observe, then assemble; who uses the AMIs the plan would remove is observed only for those AMIs. */
export async function planRun(context: Context, images: readonly ResolvedImage[], options: PlanRunOptions): Promise<PlannedRun> {
  const [observed, fingerprints] = await Promise.all([observeInventory(context, images, { baseOverrides: options.baseOverrides, retentionRules: true }), fingerprintImages(context, images)]);
  const assemble = (inventory: Inventory) =>
    assemblePlan({
      runId: context.runId,
      now: options.asOf ?? context.now(),
      images,
      fingerprints,
      inventory,
      force: options.force,
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.decidedElsewhere ? { decidedElsewhere: options.decidedElsewhere } : {}),
      settings: {
        sweepAfterMinutes: context.settings.sweepAfterMinutes,
        rebuildAfterDays: context.settings.rebuildAfterDays,
        keepFailedDays: context.settings.keepFailedDays,
        channels: context.settings.channels,
        protection: context.settings.protection,
        regionCopies: context.settings.regionCopies,
        notify: context.settings.notify,
      },
    });
  const draft = assemble(observed);
  const candidates = deletionCandidates(draft);
  if (Object.keys(candidates).length === 0) return { plan: draft, inventory: observed, fingerprints };
  const [references, sight] = await Promise.all([observeAllReferences(context, candidates), observeRetirementSight(context, observed, candidates)]);
  const inventory = withRetirementSight(withReferences(observed, references), sight);
  return { plan: assemble(inventory), inventory, fingerprints };
}

/**
 * A saved plan is a request: it is applied only if it is a gild plan (the schema, every problem with its JSON path),
 * the world has not moved since it was made (per image, the same parameters, AMIs, lock and fingerprint), and every
 * step it asks for is one a plan made now has, with the same arguments, leaving none out. All of it before anything
 * is locked. What is applied is the fresh plan, which the saved one then equals.
 *
 * NOTE: the fresh plan is made as of the saved plan's time (never later than now): retention, sweeps and rebuilds
 * that became due since are for the next plan, not reasons to refuse this one; and an earlier time only ever
 * retires, sweeps and rebuilds less.
 */
export async function checkSavedPlan(
  context: Context,
  saved: unknown,
  images: readonly ResolvedImage[],
  options: PlanRunOptions & { readonly only?: readonly string[] | undefined; readonly file: string },
): Promise<RunPlan> {
  const parsed = parseRunPlan(saved);
  if (!parsed.plan) throw catalogue.EPLANINVALID(options.file, parsed.problems);
  const plan = parsed.plan;
  if (plan.ssmPrefix !== context.settings.ssmPrefix)
    throw catalogue.EUSAGE(`--plan ${options.file}: the plan was made for the SSM prefix ${plan.ssmPrefix}, but the settings say ${context.settings.ssmPrefix}.`);
  const selected = new Set(images.map((image) => image.name));
  const asOf = new Date(Math.min(Date.parse(plan.createdAt), context.now().getTime()));
  const decidedElsewhere = options.only ? plan.images.filter((decision) => !selected.has(decision.image) && (decision.action === 'build' || decision.action === 'resume')) : [];
  const fresh = await planRun(context, images, { ...options, force: options.force || plan.options.force, asOf, decidedElsewhere });
  // Every image's digest, and each base decided elsewhere, reads its slice of the inventory: indexed once, as in the fresh plan's assembly.
  const moved = withInventoryIndex(fresh.inventory, () => movedSince(plan, fresh, images, decidedElsewhere));
  if (moved.length > 0) throw catalogue.EPLANMOVED(moved);
  const differences = compareSavedPlan(plan, fresh.plan, { only: options.only });
  if (differences.length > 0) throw catalogue.EPLANREFUSED(options.file, differences);
  return options.only ? withStepsWaitedFor(fresh.plan, plan, decidedElsewhere) : fresh.plan;
}

/** What moved since the saved plan was made, per image: its parameters, AMIs or lock, what goes into it, a base decided elsewhere revoked. */
function movedSince(plan: RunPlan, fresh: PlannedRun, images: readonly ResolvedImage[], decidedElsewhere: readonly ImageDecision[]): string[] {
  const moved: string[] = [];
  for (const image of images) {
    const digest = plan.observed.digests[image.name];
    if (digest === undefined) {
      moved.push(`${image.name}: the plan does not cover this image; make a new plan that includes it`);
      continue;
    }
    if (digest !== imageDigest(fresh.inventory, image)) moved.push(`${image.name}: its parameters, AMIs or lock changed since the plan was made at ${plan.observed.at}`);
    // What goes into the image is the fingerprint its build step carries.
    const build = plan.steps.find((step) => 'fingerprint' in step && step.image === image.name);
    if (build && 'fingerprint' in build && build.fingerprint !== fresh.fingerprints[image.name])
      moved.push(`${image.name}: what goes into the image (definition, template or files) changed since the plan was made`);
  }
  moved.push(...revokedDecidedElsewhere(decidedElsewhere, fresh.inventory, images));
  return moved;
}

/**
 * A CI job's slice, made fresh, names in its steps' `after` the `publish` step of a base another job builds
 * (`decidedElsewhere`), but plans only its own images' steps: without that step the runner would see no dependency,
 * and build at once on a base not yet published. So the slice carries, from the saved plan, the other jobs' publish
 * steps it waits for and those images' lock steps (whose release says the other job ended). They are never applied
 * (`applyPlan` runs only the slice's steps): the runner only waits for them, reading the parameters they name.
 */
function withStepsWaitedFor(fresh: RunPlan, saved: RunPlan, decidedElsewhere: readonly ImageDecision[]): RunPlan {
  const planned = new Set(fresh.steps.map((step) => step.id));
  const elsewhere = new Set(decidedElsewhere.map((decision) => decision.image));
  const waitedFor = new Set(fresh.steps.flatMap((step) => step.after).filter((id) => !planned.has(id)));
  // A publish (its parameters say it is done) or a smoke test (its AMI's gild:status tag does): with gild's region
  // copies a dependant builds on its base's tested AMI, so its build waits for the base's smoke step.
  const awaited = saved.steps.filter((step) => stepTable[step.kind].awaitedAcrossJobs && waitedFor.has(step.id) && 'image' in step && elsewhere.has(step.image));
  // NOTE: another job's step that cannot be waited for across jobs would be dropped by the runner, and this job would
  // go on without it: refused instead, saying what to change.
  const unwaitable = saved.steps.filter((step) => !stepTable[step.kind].awaitedAcrossJobs && waitedFor.has(step.id) && 'image' in step && elsewhere.has(step.image));
  if (unwaitable.length > 0) {
    throw catalogue.EUSAGE(
      `this job's steps wait for ${unwaitable.map((step) => step.id).join(', ')}, which another job runs, and a job can wait only for another job's smoke test or publish: ` +
        `run those images in one job (\`gild run --plan <file>\` naming them all).`,
    );
  }
  const images = new Set(awaited.map((step) => ('image' in step ? step.image : '')));
  const locks = saved.steps.filter((step) => stepTable[step.kind].lease === 'takes' && 'image' in step && images.has(step.image) && !planned.has(step.id));
  return awaited.length === 0 ? fresh : { ...fresh, steps: [...fresh.steps, ...locks, ...awaited] };
}

export interface TripRequest {
  /** What the plan is shown under, e.g. "Plan for run <id>". */
  readonly heading: string;
  readonly plan: RunPlan;
  /** `--dry-run`: the trip ends once the plan is shown (and refused or not); nothing is applied, no report written. */
  readonly dryRun: boolean;
  readonly say: (text: string) => void;
  /** Throws for a plan that must not be applied at all (definition errors), after it is shown, dry run or not. */
  readonly refuse?: ((plan: RunPlan) => void) | undefined;
  /** Applies the plan through the runner (`applyRun`), reports what happened, and answers the exit code. */
  readonly apply: (plan: RunPlan) => Promise<number>;
}

/**
 * Shows the assembled plan, then applies it unless this is a dry run. Every command that changes AWS ends its trip
 * here, so a dry run stops at the same point for all of them: after assembling, before the runner. It exits 1 when
 * the plan already says an image fails (as the run would), else 0.
 */
export async function takeTrip(request: TripRequest): Promise<number> {
  request.say(`${request.heading}:\n${formatRunPlan(request.plan)}\n\n`);
  request.refuse?.(request.plan);
  if (request.dryRun) {
    request.say('Dry run: nothing was changed.\n');
    return request.plan.images.some((image) => image.action === 'error') ? 1 : 0;
  }
  return request.apply(request.plan);
}

export type ImageOutcome =
  | { readonly image: string; readonly result: 'published'; readonly version: string; readonly amis: Readonly<Record<string, string>>; readonly summary: readonly string[] }
  | { readonly image: string; readonly result: 'unchanged'; readonly reason: string; readonly version: string | undefined; readonly summary: readonly string[] }
  /** Another run has the image, or the world moved under this run: nothing was done to it, on purpose. */
  | { readonly image: string; readonly result: 'yielded'; readonly reason: string; readonly summary: readonly string[] }
  | { readonly image: string; readonly result: 'skipped'; readonly reason: string }
  | { readonly image: string; readonly result: 'interrupted'; readonly reason: string; readonly summary: readonly string[] }
  | {
      readonly image: string;
      readonly result: 'failed';
      readonly stage: string;
      readonly reason: string;
      readonly details: readonly string[];
      readonly error: unknown;
      readonly logFile: string | undefined;
      readonly summary: readonly string[];
    };

export interface ApplyRunOptions {
  readonly stages: StageTable;
  readonly signal: AbortSignal;
  readonly cleanups?: CleanupRegistry;
  readonly onProgress?: (image: string | undefined, line: string) => void;
  readonly onStep?: ApplyOptions['onStep'];
  readonly only?: readonly string[];
  readonly awaitElsewhere?: ApplyOptions['awaitElsewhere'];
}

/** A run-wide step (a sweep of an earlier run's leftovers) that failed: no image's outcome shows it, so the run reports it itself. */
export interface RunStepFailure {
  readonly stepId: string;
  readonly reason: string;
  readonly details: readonly string[];
}

/**
 * The failed steps of no image, and the work any step left to settle that failed: they fail the run (exit 1) though
 * every image's own steps went on.
 */
export function failedRunSteps(applied: AppliedPlan): RunStepFailure[] {
  const steps = applied.plan.steps.flatMap((step) => {
    const result = applied.results.get(step.id);
    if ('image' in step || result?.status !== 'failed') return [];
    return [{ stepId: step.id, reason: result.reason, details: detailsOf(result.error) }];
  });
  return [...steps, ...applied.settleFailures.map((failure) => ({ stepId: settleStepId(failure), reason: `${failure.description}: ${failure.reason}`, details: detailsOf(failure.error) }))];
}

export async function applyRun(
  context: Context,
  plan: RunPlan,
  images: readonly ResolvedImage[],
  options: ApplyRunOptions,
): Promise<{ applied: AppliedPlan; outcomes: ImageOutcome[]; runFailures: RunStepFailure[] }> {
  const applied = await applyPlan(context, plan, {
    stages: options.stages,
    images,
    signal: options.signal,
    concurrency: context.settings.concurrency,
    ...(options.cleanups ? { cleanups: options.cleanups } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.only ? { only: options.only } : {}),
    ...(options.onStep ? { onStep: options.onStep } : {}),
    ...(options.awaitElsewhere ? { awaitElsewhere: options.awaitElsewhere } : {}),
  });
  const outcomes = plan.images.filter((decision) => !options.only || options.only.includes(decision.image)).map((decision) => outcomeOf(applied, decision.image, options.signal.aborted));
  return { applied, outcomes, runFailures: failedRunSteps(applied) };
}

/** What happened to one image, read from its steps' results. */
export function outcomeOf(applied: AppliedPlan, imageName: string, interrupted: boolean): ImageOutcome {
  const decision = applied.plan.images.find((candidate) => candidate.image === imageName)!;
  const summary = applied.summaries.get(imageName) ?? [];
  // Giving the lease back is the runner's bookkeeping, not something that happened to the image.
  const steps = applied.plan.steps.filter((step) => 'image' in step && step.image === imageName && applied.stages[step.kind].lease !== 'gives-back');
  const results = steps.map((step) => [step, applied.results.get(step.id)] as const);
  // A best-effort step's failure (telling people) is reported, but the image's outcome is its other steps'.
  const failed = results.find(([step, result]) => result?.status === 'failed' && applied.stages[step.kind].failsImage);
  if (failed) {
    const result = failed[1] as Extract<StepResult, { status: 'failed' }>;
    return {
      image: imageName,
      result: 'failed',
      stage: failed[0].kind,
      reason: result.reason,
      details: detailsOf(result.error),
      error: result.error,
      logFile: applied.logFiles.get(imageName),
      summary,
    };
  }
  if (decision.action === 'error') return { image: imageName, result: 'failed', stage: 'plan', reason: decision.reason, details: [], error: undefined, logFile: undefined, summary };
  if (decision.action === 'locked') return { image: imageName, result: 'yielded', reason: decision.reason, summary };
  const moved = results.find(([step, result]) => result?.status === 'moved' && applied.stages[step.kind].yieldsWhenMoved);
  if (moved) return { image: imageName, result: 'yielded', reason: (moved[1] as { reason: string }).reason, summary };
  const publish = results.find(([step]) => applied.stages[step.kind].publishes);
  if (publish?.[1]?.status === 'done') {
    const published = publish[1].output as StepOutputs['publish'];
    return { image: imageName, result: 'published', version: published.version, amis: published.amis, summary };
  }
  if (interrupted) return { image: imageName, result: 'interrupted', reason: 'interrupted before it finished; the next run resumes or cleans up what it left', summary };
  if (decision.action === 'unchanged' || decision.action === 'change') return { image: imageName, result: 'unchanged', reason: decision.reason, version: decision.currentVersion, summary };
  const blocked = results.find(([, result]) => result?.status === 'skipped');
  return { image: imageName, result: 'skipped', reason: blocked ? (blocked[1] as { reason: string }).reason : 'not run' };
}
