/** `gild run`: build, smoke test, version, publish and retire images, exactly as the plan says. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getParametersByPath } from '../adapters/ssm.ts';
import { awaitedImages, endedUnpublished, recordJobEnds, refusalRecorded } from '../apply/job-end.ts';
import { waitForPublication } from '../apply/wait-for-publication.ts';
import { applyRun, checkSavedPlan, planRun, takeTrip, type ImageOutcome, type RunStepFailure } from '../apply/run-trip.ts';
import { createCleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import { catalogue } from '../errors.ts';
import { parseRunPlan } from '../plan/run-plan-schema.ts';
import { imageParameterPath } from '../plan/parameter-names.ts';
import { createLifecycle } from '../stages/lifecycle.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject, selectImages } from './load-project.ts';
import { runIdSchema } from '../run-id-schema.ts';
import {
  createRunContext,
  exitCodeUnlessInterrupted,
  finishRun,
  installSignalHandlers,
  parseBaseOverrides,
  startEmulatorIfAsked,
  throwDefinitionErrors,
  twinsDecidedWhenApplied,
  withContainerTwins,
} from './run-steps.ts';

export interface RunCommandOptions {
  /** Image names; all images when empty. */
  readonly images: readonly string[];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly local: boolean;
  /** A plan saved with `gild plan --json`, applied instead of a new one. */
  readonly plan?: string | undefined;
  readonly showParameters: boolean;
  /** `--base-ami <image>=<ami>`, as given. */
  readonly baseAmi: readonly string[];
  /** The run report on stdout, everything else on stderr. */
  readonly json?: boolean;
  /** `--wait-for-bases <minutes>`, as given: with `--plan` and images, wait this long for a base another job builds. */
  readonly waitForBases?: string | undefined;
  /** The command line, for the report. */
  readonly argv?: readonly string[];
}

