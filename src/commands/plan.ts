/** `gild plan`: what `gild run` would do, step by step, and why. Reads AWS, changes nothing. */
import { planRun } from '../apply/run-trip.ts';
import { createCleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import { catalogue } from '../errors.ts';
import { formatRunPlan } from '../plan/format-run-plan.ts';
import { planMatrix } from '../plan/plan-waves.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject, selectImages } from './load-project.ts';
import { createRunContext, exitCodeUnlessInterrupted, finishRun, installSignalHandlers, startEmulatorIfAsked, throwDefinitionErrors } from './run-steps.ts';

export interface PlanOptions {
  /** Image names; all images when empty. */
  readonly images: readonly string[];
  readonly force: boolean;
  readonly local: boolean;
  /** The plan as JSON on stdout (what `gild run --plan` applies). */
  readonly json: boolean;
  /** The images to build in dependency waves, as GitHub Actions matrices. */
  readonly matrix?: boolean;
}

export async function plan(options: PlanOptions, io: Io): Promise<number> {
  if (options.json && options.matrix) throw catalogue.EUSAGE('--json and --matrix each print one document on stdout; pass one of them (save the plan and the matrix with two `gild plan` calls).');
  const logger = createIoLogger(io);
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const images = selectImages(project.images, options.images);
  const emulator = await startEmulatorIfAsked(options.local, io.env, logger);
  const cleanups = createCleanupRegistry();
  const handlers = installSignalHandlers(logger, () => void cleanups.runAll(logger).finally(async () => {
    await emulator.moto?.stop();
    io.exit(130);
  }));
  let context: Context | undefined;
  try {
    context = await createRunContext({ cwd: io.cwd, emulator, logger, settings: project.settings, images, options: { force: options.force, dryRun: true, baseOverrides: {} } });
    const runContext = context;
    return await exitCodeUnlessInterrupted(handlers, logger, async () => {
      const { plan: runPlan } = await planRun(runContext, images, { force: options.force, baseOverrides: runContext.options.baseOverrides });
      io.stdout(options.matrix ? `${JSON.stringify(planMatrix(runPlan))}\n` : options.json ? `${JSON.stringify(runPlan, null, 2)}\n` : `${formatRunPlan(runPlan)}\n`);
      throwDefinitionErrors(runPlan);
      return runPlan.images.some((image) => image.action === 'error') ? 1 : 0;
    });
  } finally {
    await finishRun(logger, cleanups, context, emulator, handlers);
  }
}
