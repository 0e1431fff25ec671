/**
 * Runs the plan: one task list per image, images concurrently up to the
 * settings' limit, each image's stages in lifecycle order. One image failing
 * does not stop the others; images built on a failed image are skipped with
 * the reason.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Listr, type ListrTask } from 'listr2';
import { createCleanupRegistry, type CleanupRegistry } from './cleanup.ts';
import type { Context } from './context.ts';
import type { ResolvedImage } from './definition/resolved-image.ts';
import { isGildError } from './errors.ts';
import { createLogger } from './logger.ts';
import type { ImagePlan, RunPlan } from './plan/types.ts';
import { createTags } from './adapters/ec2.ts';
import { lifecycle } from './stages/lifecycle.ts';
import type { ImageRun, ImageRunState, Stage } from './stages/stage.ts';

export type ImageOutcome =
  | { readonly image: string; readonly result: 'published'; readonly version: string; readonly amis: Readonly<Record<string, string>>; readonly summary: readonly string[] }
  | { readonly image: string; readonly result: 'unchanged'; readonly reason: string; readonly version: string | undefined }
  | { readonly image: string; readonly result: 'skipped'; readonly reason: string }
  | { readonly image: string; readonly result: 'failed'; readonly stage: string; readonly reason: string; readonly logFile: string | undefined };

export interface RunResult {
  readonly runId: string;
  readonly outcomes: readonly ImageOutcome[];
  readonly logDir: string;
}

export interface RunPipelineOptions {
  /** listr2 renderer: `default` on a TTY, `simple` (plain lines) otherwise, `silent` in tests. */
  readonly renderer: 'default' | 'simple' | 'silent';
  readonly signal: AbortSignal;
  /** Shared with the CLI so that SIGINT can run every pending cleanup. */
  readonly cleanups?: CleanupRegistry;
  readonly stages?: readonly Stage[];
}

class StageFailed extends Error {
  constructor(readonly stage: string, readonly reason: string) {
    super(reason);
  }
}

export async function runPipeline(context: Context, images: readonly ResolvedImage[], plan: RunPlan, options: RunPipelineOptions): Promise<RunResult> {
  const logDir = path.join(context.workDir, 'logs', context.runId);
  mkdirSync(logDir, { recursive: true });
  const stages = options.stages ?? lifecycle;
  const cleanups = options.cleanups ?? createCleanupRegistry();
  const byName = new Map(images.map((image) => [image.name, image]));
  const outcomes = new Map<string, ImageOutcome>();
  const finished = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  for (const imagePlan of plan.images) {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    finished.set(imagePlan.image, { promise, resolve });
  }

  const tasks: ListrTask[] = plan.images.map((imagePlan) => ({
    title: titleFor(imagePlan),
    task: async (_ctx, task) => {
      try {
        const image = byName.get(imagePlan.image)!;
        if (imagePlan.action === 'skip') {
          outcomes.set(image.name, { image: image.name, result: 'unchanged', reason: imagePlan.reason, version: imagePlan.currentVersion });
          task.skip(`${image.name}: ${imagePlan.reason}`);
          return;
        }
        if (imagePlan.action === 'error') {
          outcomes.set(image.name, { image: image.name, result: 'failed', stage: 'plan', reason: imagePlan.reason, logFile: undefined });
          throw new Error(`${image.name}: ${imagePlan.reason}`);
        }
        // Dependencies were ordered first, so they already hold a concurrency slot: waiting here cannot deadlock.
        for (const dependency of image.dependsOn) {
          await finished.get(dependency)?.promise;
          const dependencyOutcome = outcomes.get(dependency);
          if (dependencyOutcome?.result === 'failed' || dependencyOutcome?.result === 'skipped') {
            const reason = `its base image "${dependency}" ${dependencyOutcome.result === 'failed' ? 'failed' : 'was skipped'}`;
            outcomes.set(image.name, { image: image.name, result: 'skipped', reason });
            task.skip(`${image.name}: skipped because ${reason}`);
            return;
          }
        }
        const outcome = await runImage(context, image, imagePlan, { stages, logDir, cleanups, signal: options.signal, report: (line) => (task.output = line), setTitle: (title) => (task.title = title) });
        outcomes.set(image.name, outcome);
        if (outcome.result === 'failed') throw new Error(`${image.name}: ${outcome.stage} failed: ${outcome.reason}`);
        if (outcome.result === 'published') task.title = `${image.name}: published ${outcome.version}`;
      } finally {
        finished.get(imagePlan.image)!.resolve();
      }
    },
  }));

  const list = new Listr(tasks, {
    concurrent: context.settings.concurrency,
    exitOnError: false,
    // NOTE: listr2's own SIGINT handler exits at once (code 127); the CLI's handler must run the cleanups first.
    registerSignalListeners: false,
    renderer: options.renderer,
    fallbackRenderer: 'simple',
    rendererOptions: { collapseErrors: false, showErrorMessage: true },
    fallbackRendererOptions: { timestamp: undefined },
  } as never);
  try {
    await list.run();
  } catch {
    // Failures are recorded per image in `outcomes`.
  }
  return { runId: context.runId, outcomes: plan.images.map((imagePlan) => outcomes.get(imagePlan.image) ?? { image: imagePlan.image, result: 'skipped', reason: 'not run' }), logDir };
}

