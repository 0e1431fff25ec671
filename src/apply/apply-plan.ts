/**
 * Applies a plan, exactly: every step runs once its `after` steps succeeded,
 * through the stage the lifecycle table names for its kind. The runner alone
 * decides whether a stage runs, and decides it from the stage's row of policy
 * columns (`step-table.ts`), never from its kind: a failed or skipped
 * dependency skips it (with that reason) unless that dependency's row does not
 * gate; an interrupt skips what has not started; a precondition that no longer
 * holds skips it as "moved". A stage that throws has failed, with its error
 * kept whole, and so has one whose output its row's check refuses; nothing is
 * ever reported as skipped that was not.
 *
 * A dry run never reaches the runner: the trip stops after assembling
 * (`run-trip.ts` `takeTrip`), the one place it is decided.
 *
 * Steps of different images run concurrently; `heavy` rows take one of
 * `concurrency` slots while they work, and waiting for a base image takes
 * none. The runner holds each image's lease as a scope around its steps
 * (`lease-scope.ts`); a `runsAlways` row (giving the lease back) runs
 * whatever happened to the steps it waits for.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createCleanupRegistry, type CleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeAwsError, isGildError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { PlanStep, PlanStepKind, RunPlan } from '../plan/run-plan.ts';
import { createLeaseScope } from './lease-scope.ts';
import { StepFailure, WorldMoved, type BuiltAmis, type StageTable, type StepOutputs, type StepResult, type StepRun } from './step-stage.ts';
import { runInStep } from '../step-scope.ts';

export interface ApplyOptions {
  readonly stages: StageTable;
  readonly images: readonly ResolvedImage[];
  readonly signal: AbortSignal;
  readonly concurrency: number;
  /** Shared with the CLI so that a second SIGINT can run every pending cleanup. */
  readonly cleanups?: CleanupRegistry;
  /** Progress lines for people (a listr2 task's output, or stderr). */
  readonly onProgress?: (image: string | undefined, line: string) => void;
  /** Apply only these images' steps (and the plan's sweeps): one CI job per image applying a shared plan. */
  readonly only?: readonly string[];
  /** Told when each step starts and how it ended, for a live view (listr2 on a terminal). */
  readonly onStep?: (event: StepEvent) => void;
  /**
   * With `only`: the result of another image's `publish` step that a step of this slice waits for (another CI job
   * builds that image). Without it, such a step is not waited for.
   */
  readonly awaitElsewhere?: (step: PlanStep, signal: AbortSignal) => Promise<StepResult>;
}

export type StepEvent = { readonly step: PlanStep; readonly phase: 'started' } | { readonly step: PlanStep; readonly phase: 'ended'; readonly result: StepResult };

export interface AppliedPlan {
  readonly plan: RunPlan;
  /** The table the plan was applied with: what each step's row says (yielded, published) is read from it. */
  readonly stages: StageTable;
  readonly results: ReadonlyMap<string, StepResult>;
  readonly summaries: ReadonlyMap<string, readonly string[]>;
  readonly runDir: string;
  readonly logFiles: ReadonlyMap<string, string>;
  /** Work steps left to settle (`settleLater`) that failed: the steps are done, but the run did not finish what they began. */
  readonly settleFailures: readonly SettleFailure[];
}

export interface SettleFailure {
  /** The step that left the work, and what the work was. */
  readonly stepId: string;
  readonly description: string;
  readonly reason: string;
  readonly error: unknown;
}