export async function run(options: RunCommandOptions, io: Io): Promise<number> {
  const logger = createIoLogger(io);
  // With --json, stdout carries only the report, so that `gild run --json > report.json` works.
  const say = options.json ? io.stderr : io.stdout;
  const startedAt = new Date();
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const images = selectImages(project.images, options.images);
  const baseOverrides = parseBaseOverrides(
    options.baseAmi,
    project.images.map((image) => image.name),
  );
  const saved = options.plan ? await readSavedPlan(io.cwd, options.plan) : undefined;
  // The file is checked before anything else happens: no emulator, no AWS call, no lock for a file that is no plan.
  if (saved !== undefined && options.plan) {
    const parsed = parseRunPlan(saved);
    if (!parsed.plan) throw catalogue.EPLANINVALID(options.plan, parsed.problems);
  }
  const waitForBasesMs = parseWaitForBases(options);
  const emulator = await startEmulatorIfAsked(options.local, io.env, logger);
  const cleanups = createCleanupRegistry();
  // A second signal: clean up what is registered, then go, without waiting for stages.
  const handlers = installSignalHandlers(
    logger,
    () =>
      void cleanups.runAll(logger).finally(async () => {
        await emulator.moto?.stop();
        io.exit(130);
      }),
  );
  let context: Context | undefined;
  try {
    context = await createRunContext({
      cwd: io.cwd,
      emulator,
      logger,
      settings: project.settings,
      images,
      options: { force: options.force, baseOverrides },
      // NOTE: only a run ID of the schema's form names this run's resources; anything else is refused by the schema below.
      runId: runIdSchema.safeParse((saved as { runId?: unknown } | undefined)?.runId).data,
    });
    const runContext = context;
    return await exitCodeUnlessInterrupted(handlers, logger, async () => {
      const planOptions = { force: options.force, baseOverrides: runContext.options.baseOverrides };
      // One CI job per image applies its slice of a shared plan.
      const only = saved !== undefined && options.images.length > 0 ? options.images : undefined;
      // A job of a shared plan that ends without publishing an image other jobs may wait for says so (src/apply/job-end.ts).
      const awaited = options.dryRun ? [] : awaitedImages(saved !== undefined ? (parseRunPlan(saved).plan?.images ?? []) : [], only, images);
      let applying = false;
      return await refusalRecorded(
        runContext,
        awaited,
        logger,
        async () => {
          const runPlan = saved !== undefined ? await checkSavedPlan(runContext, saved, images, { ...planOptions, only, file: options.plan! }) : (await planRun(runContext, images, planOptions)).plan;
          // A definition the published state contradicts stops the run before anything is built (a dry run too).
          const exitCode = await takeTrip({
            heading: `Plan for run ${runPlan.runId}`,
            plan: runPlan,
            dryRun: options.dryRun,
            say,
            refuse: throwDefinitionErrors,
            apply: async () => {
              applying = true;
              // Only a build uses the emulator's container twins: they are decided once the plan has one to apply.
              const applyContext = runPlan.steps.some((step) => step.kind === 'build') ? await withContainerTwins(runContext, images) : runContext;
              context = applyContext;
              // NOTE: the report's module is loaded now, not after the builds: a rebuild of dist/ during a long run (npm ci in
              // the same checkout) replaces the engine's chunks, and the run would then publish and fail to write its report.
              const reportWriter = import('../report/write-run-report.ts');
              reportWriter.catch(() => undefined);
              // On a terminal, listr2 shows each image's steps live; elsewhere (CI, pipes) the log lines are the view.
              const view = io.isTTY ? (await import('../apply/listr-view.ts')).startListrView(runPlan, only) : undefined;
              const { applied, outcomes, runFailures } = await applyRun(applyContext, runPlan, images, {
                stages: createLifecycle(applyContext),
                signal: handlers.signal,
                cleanups,
                ...(view ? { onStep: view.onStep } : { onProgress: (image: string | undefined, line: string) => logger.info(`${image ?? 'run'}: ${line}`) }),
                ...(only ? { only } : {}),
                ...(only && waitForBasesMs !== undefined ? { awaitElsewhere: waitForPublication(applyContext, runPlan, { deadlineMs: waitForBasesMs, logger, ...waitPolling(io.env) }) } : {}),
              });
              await view?.done;
              say(formatOutcomes(runPlan.runId, applied.runDir, outcomes, applyContext, runFailures));
              const { writeRunReport } = await reportWriter;
              const written = await writeRunReport({
                applied,
                outcomes,
                command: ['gild', ...(options.argv ?? ['run'])].join(' '),
                startedAt,
                finishedAt: applyContext.now(),
                cwd: applyContext.cwd,
                env: applyContext.env,
              });
              for (const warning of written.warnings) logger.warn(warning);
              say(`Report: ${path.relative(applyContext.cwd, written.markdownFile)} (JSON: ${path.relative(applyContext.cwd, written.jsonFile)})\n`);
              if (options.json) io.stdout(`${JSON.stringify(written.report, null, 2)}\n`);
              if (options.showParameters) say(await formatParameters(applyContext, images));
              await recordJobEnds(applyContext, endedUnpublished(awaited, outcomes), runPlan.runId, logger);
              // Applying a reviewed plan, an image that yielded, or was skipped (its base failed, or was not published in
              // time), did not do what was reviewed: that fails the job.
              const failed = outcomes
                .filter((outcome) => outcome.result === 'failed' || (saved !== undefined && (outcome.result === 'yielded' || outcome.result === 'skipped')))
                .map((outcome) => (outcome.result === 'failed' ? { image: outcome.image, stage: outcome.stage } : outcome.image));
              // NOTE: a failed sweep stopped no image, but what it should have removed is still there (and costing): the run failed.
              if (failed.length > 0 || runFailures.length > 0)
                throw catalogue.EPIPELINE(
                  failed,
                  runFailures.map((failure) => failure.stepId),
                );
              return 0;
            },
          });
          const twinsLater = options.dryRun ? twinsDecidedWhenApplied(runContext, runPlan, 'a dry run') : undefined;
          if (twinsLater) logger.info(twinsLater);
          return exitCode;
        },
        () => !applying,
      );
    });
  } finally {
    await finishRun(logger, cleanups, context, emulator, handlers);
  }
}