interface RunImageOptions {
  readonly stages: readonly Stage[];
  readonly logDir: string;
  readonly cleanups: CleanupRegistry;
  readonly signal: AbortSignal;
  readonly report: (line: string) => void;
  readonly setTitle: (title: string) => void;
}

async function runImage(context: Context, image: ResolvedImage, plan: Extract<ImagePlan, { action: 'build' }>, options: RunImageOptions): Promise<ImageOutcome> {
  const logFile = path.join(options.logDir, `${image.name}.log`);
  const logger = createLogger((level, line) => {
    appendFileSync(logFile, `${new Date().toISOString()} ${level} ${line}\n`);
    if (level !== 'debug') options.report(line);
  });
  // Image-scoped cleanups run when the image finishes; they are also in the shared registry for signals.
  const imageCleanups = createCleanupRegistry();
  const defer = (description: string, cleanup: () => Promise<void>) => {
    const removeShared = options.cleanups.defer(`${image.name}: ${description}`, cleanup);
    const removeLocal = imageCleanups.defer(description, async () => {
      removeShared();
      await cleanup();
    });
    return () => {
      removeShared();
      removeLocal();
    };
  };
  const state: ImageRunState = { summary: [] };
  const run: ImageRun = { image, plan, logger, logFile, logDir: options.logDir, signal: options.signal, defer, state };
  logger.info(`plan: build ${plan.nextVersion} because ${plan.reason}`);

  try {
    for (const stage of options.stages) {
      if (options.signal.aborted) throw new StageFailed(stage.name, 'interrupted');
      const skipReason = stage.skip?.(context, run) ?? false;
      if (skipReason) {
        logger.info(`${stage.name}: skipped: ${skipReason}`);
        continue;
      }
      options.setTitle(`${image.name}: ${stage.title.toLowerCase()}`);
      const outcome = await stage.run(context, run).catch((error: unknown) => {
        // An unexpected error keeps its stack in the image's log, for whoever has to fix it.
        if (!isGildError(error) && error instanceof Error) logger.debug(error.stack ?? error.message);
        throw new StageFailed(stage.name, error instanceof Error ? error.message : String(error));
      });
      if (outcome.status === 'failed') throw new StageFailed(stage.name, outcome.reason);
    }
    return { image: image.name, result: 'published', version: state.version!, amis: state.amis!, summary: state.summary };
  } catch (error) {
    const failure = error instanceof StageFailed ? error : new StageFailed('unknown', String(error));
    logger.warn(`${failure.stage} failed: ${failure.reason}`);
    await markUnpublished(context, run, failure.reason);
    return { image: image.name, result: 'failed', stage: failure.stage, reason: failure.reason, logFile };
  } finally {
    await imageCleanups.runAll(logger);
  }
}

/** A built AMI that did not publish says so in its tags, for whoever finds it. */
async function markUnpublished(context: Context, run: ImageRun, reason: string): Promise<void> {
  if (!run.state.amis || run.state.published) return;
  await Promise.all(
    Object.entries(run.state.amis).map(([region, amiId]) =>
      createTags(context.clients.ec2(region), [amiId], { 'gild:status': 'failed', 'gild:failure': reason.slice(0, 256) }).catch(() => {
        // Smoke failure may already have deregistered it.
      }),
    ),
  );
}

function titleFor(plan: ImagePlan): string {
  if (plan.action === 'build') return `${plan.image}: build ${plan.nextVersion}`;
  return `${plan.image}`;
}