export async function applyPlan(context: Context, plan: RunPlan, options: ApplyOptions): Promise<AppliedPlan> {
  const runDir = path.join(context.workDir, 'runs', plan.runId);
  mkdirSync(runDir, { recursive: true });
  const cleanups = options.cleanups ?? createCleanupRegistry();
  const images = new Map(options.images.map((image) => [image.name, image]));
  // NOTE: one CI job per image applies only that image's steps; the run-wide sweeps belong to a run of the whole plan,
  // not to every job of a fleet (each would repeat them, hours after they were planned).
  const steps = plan.steps.filter((step) => !options.only || ('image' in step && options.only.includes(step.image)));
  const byId = new Map(steps.map((step) => [step.id, step]));
  const inPlan = new Map(plan.steps.map((step) => [step.id, step]));
  const elsewhere = new Map<string, Promise<StepResult>>();
  const fromElsewhere = (id: string): Promise<StepResult> | undefined => {
    const step = inPlan.get(id);
    if (!options.awaitElsewhere || !step || !options.stages[step.kind].awaitedAcrossJobs || byId.has(id)) return undefined;
    if (!elsewhere.has(id)) elsewhere.set(id, options.awaitElsewhere(step, options.signal));
    return elsewhere.get(id);
  };
  const results = new Map<string, StepResult>();
  const running = new Map<string, Promise<StepResult>>();
  const summaries = new Map<string, string[]>();
  const logFiles = new Map<string, string>();
  const imageAborts = new Map<string, AbortController>();
  const slots = createSlots(options.concurrency);
  const settling: Promise<void>[] = [];
  const settleFailures: SettleFailure[] = [];

  const loggerFor = (image: string | undefined): { logger: Logger; logFile: string } => {
    const logFile = path.join(runDir, `${image ?? 'run'}.log`);
    logFiles.set(image ?? '(run)', logFile);
    const logger = createLogger((level, line) => {
      appendFileSync(logFile, `${new Date().toISOString()} ${level} ${line}\n`);
      if (level !== 'debug') options.onProgress?.(image, line);
    });
    return { logger, logFile };
  };
  const loggers = new Map<string, { logger: Logger; logFile: string }>();
  const logging = (image: string | undefined) => {
    const key = image ?? '(run)';
    if (!loggers.has(key)) loggers.set(key, loggerFor(image));
    return loggers.get(key)!;
  };

  const signalFor = (image: string | undefined): AbortSignal => {
    if (!image) return options.signal;
    if (!imageAborts.has(image)) imageAborts.set(image, new AbortController());
    return AbortSignal.any([options.signal, imageAborts.get(image)!.signal]);
  };

  const leaseLost = (image: string | undefined, reason: string) => {
    logging(image).logger.warn(`lost the lock: ${reason}; stopping work on this image`);
    if (image) imageAborts.get(image)?.abort(new WorldMoved(reason));
  };
  const lease = createLeaseScope(context, { cleanups, onLost: leaseLost });

  const stepRunFor = (step: PlanStep): StepRun => {
    const imageName = 'image' in step ? step.image : undefined;
    const { logger, logFile } = logging(imageName);
    const summary = summaries.get(imageName ?? '(run)') ?? [];
    summaries.set(imageName ?? '(run)', summary);
    return {
      image: imageName ? images.get(imageName) : undefined,
      logger,
      runDir,
      logFile,
      signal: signalFor(imageName),
      defer: (description, cleanup) => cleanups.defer(`${imageName ?? 'run'}: ${description}`, cleanup),
      output<K extends PlanStepKind>(stepId: string, kind: K): StepOutputs[K] | undefined {
        const source = byId.get(stepId);
        if (!source) return undefined;
        const result = results.get(stepId);
        if (!result || result.status !== 'done' || source.kind !== kind) throw new Error(`step ${step.id} needs the output of ${stepId} (${kind}), which has none`);
        return result.output as StepOutputs[K];
      },
      settled(stepId: string): Promise<StepResult> | undefined {
        const other = byId.get(stepId);
        // NOTE: the runner's own promise of that step (started now if it was not yet; every step is started anyway).
        return other && other.id !== step.id ? start(other) : undefined;
      },
      inPlan: (stepId) => byId.has(stepId),
      builtAmis(stepId: string): BuiltAmis | undefined {
        const source = byId.get(stepId);
        if (!source) return undefined;
        const result = results.get(stepId);
        if (!result || result.status !== 'done' || !options.stages[source.kind].givesAmis) throw new Error(`step ${step.id} needs the AMIs of ${stepId}, which has none`);
        return result.output as BuiltAmis;
      },
      lease,
      summary,
      settleLater: (description, work) =>
        void settling.push(
          work.then(
            () => undefined,
            // NOTE: the step that left it stays done (what it did holds), but the run fails: something it began, such as
            // terminating a smoke instance, is still there and costing until a later sweep.
            (error: unknown) => {
              const reason = failureReason(error);
              logger.warn(`${description} failed: ${reason}`);
              settleFailures.push({ stepId: step.id, description, reason, error });
            },
          ),
        ),
      onLeaseLost: (reason) => leaseLost(imageName, reason),
    };
  };

  const rowOf = (step: PlanStep) => options.stages[step.kind] as unknown as StageTable[PlanStepKind];
  const unleased = stepsWithoutLease(steps, byId, options.stages);
  const execute = async (step: PlanStep): Promise<StepResult> => {
    // NOTE: whatever the plan says, no step changes an image unless it waits for that image's lock: a step that does
    // not (a hand-edited plan, a planner's bug) fails unrun, and is never started early beside another run's lease.
    const withoutLease = unleased.get(step.id);
    if (withoutLease) {
      logging('image' in step ? step.image : undefined).logger.warn(`${step.id} refused: ${withoutLease}`);
      return { status: 'failed', reason: withoutLease, error: new StepFailure(`${step.id} refused: ${withoutLease}`), durationMs: 0 };
    }
    const dependencies = await Promise.all(step.after.filter((id) => byId.has(id) || fromElsewhere(id)).map(async (id) => [id, await (fromElsewhere(id) ?? start(byId.get(id)!))] as const));
    const stage = rowOf(step);
    const run = stepRunFor(step);
    // NOTE: an image's lock waits for the sweep of dead runs' leftovers, but a leftover that cannot go (a group still
    // in use, a key pair already gone) must not stop every image: a row that does not gate orders the steps after it,
    // and gates only the steps that themselves do not gate (a group cannot go while its instance lives).
    const blocked = dependencies.find(([id, result]) => result.status !== 'done' && (!stage.gatesDependants || rowOf(inPlan.get(id)!).gatesDependants));
    // NOTE: the lease is given back whatever happened to the image's other steps; only a lease never taken is not.
    if (stage.runsAlways) {
      const taking = dependencies.find(([id]) => byId.has(id) && rowOf(byId.get(id)!).lease === 'takes');
      if (taking && taking[1].status !== 'done') return { status: 'skipped', reason: 'the lock was never taken' };
    } else if (stage.runsWhen === 'a-dependency-failed' && !dependencies.some(([, result]) => result.status === 'failed')) {
      // NOTE: the removal of a failed smoke test's AMIs: planned, shown, and run only when that test failed.
      return {
        status: 'skipped',
        reason: `not needed: it runs only when ${step.after.join(' or ')} fails, and ${dependencies.map(([id, result]) => `${id} ${result.status === 'done' ? 'succeeded' : 'did not run'}`).join(', ')}`,
      };
    } else if (blocked && stage.runsWhen !== 'a-dependency-failed') {
      return { status: 'skipped', reason: blockedReason(step, inPlan.get(blocked[0])!, blocked[1]) };
    } else if (run.signal.aborted) {
      return { status: 'skipped', reason: run.signal.reason instanceof WorldMoved ? `the image's lock was lost: ${run.signal.reason.message}` : 'interrupted before it started' };
    }

    const release = stage.heavy ? await slots.take(run.signal) : () => {};
    const startedAt = Date.now();
    try {
      if (stage.heavy && run.signal.aborted && !stage.runsAlways) return { status: 'skipped', reason: 'interrupted before it started' };
      const moved = stage.check ? await runInStep(step.id, async () => stage.check!(context, step as never, run)) : false;
      if (moved) {
        run.logger.warn(`${step.id}: not done, the world moved: ${moved}`);
        return { status: 'moved', reason: moved };
      }
      run.logger.info(`${step.id}: ${stage.title(step as never)} — ${step.reason}`);
      options.onStep?.({ step, phase: 'started' });
      const output = await runInStep(step.id, async () => stage.run(context, step as never, run));
      const refused = stage.checkOutput?.(step as never, output as never);
      if (refused) throw new StepFailure(`${step.id} did not give what it must: ${refused}`);
      return { status: 'done', output, durationMs: Date.now() - startedAt };
    } catch (error) {
      if (error instanceof WorldMoved) {
        run.logger.warn(`${step.id}: the world moved: ${error.message}`);
        return { status: 'moved', reason: error.message };
      }
      const reason = failureReason(error);
      // An unexpected error keeps its stack in the log, for whoever has to fix it.
      if (!(error instanceof StepFailure) && !isGildError(error) && error instanceof Error) run.logger.debug(error.stack ?? error.message);
      run.logger.warn(`${step.id} failed: ${reason}`);
      for (const detail of detailsOf(error)) run.logger.warn(`  - ${detail}`);
      return { status: 'failed', reason, error, durationMs: Date.now() - startedAt };
    } finally {
      release();
    }
  };

  const start = (step: PlanStep): Promise<StepResult> => {
    let promise = running.get(step.id);
    if (!promise) {
      promise = execute(step).then((result) => {
        results.set(step.id, result);
        options.onStep?.({ step, phase: 'ended', result });
        return result;
      });
      running.set(step.id, promise);
    }
    return promise;
  };

  await Promise.all(steps.map(start));
  // NOTE: the scope ends with the runner's work: a lease no step gave back (a plan without its release) goes now.
  await lease.close((image) => logging(image).logger);
  // NOTE: what steps left to settle (a smoke instance's termination, a build's security group) ends before the run
  // does, so that a run that returned has cleaned up, and its report sees what the stages wrote.
  await Promise.all(settling);
  return { plan, stages: options.stages, results, summaries, runDir, logFiles, settleFailures };
}