export function formatOutcomes(runId: string, runDir: string, outcomes: readonly ImageOutcome[], context: Pick<Context, 'cwd'>, runFailures: readonly RunStepFailure[] = []): string {
  const lines = [`\nRun ${runId} (logs: ${path.relative(context.cwd, runDir)}/):`];
  for (const failure of runFailures) {
    lines.push(`  ✖ ${failure.stepId} failed: ${failure.reason} (log: ${path.relative(context.cwd, path.join(runDir, 'run.log'))})`);
    for (const detail of failure.details) lines.push(`      - ${detail}`);
  }
  for (const outcome of outcomes) {
    switch (outcome.result) {
      case 'published':
        // NOTE: a published image whose smoke test verified nothing is not marked as one that passed.
        lines.push(outcome.untested ? `  ⚠ ${outcome.image} ${outcome.version} published UNTESTED: ${outcome.untested}` : `  ✔ ${outcome.image} ${outcome.version} published`);
        break;
      case 'unchanged':
        lines.push(`  = ${outcome.image} ${outcome.version ?? ''} unchanged: ${outcome.reason}`);
        break;
      case 'yielded':
        lines.push(`  # ${outcome.image} left alone: ${outcome.reason}`);
        break;
      case 'skipped':
        lines.push(`  - ${outcome.image} skipped: ${outcome.reason}`);
        break;
      case 'interrupted':
        lines.push(`  ! ${outcome.image} interrupted: ${outcome.reason}`);
        break;
      case 'failed':
        lines.push(`  ✖ ${outcome.image} failed in ${outcome.stage}: ${outcome.reason}${outcome.logFile ? ` (log: ${path.relative(context.cwd, outcome.logFile)})` : ''}`);
        for (const detail of outcome.details) lines.push(`      - ${detail}`);
        break;
    }
    if (outcome.result !== 'skipped') for (const line of outcome.summary) lines.push(`      ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

function parseWaitForBases(options: RunCommandOptions): number | undefined {
  if (options.waitForBases === undefined) return undefined;
  if (!options.plan || options.images.length === 0)
    throw catalogue.EUSAGE("--wait-for-bases waits, in one CI job, for bases other jobs build; it goes with --plan and the job's images (`gild run a b --plan plan.json --wait-for-bases 180`).");
  if (!/^[0-9]{1,4}$/.test(options.waitForBases)) throw catalogue.EUSAGE(`--wait-for-bases ${options.waitForBases}: give whole minutes from 0 to 9999 (e.g. --wait-for-bases 180).`);
  return Number(options.waitForBases) * 60_000;
}

/** Between two looks at a base: from 1 s, doubling up to 30 s, or up to GILD_WAIT_POLL_MS (tests). */
function waitPolling(env: Readonly<Record<string, string | undefined>>): { firstPollMs?: number; maxPollMs?: number } {
  const most = Number(env.GILD_WAIT_POLL_MS);
  return Number.isSafeInteger(most) && most > 0 ? { firstPollMs: Math.min(1_000, most), maxPollMs: most } : {};
}

async function readSavedPlan(cwd: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw catalogue.EUSAGE(`--plan ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}). Save a plan with \`gild plan --json > ${file}\`.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw catalogue.EUSAGE(`--plan ${file}: it is not JSON. Save a plan with \`gild plan --json > ${file}\`.`);
  }
}

async function formatParameters(context: Context, images: readonly { name: string; regions: readonly string[] }[]): Promise<string> {
  const lines = ['\nSSM parameters:'];
  for (const image of images) {
    for (const region of image.regions) {
      const parameters = await getParametersByPath(context.clients.ssm(region), imageParameterPath(context.settings.ssmPrefix, image.name));
      for (const parameter of parameters.sort((a, b) => a.name.localeCompare(b.name))) lines.push(`  ${region}  ${parameter.name} = ${parameter.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