/**
 * The steps that would change an image without waiting for that image's `lock` step (directly or through other
 * steps), each with why it is refused. Only rows that take the lease themselves run before it.
 */
export function stepsWithoutLease(steps: readonly PlanStep[], byId: ReadonlyMap<string, PlanStep>, stages: StageTable): Map<string, string> {
  const refused = new Map<string, string>();
  const waitsForLock = new Map<string, Set<string>>();
  const locksBefore = (id: string, seen: Set<string>): Set<string> => {
    const known = waitsForLock.get(id);
    if (known) return known;
    const locks = new Set<string>();
    const step = byId.get(id);
    if (!step || seen.has(id)) return locks;
    seen.add(id);
    for (const dependency of step.after) {
      const before = byId.get(dependency);
      if (before && 'image' in before && stages[before.kind].lease === 'takes') locks.add(before.image);
      for (const image of locksBefore(dependency, seen)) locks.add(image);
    }
    waitsForLock.set(id, locks);
    return locks;
  };
  for (const step of steps) {
    if (!('image' in step) || !stages[step.kind].mutates || stages[step.kind].lease === 'takes' || stages[step.kind].lease === 'outside') continue;
    if (!locksBefore(step.id, new Set()).has(step.image))
      refused.set(step.id, `it changes ${step.image} but does not wait for ${step.image}'s lock (no lock step of ${step.image} comes before it), and no step of an image runs without its lease`);
  }
  return refused;
}

/** How a failed piece of settle work is named where run-wide steps are: after the step that left it. */
export function settleStepId(failure: Pick<SettleFailure, 'stepId'>): string {
  return `${failure.stepId} (settling)`;
}

/** Why a step cannot run, in the words of the step it waited for; another image's step is that image's fate. */
function blockedReason(step: PlanStep, blocker: PlanStep, result: StepResult): string {
  const what = result.status === 'failed' ? 'failed' : result.status === 'moved' ? 'found the world moved' : 'did not run';
  const why = 'reason' in result ? `: ${result.reason}` : '';
  const blockerImage = 'image' in blocker ? blocker.image : undefined;
  if (blockerImage && 'image' in step && step.image !== blockerImage) return `its base image "${blockerImage}" was not published (${blocker.id} ${what}${why})`;
  return `${blocker.id} ${what}${why}`;
}

function failureReason(error: unknown): string {
  if (error instanceof StepFailure) return error.message;
  return describeAwsError(error);
}

/** Details a failure carries (a catalogue error's list, a step failure's), then its causes' messages. */
export function detailsOf(error: unknown): string[] {
  const details: string[] = [];
  if (error instanceof StepFailure || isGildError(error)) details.push(...error.details);
  let cause = (error as { cause?: unknown } | undefined)?.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    const message = cause instanceof Error ? `${cause.name !== 'Error' ? `${cause.name}: ` : ''}${cause.message}` : String(cause);
    if (!details.includes(message)) details.push(`caused by ${message}`);
    if (isGildError(cause) || cause instanceof StepFailure) details.push(...cause.details);
    cause = (cause as { cause?: unknown }).cause;
  }
  return details;
}

/** A counting semaphore; a waiter whose signal aborts stops waiting and holds nothing. */
function createSlots(size: number) {
  let free = Math.max(1, size);
  const waiting: (() => void)[] = [];
  const noop = () => {};
  return {
    async take(signal: AbortSignal): Promise<() => void> {
      if (free > 0) {
        free--;
      } else {
        const granted = await new Promise<boolean>((resolve) => {
          const grant = () => {
            signal.removeEventListener('abort', onAbort);
            resolve(true);
          };
          const onAbort = () => {
            waiting.splice(waiting.indexOf(grant), 1);
            resolve(false);
          };
          waiting.push(grant);
          signal.addEventListener('abort', onAbort, { once: true });
        });
        if (!granted) return noop;
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = waiting.shift();
        if (next) next();
        else free++;
      };
    },
  };
}
